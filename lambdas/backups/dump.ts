/**
 * A logical dump (`pg_dump -Fc`) of one database with its manifest, both taken from one exported snapshot: the
 * manifest's migrations and row counts describe exactly what the dump holds, however busy the application is.
 * pg_dump reads the snapshot the manifest's transaction exported (`--snapshot`) while that transaction stays
 * open; the password reaches pg_dump through its environment, never its command line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { Client } from 'pg';
import { type ConnectionSettings, plaintextRefusal, withConnection } from '../shared/database';
import { redact } from '../shared/redact';
import { quoteIdent } from '../shared/sql-identifier';
import { DUMP_MANIFEST_FORMAT, type DumpManifest } from './dump-manifest';

export { DUMP_MANIFEST_FORMAT, dumpManifestSchema, type DumpManifest } from './dump-manifest';

/** Where a database is, for pg_dump and pg_restore: the connection, and the CA file libpq verifies TLS with. */
export interface DumpConnection {
  readonly settings: ConnectionSettings;
  /** PEM file of the CA that signed the server's certificate (for RDS, the region's bundle). */
  readonly caFile?: string;
}

export class DumpError extends Error {
  constructor(
    readonly reason: 'DumpFailed' | 'PgToolMissing',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = reason;
  }
}

const CONNECT = { connectTimeoutMs: 10_000, statementTimeoutMs: 0, applicationName: 'pg-dr-dump' };

/** libpq's environment for a connection: what pg_dump and pg_restore read instead of a command line. */
export function libpqEnvironment(target: DumpConnection, database: string): NodeJS.ProcessEnv {
  const { settings } = target;
  const refusal = plaintextRefusal(settings);
  if (refusal !== undefined) throw new DumpError('DumpFailed', refusal);
  return {
    PATH: process.env.PATH,
    PGHOST: settings.host,
    PGPORT: String(settings.port),
    PGUSER: settings.user,
    PGPASSWORD: settings.password,
    PGDATABASE: database,
    PGCONNECT_TIMEOUT: '10',
    PGAPPNAME: CONNECT.applicationName,
    ...(settings.tls === false
      ? { PGSSLMODE: 'disable' }
      : {
          PGSSLMODE: 'verify-full',
          ...(target.caFile === undefined ? {} : { PGSSLROOTCERT: target.caFile }),
        }),
  };
}

/**
 * The application's tables (`c`, a pg_class row, in namespace `n`): ordinary and partitioned tables outside
 * the system schemas, a partitioned table once (not its partitions). `name` is `schema.table`; `from` orders
 * by it.
 */
export const USER_TABLES = {
  name: `format('%s.%s', n.nspname, c.relname)`,
  from: `FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
      ORDER BY 1`,
} as const;

/** The user tables of the database (`schema.table`), sorted. */
export async function userTables(client: Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT ${USER_TABLES.name} AS name ${USER_TABLES.from}`,
  );
  return rows.map((row) => row.name);
}

/** Exact row counts of the tables, in the client's current snapshot. */
export async function rowCounts(client: Client, tables: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const [schema, name] = splitTable(table);
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ${quoteIdent(schema)}.${quoteIdent(name)}`,
    );
    counts[table] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}

/** Applied Prisma migrations (finished, not rolled back), oldest first; none when the table is absent. */
export async function appliedMigrationNames(client: Client): Promise<string[]> {
  const { rows: present } = await client.query<{ found: boolean }>(
    "SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS found",
  );
  if (present[0]?.found !== true) return [];
  const { rows } = await client.query<{ migration_name: string }>(
    `SELECT migration_name FROM public._prisma_migrations
      WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY started_at, migration_name`,
  );
  return rows.map((row) => row.migration_name);
}

function splitTable(table: string): [string, string] {
  const dot = table.indexOf('.');
  return [table.slice(0, dot), table.slice(dot + 1)];
}

/**
 * How a pg_dump or pg_restore run ended: its exit code and the start of what it wrote on stderr. Rejects with
 * PgToolMissing when the program cannot be run at all.
 */
export function pgToolExit(
  child: ChildProcess,
  program: string,
): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 4000) stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new DumpError('PgToolMissing', `${program} not found: install PostgreSQL's client`, {
              cause: error,
            })
          : error,
      );
    });
    child.once('close', (code) => {
      resolve({ code, stderr });
    });
  });
}

/**
 * Dumps `database` to `outFile` in pg_dump's custom format and returns its manifest. Fails (DumpFailed) with
 * pg_dump's own message, redacted, when pg_dump fails or exits before the dump is whole.
 */
export async function dumpDatabase(options: {
  readonly source: DumpConnection;
  readonly sourceInstance: string;
  readonly pgDump: string;
  readonly outFile: string;
}): Promise<DumpManifest> {
  const { source } = options;
  const database = source.settings.database;
  return withConnection(source.settings, CONNECT, async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const { rows } = await client.query<{ snapshot: string; lsn: string; at: Date; version: string }>(
        `SELECT pg_export_snapshot() AS snapshot, pg_current_wal_lsn()::text AS lsn, now() AS at,
                current_setting('server_version') AS version`,
      );
      const head = rows[0];
      if (head === undefined) throw new DumpError('DumpFailed', `${database}: no snapshot exported`);
      const migrations = await appliedMigrationNames(client);
      const tables = await rowCounts(client, await userTables(client));
      const file = await runPgDump(options, head.snapshot, database);
      return {
        format: DUMP_MANIFEST_FORMAT,
        sourceInstance: options.sourceInstance,
        database,
        serverVersion: head.version,
        takenAt: head.at.toISOString(),
        lsn: head.lsn,
        migrations,
        tables,
        ...file,
      };
    } finally {
      await client.query('COMMIT');
    }
  });
}

async function runPgDump(
  options: { readonly source: DumpConnection; readonly pgDump: string; readonly outFile: string },
  snapshot: string,
  database: string,
): Promise<{ sha256: string; bytes: number }> {
  const child = spawn(options.pgDump, ['--format=custom', '--no-password', `--snapshot=${snapshot}`], {
    env: libpqEnvironment(options.source, database),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const hash = createHash('sha256');
  let bytes = 0;
  const out = createWriteStream(options.outFile, { mode: 0o600 });
  child.stdout.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  child.stdout.pipe(out);
  const [{ code, stderr }] = await Promise.all([
    pgToolExit(child, options.pgDump),
    new Promise<void>((resolve, reject) => {
      out.once('close', resolve);
      out.once('error', reject);
    }),
  ]);
  if (code !== 0)
    throw new DumpError(
      'DumpFailed',
      `pg_dump of ${database} exited ${code}: ${redact(stderr.trim(), options.source.settings.password)}`,
    );
  return { sha256: hash.digest('hex'), bytes };
}
