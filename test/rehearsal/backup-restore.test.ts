import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupRestoreBudgets, rehearseBackupRestore } from '../../lib/rehearsal/backup-restore';
import type { PostgresServer } from '../../lib/local-postgres/server';

describe("the rehearsal's restore from backup without PostgreSQL's client programs", () => {
  const saved = process.env.PG_CLIENT_BIN_DIR;
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'pg-dr-no-client-'));
    process.env.PG_CLIENT_BIN_DIR = join(folder, 'bin');
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.PG_CLIENT_BIN_DIR;
    else process.env.PG_CLIENT_BIN_DIR = saved;
    rmSync(folder, { recursive: true, force: true });
  });

  it('says it did not run and what to install, starts no server, and has no figures (its budgets miss)', async () => {
    const said: string[] = [];
    const servers: PostgresServer[] = [];
    const figures = await rehearseBackupRestore({
      say: (line) => said.push(line),
      servers,
      workDir: folder,
      migrationsDir: join(__dirname, '..', '..', 'examples', 'prisma', 'migrations'),
      dieWithOwner: true,
    });
    expect(figures).toEqual({
      restoreSeconds: null,
      checksFailed: null,
      writesDuringDump: 0,
      dumpBytes: 0,
      notRun: expect.stringContaining('pg_dump not found: install PostgreSQL 15') as unknown,
    });
    expect(said).toEqual([
      expect.stringMatching(/^backup restore: not run: .*apt-get install postgresql-client/),
    ]);
    expect(servers).toEqual([]);
    expect(backupRestoreBudgets(figures).map((b) => [b.name, b.met])).toEqual([
      ['Backup restore: checks failed', false],
      ['Backup restore: time', false],
    ]);
  });
});
