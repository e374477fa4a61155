import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { classifyPostgresError, errorCode } from '../shared/postgres-errors';
import { checksumMatches, type LocalMigration } from './folder';

/** Prisma's advisory lock key for migrations. */
export const MIGRATION_LOCK_ID = 72707369;
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

export interface MigrationsOptions {
  /** Schema holding `_prisma_migrations` and receiving the scripts (Prisma's `?schema=`). */
  readonly schema?: string;
  readonly lockTimeoutMs?: number;
}

/** A refusal or failure with Prisma's error code, so operators can look it up. */
export class MigrationsError extends Error {
  override readonly name = 'MigrationsError';
  constructor(
    readonly code: 'P1002' | 'P3008' | 'P3009' | 'P3011' | 'P3012' | 'P3017' | 'P3018',
    message: string,
    readonly migration?: string,
  ) {
    super(message);
  }
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

export interface MigrationDrift {
  readonly name: string;
  /** `modified`: the file changed after it was applied. `missing_locally`: applied, but no such folder. */
  readonly reason: 'modified' | 'missing_locally';
}

export interface MigrationPlan {
  /** Migrations deploy would apply, in order. */
  readonly pending: readonly string[];
  readonly applied: readonly AppliedMigration[];
  /** Failed and unresolved: deploy refuses to run until they are resolved. */
  readonly failed: readonly FailedMigration[];
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

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
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

function isFailed(row: MigrationRow): boolean {
  return row.finished_at === null && row.rolled_back_at === null;
}

function isApplied(row: MigrationRow): boolean {
  return row.finished_at !== null && row.rolled_back_at === null;
}

function planFrom(local: readonly LocalMigration[], rows: readonly MigrationRow[]): MigrationPlan {
  const applied = rows.filter(isApplied);
  const appliedNames = new Set(applied.map((row) => row.migration_name));
  const localByName = new Map(local.map((m) => [m.name, m]));
  const failed = rows.filter(isFailed).map((row) => ({
    name: row.migration_name,
    startedAt: row.started_at.toISOString(),
    logs: row.logs,
  }));
  const drift: MigrationDrift[] = [];
  for (const row of applied) {
    const file = localByName.get(row.migration_name);
    if (file === undefined) drift.push({ name: row.migration_name, reason: 'missing_locally' });
    else if (!checksumMatches(file.script, row.checksum))
      drift.push({ name: row.migration_name, reason: 'modified' });
  }
  return {
    pending: local.filter((m) => !appliedNames.has(m.name)).map((m) => m.name),
    applied: applied.map((row) => ({
      name: row.migration_name,
      finishedAt: (row.finished_at ?? row.started_at).toISOString(),
    })),
    failed,
    drift,
    blocked: failed.length > 0,
  };
}

/** What deploy would do. Reads only; creates nothing, not even the migrations table. */
export async function planMigrations(
  client: Client,
  local: readonly LocalMigration[],
  options: MigrationsOptions = {},
): Promise<MigrationPlan> {
  return planFrom(local, await readRows(client, options));
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
        `the \`${f.name}\` migration started at ${f.startedAt} failed${f.logs === null ? ' (interrupted, no logs)' : ''}`,
    )
    .join('; ');
  return (
    `found failed migrations in the target database, new migrations will not be applied: ${which}. ` +
    `Fix the database, then mark it with \`dr migrations resolve --applied ${first?.name ?? '<name>'}\` ` +
    `(its changes are in place) or \`--rolled-back ${first?.name ?? '<name>'}\` (they are undone, so it runs again).`
  );
}

function databaseErrorLog(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  const position =
    typeof error === 'object' && error !== null && 'position' in error ? String(error.position) : '';
  return `Database error code: ${code || 'unknown'}\n\nDatabase error:\nERROR: ${message}${position ? `\n\nPosition: ${position}` : ''}`;
}

export interface ApplyOptions extends MigrationsOptions {
  /** Called as each migration starts and ends (for logs and progress). */
  readonly onProgress?: (event: { name: string; phase: 'started' | 'finished'; durationMs?: number }) => void;
}

/**
 * Prisma's `migrate deploy`: under the advisory lock, refuses while a failed migration is unresolved, then
 * applies every pending migration in name order. Each file is sent as one simple query (one implicit
 * transaction, so files with their own BEGIN/COMMIT and a lone CREATE INDEX CONCURRENTLY work). Bookkeeping
 * is exactly Prisma's: a row before the script, finished_at and applied_steps_count after it, the error in
 * `logs` with finished_at left NULL on failure.
 */
export async function applyPendingMigrations(
  client: Client,
  local: readonly LocalMigration[],
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  return withMigrationLock(client, options, async () => {
    // Under the lock: two first runs racing on CREATE TABLE IF NOT EXISTS would collide in the catalog.
    await ensureMigrationsTable(client, options);
    const plan = planFrom(local, await readRows(client, options));
    if (plan.blocked)
      throw new MigrationsError('P3009', failedMigrationsMessage(plan.failed), plan.failed[0]?.name);
    const byName = new Map(local.map((m) => [m.name, m]));
    const applied: AppliedStep[] = [];
    await client.query(`SET search_path TO ${quoteIdent(schemaOf(options))}`);
    for (const name of plan.pending) {
      const migration = byName.get(name);
      if (migration === undefined) continue;
      options.onProgress?.({ name, phase: 'started' });
      const started = performance.now();
      const id = randomUUID();
      await client.query(
        `INSERT INTO ${tableOf(options)} (id, checksum, migration_name, started_at, applied_steps_count)
         VALUES ($1, $2, $3, now(), 0)`,
        [id, migration.checksum, name],
      );
      try {
        await client.query(migration.script);
      } catch (error) {
        // The connection died mid-script (crash, failover): nothing can be recorded; the row stays started and
        // unfinished, which the next run reports as interrupted, as Prisma does.
        if (classifyPostgresError(error) === 'unreachable') throw error;
        // A file with its own BEGIN leaves the session in an aborted transaction; end it before bookkeeping.
        await client.query('ROLLBACK').catch(() => undefined);
        await client.query(`UPDATE ${tableOf(options)} SET logs = $2 WHERE id = $1`, [
          id,
          databaseErrorLog(error),
        ]);
        throw new MigrationsError(
          'P3018',
          `migration ${name} failed to apply; no later migration was applied. ${databaseErrorLog(error).replace(/\n+/g, ' ')}`,
          name,
        );
      }
      await client.query(
        `UPDATE ${tableOf(options)}
            SET finished_at = now(), applied_steps_count = applied_steps_count + 1
          WHERE id = $1`,
        [id],
      );
      const durationMs = Math.round(performance.now() - started);
      applied.push({ name, durationMs });
      options.onProgress?.({ name, phase: 'finished', durationMs });
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
      `INSERT INTO ${tableOf(options)} (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), now(), 0)`,
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
    if (!rows.some(isFailed)) {
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
