import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { endsSession, errorCode, isServerError } from '../shared/postgres-errors';
import { MigrationsError } from './errors';
import { checksumMatches, displayName, printableName, type LocalMigration } from './folder';
import { quoteIdent } from '../shared/sql-identifier';
import { uncommittedWork } from './transaction-control';

export { MigrationsError, type MigrationsErrorCode } from './errors';

/** Prisma's advisory lock key for migrations. */
export const MIGRATION_LOCK_ID = 72707369;
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

export interface MigrationsOptions {
  /** Schema holding `_prisma_migrations` and receiving the scripts (Prisma's `?schema=`). */
  readonly schema?: string;
  readonly lockTimeoutMs?: number;
}

interface MigrationRow {
  readonly id: string;
  readonly checksum: string;
  readonly finished_at: Date | null;
  readonly migration_name: string;
  readonly logs: string | null;
  readonly rolled_back_at: Date | null;
  readonly started_at: Date;
  readonly applied_steps_count: number;
}

export interface AppliedMigration {
  readonly name: string;
  readonly finishedAt: string;
}

export interface FailedMigration {
  readonly name: string;
  readonly startedAt: string;
  readonly logs: string | null;
}

export interface RunningMigration {
  readonly name: string;
  readonly startedAt: string;
}

export interface MigrationDrift {
  readonly name: string;
  /** `modified`: the file changed after it was applied. `missing_locally`: applied, but no such folder. */
  readonly reason: 'modified' | 'missing_locally';
}

export interface MigrationPlan {
  /** Migrations deploy would apply, in order (a running migration is not among them). */
  readonly pending: readonly string[];
  readonly applied: readonly AppliedMigration[];
  /** Failed and unresolved: deploy refuses to run until they are resolved. */
  readonly failed: readonly FailedMigration[];
  /**
   * Started and not finished while another session holds the migration lock: a deploy is applying them right
   * now. They are not failures (yet).
   */
  readonly running: readonly RunningMigration[];
  /** Warnings only: an applied migration is never re-applied. */
  readonly drift: readonly MigrationDrift[];
  readonly blocked: boolean;
}

export interface AppliedStep {
  readonly name: string;
  readonly durationMs: number;
}

export interface ApplyResult {
  readonly applied: readonly AppliedStep[];
  readonly plan: MigrationPlan;
}

const schemaOf = (options: MigrationsOptions) => options.schema ?? 'public';
const tableOf = (options: MigrationsOptions) => `${quoteIdent(schemaOf(options))}."_prisma_migrations"`;

async function migrationsTableExists(client: Client, options: MigrationsOptions): Promise<boolean> {
  const { rows } = await client.query<{ exists: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS exists`, [
    `${quoteIdent(schemaOf(options))}._prisma_migrations`,
  ]);
  return rows[0]?.exists ?? false;
}

async function readRows(client: Client, options: MigrationsOptions): Promise<MigrationRow[]> {
  if (!(await migrationsTableExists(client, options))) return [];
  const { rows } = await client.query<MigrationRow>(
    `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count
       FROM ${tableOf(options)} ORDER BY started_at, migration_name`,
  );
  return rows;
}

/**
 * Whether some session holds Prisma's migration lock on this database: `pg_advisory_lock(72707369)` shows in
 * pg_locks as an advisory lock with classid 0 (the key's high half), objid the key, objsubid 1 (a bigint key).
 */
async function migrationLockHeld(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ held: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = $1 AND objsubid = 1
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
     ) AS held`,
    [MIGRATION_LOCK_ID],
  );
  return rows[0]?.held ?? false;
}

function isUnfinished(row: MigrationRow): boolean {
  return row.finished_at === null && row.rolled_back_at === null;
}

function isApplied(row: MigrationRow): boolean {
  return row.finished_at !== null && row.rolled_back_at === null;
}

/**
 * An unfinished row is running, not failed, while another session holds the migration lock and no error has
 * been recorded for it: deploy writes `logs` before it lets the lock go, and a dead session's lock goes with it.
 */
function planFrom(
  local: readonly LocalMigration[],
  rows: readonly MigrationRow[],
  lockHeldElsewhere = false,
): MigrationPlan {
  const applied = rows.filter(isApplied);
  const unfinished = rows.filter(isUnfinished);
  const isRunning = (row: MigrationRow) => lockHeldElsewhere && row.logs === null;
  const running = unfinished
    .filter(isRunning)
    .map((row) => ({ name: row.migration_name, startedAt: row.started_at.toISOString() }));
  const failed = unfinished
    .filter((row) => !isRunning(row))
    .map((row) => ({ name: row.migration_name, startedAt: row.started_at.toISOString(), logs: row.logs }));
  // Prisma: any row not rolled back is not pending, a failed one included (it blocks deploy until resolved).
  const settled = new Set([...applied, ...unfinished].map((row) => row.migration_name));
  const localByName = new Map(local.map((m) => [m.name, m]));
  const drift: MigrationDrift[] = [];
  for (const row of applied) {
    const file = localByName.get(row.migration_name);
    if (file === undefined) drift.push({ name: row.migration_name, reason: 'missing_locally' });
    else if (!checksumMatches(file.script, row.checksum))
      drift.push({ name: row.migration_name, reason: 'modified' });
  }
  return {
    pending: local.filter((m) => !settled.has(m.name)).map((m) => m.name),
    applied: applied.map((row) => ({
      name: row.migration_name,
      finishedAt: (row.finished_at ?? row.started_at).toISOString(),
    })),
    failed,
    running,
    drift,
    blocked: failed.length > 0,
  };
}

/**
 * What deploy would do. Reads only; creates nothing, not even the migrations table. A migration that a deploy
 * holding the lock is applying right now is reported as running, not failed.
 */
export async function planMigrations(
  client: Client,
  local: readonly LocalMigration[],
  options: MigrationsOptions = {},
): Promise<MigrationPlan> {
  const rows = await readRows(client, options);
  const lockHeld = rows.some(isUnfinished) && (await migrationLockHeld(client));
  return planFrom(local, rows, lockHeld);
}

/** Tables PostGIS creates in the schema, which Prisma does not count (its postgres schema differ's ignore list). */
const IGNORED_TABLES =
  /^(spatial_ref_sys|geometry_columns|geography_columns|raster_columns|raster_overviews)$/i;

/**
 * Prisma's P3005: a schema without `_prisma_migrations` must be empty (no table but PostGIS's) before deploy
 * creates the table and applies everything; an existing database has to be baselined first.
 */
async function refuseUnmanagedSchema(client: Client, options: MigrationsOptions): Promise<void> {
  const { rows } = await client.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r'`, // Prisma's table_names (flavour/postgres.rs): ordinary tables
    [schemaOf(options)],
  );
  const tables = rows.map((row) => row.relname).filter((name) => !IGNORED_TABLES.test(name));
  if (tables.length === 0) return;
  throw new MigrationsError(
    'P3005',
    `The database schema ${printableName(schemaOf(options))} is not empty (${tables.length} table(s), e.g. ` +
      `${printableName(tables.sort()[0] ?? '')}) and has no _prisma_migrations table. Baseline it first: ` +
      'mark the migrations its tables already reflect with `dr migrations resolve --applied <name>` ' +
      '(https://pris.ly/d/migrate-baseline), or use an empty database.',
  );
}

async function ensureMigrationsTable(client: Client, options: MigrationsOptions): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schemaOf(options))}`);
  // Exactly Prisma's definition, so `prisma migrate status` reads it as its own.
  await client.query(`CREATE TABLE IF NOT EXISTS ${tableOf(options)} (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
  )`);
}

/** Runs `work` holding Prisma's migration lock, waiting at most the lock timeout for it. */
async function withMigrationLock<T>(
  client: Client,
  options: MigrationsOptions,
  work: () => Promise<T>,
): Promise<T> {
  const timeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  await client.query(`SET lock_timeout = ${String(Math.max(1, Math.round(timeoutMs)))}`);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
  } catch (error) {
    if (errorCode(error) === '55P03') {
      throw new MigrationsError(
        'P1002',
        `timed out after ${timeoutMs} ms waiting for the migration lock (pg_advisory_lock(${MIGRATION_LOCK_ID})): ` +
          'another migration is running against this database',
      );
    }
    throw error;
  } finally {
    await client.query('RESET lock_timeout');
  }
  try {
    return await work();
  } finally {
    // If the connection is gone the lock went with the session; an unlock error must not hide work's outcome.
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
  }
}

function failedMigrationsMessage(failed: readonly FailedMigration[]): string {
  const first = failed[0];
  const which = failed
    .map(
      (f) =>
        `the \`${displayName(f.name)}\` migration started at ${f.startedAt} failed${f.logs === null ? ' (interrupted, no logs)' : ''}`,
    )
    .join('; ');
  return (
    `found failed migrations in the target database, new migrations will not be applied: ${which}. ` +
    `Fix the database, then mark it with \`dr migrations resolve --applied ${first === undefined ? '<name>' : displayName(first.name)}\` ` +
    `(its changes are in place) or \`--rolled-back ${first === undefined ? '<name>' : displayName(first.name)}\` (they are undone, so it runs again).`
  );
}

/** Where in the script the server located the error: only when it gave a position (1-based characters). */
function errorPosition(error: unknown, script: string): string {
  const position = isServerError(error) ? Number(error.position) : NaN;
  if (!Number.isInteger(position) || position < 1) return '';
  const line = Array.from(script)
    .slice(0, position - 1)
    .join('')
    .split('\n').length;
  return `\n\nPosition: line ${line}, character ${position}`;
}

/** The `logs` text and the message of a failed script, Prisma's layout; the code is `none` without a SQLSTATE. */
function databaseErrorLog(error: unknown, script: string): string {
  const code = isServerError(error) ? (error.code ?? '') : '';
  const message = error instanceof Error ? error.message : String(error);
  const severity = isServerError(error) ? `${error.severity ?? 'ERROR'}: ` : '';
  return `Database error code: ${code || 'none'}\n\nDatabase error:\n${severity}${message}${errorPosition(error, script)}`;
}

/** The script ended without an error but committed nothing of its own: refused rather than recorded as applied. */
class ScriptCommittedNothing extends Error {
  override readonly name = 'ScriptCommittedNothing';
}

export interface ApplyOptions extends MigrationsOptions {
  /** Called as each migration starts and ends (for logs and progress). */
  readonly onProgress?: (event: { name: string; phase: 'started' | 'finished'; durationMs?: number }) => void;
}

/**
 * Prisma's `migrate deploy`: under the advisory lock, refuses an unmanaged non-empty schema (P3005) and, while
 * a failed migration is unresolved, any deploy (P3009); then applies every pending migration in order. Each file
 * is sent as one simple query (one implicit transaction, so files with their own BEGIN/COMMIT and a lone CREATE
 * INDEX CONCURRENTLY work). Bookkeeping is Prisma's: a row committed before the script; finished_at and
 * applied_steps_count set after it; on failure the error in `logs` and finished_at left NULL. To save round
 * trips, one migration's finished mark and the next one's row go in one statement batch (one transaction)
 * right after the script, and the last mark before returning: the rows read the same as Prisma's at every
 * point where a script is running or has failed.
 *
 * A script is a failure (P3018, logged) when the server rejects it, and also when it leaves a transaction open
 * or rolls back its own work; only a session that really died (socket gone, or a FATAL from the server) leaves
 * the row unfinished with no logs, as an interrupted deploy does in Prisma.
 */
export async function applyPendingMigrations(
  client: Client,
  local: readonly LocalMigration[],
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const table = tableOf(options);
  const literal = (value: string) => client.escapeLiteral(value);
  const finish = (id: string) =>
    `UPDATE ${table} SET finished_at = now(), applied_steps_count = applied_steps_count + 1 WHERE id = ${literal(id)};`;
  return withMigrationLock(client, options, async () => {
    // Under the lock: two first runs racing on CREATE TABLE IF NOT EXISTS would collide in the catalog.
    if (!(await migrationsTableExists(client, options))) {
      await refuseUnmanagedSchema(client, options);
      await ensureMigrationsTable(client, options);
    }
    const plan = planFrom(local, await readRows(client, options));
    if (plan.blocked)
      throw new MigrationsError('P3009', failedMigrationsMessage(plan.failed), plan.failed[0]?.name);
    const byName = new Map(local.map((m) => [m.name, m]));
    const applied: AppliedStep[] = [];
    await client.query(`SET search_path TO ${quoteIdent(schemaOf(options))}`);
    let unmarked: { id: string; name: string; started: number } | undefined;
    const markFinished = () => {
      if (unmarked === undefined) return;
      const durationMs = Math.round(performance.now() - unmarked.started);
      applied.push({ name: unmarked.name, durationMs });
      options.onProgress?.({ name: unmarked.name, phase: 'finished', durationMs });
      unmarked = undefined;
    };
    for (const name of plan.pending) {
      const migration = byName.get(name);
      if (migration === undefined) continue;
      const started = performance.now();
      const id = randomUUID();
      await client.query(
        `${unmarked === undefined ? '' : finish(unmarked.id)}
         INSERT INTO ${table} (id, checksum, migration_name, started_at, applied_steps_count)
         VALUES (${literal(id)}, ${literal(migration.checksum)}, ${literal(name)}, now(), 0);`,
      );
      markFinished();
      options.onProgress?.({ name, phase: 'started' });
      let failure: unknown;
      try {
        await client.query(migration.script);
        // The session's real state after the script (ReadyForQuery: I idle, T in a transaction, E in a failed
        // one) and the script's own transaction control. Prisma's engine checks neither.
        const status = client.getTransactionStatus();
        const reason = uncommittedWork(migration.script, status === 'T' || status === 'E');
        if (reason !== undefined) failure = new ScriptCommittedNothing(reason);
      } catch (error) {
        // The session died mid-script (socket gone, crash, failover, terminated): nothing can be recorded; the row
        // stays started and unfinished, which the next run reports as interrupted, as Prisma does.
        if (!isServerError(error) || endsSession(error)) throw error;
        failure = error;
      }
      if (failure !== undefined) {
        // End whatever the script left open (an aborted or unfinished transaction) before bookkeeping. After an
        // error the session's status arrives only after the error itself, so this does not wait to read it; on an
        // idle session ROLLBACK is a no-op with a warning.
        await client.query('ROLLBACK');
        const log = databaseErrorLog(failure, migration.script);
        await client.query(`UPDATE ${table} SET logs = $2 WHERE id = $1`, [id, log]);
        throw new MigrationsError(
          'P3018',
          `migration ${name} failed to apply; no later migration was applied. ${log.replace(/\n+/g, ' ')}`,
          name,
          { cause: failure },
        );
      }
      unmarked = { id, name, started };
    }
    if (unmarked !== undefined) {
      await client.query(finish(unmarked.id));
      markFinished();
    }
    return { applied, plan };
  });
}

/**
 * `prisma migrate resolve --applied`: records a migration as applied without running it. A failed attempt is
 * marked rolled back first; an already applied migration is refused.
 */
export async function markMigrationApplied(
  client: Client,
  local: readonly LocalMigration[],
  name: string,
  options: MigrationsOptions = {},
): Promise<void> {
  const migration = local.find((m) => m.name === name);
  if (migration === undefined) {
    throw new MigrationsError('P3017', `migration ${name} is not in the migrations folder`, name);
  }
  await withMigrationLock(client, options, async () => {
    await ensureMigrationsTable(client, options);
    const rows = (await readRows(client, options)).filter((row) => row.migration_name === name);
    if (rows.some(isApplied)) {
      throw new MigrationsError('P3008', `migration ${name} is already recorded as applied`, name);
    }
    await client.query(
      `UPDATE ${tableOf(options)} SET rolled_back_at = now()
        WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL`,
      [name],
    );
    await client.query(
      // Prisma's mark_migration_applied: logs '' (not NULL), started_at = finished_at.
      `INSERT INTO ${tableOf(options)} (id, checksum, logs, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, '', $3, now(), now(), 0)`,
      [randomUUID(), migration.checksum, name],
    );
  });
}

/**
 * `prisma migrate resolve --rolled-back`: marks a failed migration as rolled back so deploy runs it again.
 * Refused for a migration that never ran or that succeeded.
 */
export async function markMigrationRolledBack(
  client: Client,
  name: string,
  options: MigrationsOptions = {},
): Promise<void> {
  await withMigrationLock(client, options, async () => {
    const rows = (await readRows(client, options)).filter((row) => row.migration_name === name);
    if (rows.length === 0) {
      throw new MigrationsError(
        'P3011',
        `migration ${name} cannot be rolled back: it was never applied`,
        name,
      );
    }
    if (!rows.some(isUnfinished)) {
      throw new MigrationsError(
        'P3012',
        `migration ${name} cannot be rolled back: it is not in a failed state`,
        name,
      );
    }
    await client.query(
      `UPDATE ${tableOf(options)} SET rolled_back_at = now()
        WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL`,
      [name],
    );
  });
}
