import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { dumpDatabase, type DumpConnection, type DumpManifest } from '../../lambdas/backups/dump';
import { checkDumpRestores, fileSha256 } from '../../lambdas/backups/restore-check';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import { pgTool } from '../../lib/local-postgres/pg-tools';
import { dumpConnection } from '../../lib/rehearsal/backup-restore';
import { DUMPABLE_MAJOR_VERSION } from '../../lib/local-postgres/server';
import { PostgresServer } from '../support/postgres';
import { execute } from '../support/replication';

// Needs Debian's postgresql-client (pg_dump, pg_restore 15): .ci/run installs it; elsewhere pgTool says what
// to install. The servers run PostgreSQL 15, which that pg_dump can read.
const EXAMPLES = join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');

describe('logical dumps with their manifest, proven by a restore', () => {
  let source: PostgresServer;
  let scratch: PostgresServer;
  let folder: string;
  let dumped: { file: string; manifest: DumpManifest; applied: string[] };
  let restores = 0;
  const pgDump = pgTool('pg_dump');
  const pgRestore = pgTool('pg_restore');

  /** A fresh, empty database on the scratch server: the throwaway a restore check fills. */
  const throwaway = async (): Promise<DumpConnection> => {
    const database = `restored_${++restores}`;
    await execute(scratch, 'postgres', `CREATE DATABASE ${database}`);
    return dumpConnection(scratch, database);
  };

  beforeAll(async () => {
    [source, scratch] = await Promise.all([
      PostgresServer.start({ name: 'dump-source', majorVersion: DUMPABLE_MAJOR_VERSION }),
      PostgresServer.start({ name: 'dump-scratch', majorVersion: DUMPABLE_MAJOR_VERSION }),
    ]);
    folder = mkdtempSync(join(tmpdir(), 'pg-dr-dumps-'));
    await execute(source, 'postgres', 'CREATE DATABASE shop');
    const client = new Client(source.clientConfig('shop'));
    await client.connect();
    const migrations = await readMigrationsFolder(EXAMPLES);
    await applyPendingMigrations(client, migrations);
    await client.query(
      "INSERT INTO account (email) SELECT 'u' || g || '@example.org' FROM generate_series(1, 200) AS g",
    );
    await client.end();

    // The application keeps writing while the dump runs: a bounded loop of single-row commits.
    const writer = new Client(source.clientConfig('shop'));
    await writer.connect();
    const load = { writing: true };
    let written = 0;
    const writes = (async () => {
      for (let i = 0; i < 2000 && load.writing; i++) {
        await writer.query("INSERT INTO account (email) VALUES ('w' || $1 || '@example.org')", [String(i)]);
        written++;
      }
    })();
    while (written < 20) await new Promise((resolve) => setTimeout(resolve, 5));
    const file = join(folder, 'shop.dump');
    const manifest = await dumpDatabase({
      source: dumpConnection(source, 'shop'),
      sourceInstance: 'pg-dr-primary',
      pgDump,
      outFile: file,
    });
    load.writing = false;
    await writes;
    await writer.end();
    dumped = { file, manifest, applied: migrations.map((m) => m.name) };
  }, 120_000);
  afterAll(async () => {
    rmSync(folder, { recursive: true, force: true });
    await Promise.all([source.destroy(), scratch.destroy()]);
  });

  it("describes the dump's own snapshot: source, position, applied migrations, exact row counts, sha256", async () => {
    const { manifest, file } = dumped;
    expect(manifest).toMatchObject({
      format: 'pg-dr-dump/1',
      sourceInstance: 'pg-dr-primary',
      database: 'shop',
      serverVersion: expect.stringMatching(/^15\./) as unknown,
      lsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/) as unknown,
      migrations: dumped.applied,
      bytes: statSync(file).size,
      sha256: await fileSha256(file),
    });
    expect(manifest.bytes).toBeGreaterThan(1000);
    // Written while the application wrote: more than the seed rows, fewer than it wrote in the end.
    const total = new Client(source.clientConfig('shop'));
    await total.connect();
    const { rows } = await total.query<{ n: number }>('SELECT count(*)::int AS n FROM account');
    await total.end();
    expect(manifest.tables['public.account']).toBeGreaterThan(200);
    expect(manifest.tables['public.account']).toBeLessThanOrEqual(rows[0]?.n ?? 0);
    expect(Object.keys(manifest.tables)).toEqual(
      expect.arrayContaining(['public._prisma_migrations', 'public.account', 'public.order']),
    );
    // The file holds no password.
    expect(readFileSync(file).includes(source.password)).toBe(false);
  });

  it('restores into a throwaway database and passes every check, with the restore timed', async () => {
    const report = await checkDumpRestores({
      dumpFile: dumped.file,
      manifest: dumped.manifest,
      target: await throwaway(),
      pgRestore,
    });
    expect(report.checks.map((c) => [c.name, c.passed])).toEqual([
      ['checksum', true],
      ['restore', true],
      ['migrations', true],
      ['rows', true],
      ['smoke query', true],
    ]);
    expect(report.ok).toBe(true);
    expect(report.restoreSeconds).toBeGreaterThan(0);
  });

  it('fails a corrupted dump: bytes changed after it was hashed fail the checksum', async () => {
    const corrupted = join(folder, 'flipped.dump');
    copyFileSync(dumped.file, corrupted);
    const bytes = readFileSync(corrupted);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    writeFileSync(corrupted, bytes);
    const report = await checkDumpRestores({
      dumpFile: corrupted,
      manifest: dumped.manifest,
      target: await throwaway(),
      pgRestore,
    });
    expect(report.ok).toBe(false);
    expect(report.checks[0]).toMatchObject({ name: 'checksum', passed: false });
  });

  it('fails a dump that was cut short before it was hashed: pg_restore cannot read it whole', async () => {
    const cut = join(folder, 'cut.dump');
    copyFileSync(dumped.file, cut);
    truncateSync(cut, Math.floor(statSync(cut).size * 0.6));
    const manifest = { ...dumped.manifest, sha256: await fileSha256(cut), bytes: statSync(cut).size };
    const report = await checkDumpRestores({ dumpFile: cut, manifest, target: await throwaway(), pgRestore });
    expect(report.ok).toBe(false);
    expect(report.checks.map((c) => [c.name, c.passed])).toEqual([
      ['checksum', true],
      ['restore', false],
    ]);
    expect(report.checks[1]?.detail).toMatch(/^pg_restore exited 1: /);
  });

  it('fails a restore that does not hold what the manifest says, naming the table', async () => {
    const manifest = {
      ...dumped.manifest,
      tables: {
        ...dumped.manifest.tables,
        'public.account': (dumped.manifest.tables['public.account'] ?? 0) + 1,
      },
    };
    const report = await checkDumpRestores({
      dumpFile: dumped.file,
      manifest,
      target: await throwaway(),
      pgRestore,
    });
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'rows')?.detail).toMatch(
      /^public\.account: \d+ rows, the manifest says/,
    );
  });

  it('refuses a manifest that is not whole before restoring anything', async () => {
    const partial = Object.fromEntries(Object.entries(dumped.manifest).filter(([key]) => key !== 'sha256'));
    const report = await checkDumpRestores({
      dumpFile: dumped.file,
      manifest: partial,
      target: await throwaway(),
      pgRestore,
    });
    expect(report).toEqual({
      ok: false,
      checks: [{ name: 'manifest', passed: false, detail: 'invalid: sha256' }],
    });
  });
});
