import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { type DumpConnection, dumpDatabase } from '../../lambdas/backups/dump';
import { checkDumpRestores } from '../../lambdas/backups/restore-check';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import { pgTool } from '../local-postgres/pg-tools';
import { DUMPABLE_MAJOR_VERSION, PostgresServer } from '../local-postgres/server';
import type { Budget } from './run';

export interface BackupRestoreFigures {
  /** How long pg_restore took to load the dump; null when it did not run. */
  readonly restoreSeconds: number | null;
  /** Checks of the restored database that failed (checksum, restore, migrations, rows, smoke query). */
  readonly checksFailed: number | null;
  /** Writes the application committed while the dump ran. */
  readonly writesDuringDump: number;
  readonly dumpBytes: number;
  /** Why the section could not run (pg_dump missing), when it could not. */
  readonly notRun?: string;
}

export interface BackupRestoreContext {
  readonly say: (line: string) => void;
  readonly servers: PostgresServer[];
  readonly workDir: string;
  readonly migrationsDir: string;
  readonly dieWithOwner: boolean;
}

const DATABASE = 'app';

/** A local server's database as pg_dump and pg_restore reach it: verified TLS with the server's own CA. */
export function dumpConnection(server: PostgresServer, database: string): DumpConnection {
  const caFile = join(server.rootDir, 'tls', 'ca.crt');
  return {
    settings: {
      host: server.host,
      port: server.port,
      database,
      user: server.user,
      password: server.password,
      ca: readFileSync(caFile, 'utf8'),
    },
    caFile,
  };
}

/**
 * "Restore from backup", rehearsed on real servers: a logical dump of a primary with its migrations applied,
 * taken while the application writes, then restored into a fresh server and checked against its manifest. The
 * servers run PostgreSQL 15, the version Debian's pg_dump reads (the rest of the rehearsal runs the default
 * version, which that pg_dump refuses).
 */
export async function rehearseBackupRestore(context: BackupRestoreContext): Promise<BackupRestoreFigures> {
  const { say } = context;
  let pgDump: string;
  let pgRestore: string;
  try {
    pgDump = pgTool('pg_dump');
    pgRestore = pgTool('pg_restore');
  } catch (error) {
    const notRun = (error as Error).message;
    say(`backup restore: not run: ${notRun}`);
    return {
      restoreSeconds: null,
      checksFailed: null,
      writesDuringDump: 0,
      dumpBytes: 0,
      notRun,
    };
  }
  say(`backup restore: a PostgreSQL ${DUMPABLE_MAJOR_VERSION} primary and a fresh server to restore into`);
  const options = { majorVersion: DUMPABLE_MAJOR_VERSION, dieWithOwner: context.dieWithOwner } as const;
  const [source, target] = await Promise.all([
    PostgresServer.start({ ...options, name: 'backup-primary' }),
    PostgresServer.start({ ...options, name: 'backup-restore' }),
  ]);
  context.servers.push(source, target);
  for (const [server, database] of [
    [source, DATABASE],
    [target, 'restored'],
  ] as const) {
    const admin = new Client(server.clientConfig('postgres'));
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
  }
  const app = new Client(source.clientConfig(DATABASE));
  app.on('error', () => undefined);
  await app.connect();
  await applyPendingMigrations(app, await readMigrationsFolder(context.migrationsDir));
  await app.query(
    "INSERT INTO account (email) SELECT 'seed-' || g || '@example.org' FROM generate_series(1, 500) AS g",
  );

  // The application writes throughout the dump: single-row commits, bounded in count.
  const load = { writing: true, written: 0 };
  const writes = (async () => {
    for (let i = 0; i < 20_000 && load.writing; i++) {
      await app.query("INSERT INTO account (email) VALUES ('live-' || $1 || '@example.org')", [String(i)]);
      load.written++;
    }
  })();
  const folder = join(context.workDir, 'backup');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  try {
    const dumpFile = join(folder, `${DATABASE}.dump`);
    const before = load.written;
    const manifest = await dumpDatabase({
      source: dumpConnection(source, DATABASE),
      sourceInstance: source.name,
      pgDump,
      outFile: dumpFile,
    });
    const writesDuringDump = load.written - before;
    load.writing = false;
    await writes;
    say(
      `backup restore: dumped ${manifest.bytes} bytes at ${manifest.lsn} (${writesDuringDump} writes during the dump), ` +
        `${manifest.migrations.length} migrations, ${manifest.tables['public.account'] ?? 0} accounts in its snapshot`,
    );
    const report = await checkDumpRestores({
      dumpFile,
      manifest,
      target: dumpConnection(target, 'restored'),
      pgRestore,
    });
    for (const check of report.checks)
      say(`backup restore: ${check.passed ? 'passed' : 'FAILED'} ${check.name}: ${check.detail}`);
    return {
      restoreSeconds: report.restoreSeconds ?? null,
      checksFailed: report.checks.filter((check) => !check.passed).length,
      writesDuringDump,
      dumpBytes: manifest.bytes,
    };
  } finally {
    load.writing = false;
    await writes.catch(() => undefined);
    await app.end();
    // The dump holds the application's data: it does not outlive the rehearsal's check.
    rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * The restore from a dump against its budgets: every check of the restored database passes (a section that
 * could not run, pg_dump missing, misses it), and the restore of the rehearsal's small database takes under a
 * minute (a production database's restore time is what the monthly restore test measures).
 */
export function backupRestoreBudgets(backup: BackupRestoreFigures): Budget[] {
  return [
    {
      name: 'Backup restore: checks failed',
      value: backup.checksFailed,
      unit: 'checks',
      budget: 0,
      met: backup.checksFailed === 0,
    },
    {
      name: 'Backup restore: time',
      value: backup.restoreSeconds,
      unit: 's',
      budget: 60,
      met: backup.restoreSeconds !== null && backup.restoreSeconds <= 60,
    },
  ];
}
