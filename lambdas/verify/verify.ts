import type { Client } from 'pg';
import { applicationTables, tableKey, tableKeySql } from '../shared/replicated-tables';
import { planMigrations } from '../migrations/engine';
import type { LocalMigration } from '../migrations/folder';
import { countAtQuietPoint, countDifferences, describeCounts } from './row-counts';

export interface RequiredTable {
  /** `table` or `schema.table`. */
  readonly table: string;
  readonly columns: readonly string[];
}

export interface VerifyOptions {
  readonly schema: string;
  readonly requiredTables: readonly RequiredTable[];
  /**
   * Allowed relative difference of row counts between green and blue (0 = exact). Only tables present on both
   * are compared; `tables` narrows the comparison further.
   */
  readonly rowCounts: { readonly tolerance: number; readonly tables?: readonly string[] } | false;
  /** When green subscribes to blue: how far behind blue's current WAL position it may be. */
  readonly maxReplicationLagBytes: number;
}

/** `undecided`: the check could not decide (e.g. counts while blue takes writes); it never passes. */
export type CheckStatus = 'passed' | 'failed' | 'undecided';

export interface VerifyCheck {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
}

export interface VerifyReport {
  /** No check failed. */
  readonly ok: boolean;
  /** Every check decided (none undecided). A green matches blue only when `ok` and `decided`. */
  readonly decided: boolean;
  readonly checks: readonly VerifyCheck[];
}

const status = (ok: boolean): CheckStatus => (ok ? 'passed' : 'failed');

/** The report of a list of checks: ok when none failed, decided when none is undecided. */
export function reportOf(checks: readonly VerifyCheck[]): VerifyReport {
  return {
    ok: checks.every((c) => c.status !== 'failed'),
    decided: checks.every((c) => c.status !== 'undecided'),
    checks,
  };
}

function splitTable(table: string, schema: string): { schema: string; name: string } {
  const dot = table.indexOf('.');
  return dot === -1 ? { schema, name: table } : { schema: table.slice(0, dot), name: table.slice(dot + 1) };
}

async function migrationsCheck(
  green: Client,
  local: readonly LocalMigration[],
  schema: string,
): Promise<VerifyCheck> {
  const plan = await planMigrations(green, local, { schema });
  const problems = [
    ...(plan.pending.length > 0 ? [`${plan.pending.length} pending (${plan.pending.join(', ')})`] : []),
    ...(plan.failed.length > 0 ? [`failed: ${plan.failed.map((f) => f.name).join(', ')}`] : []),
  ];
  return {
    name: 'migrations',
    status: status(problems.length === 0),
    detail: problems.length === 0 ? `all ${local.length} migrations applied` : problems.join('; '),
  };
}

async function requiredTableCheck(
  green: Client,
  required: RequiredTable,
  schema: string,
): Promise<VerifyCheck> {
  const { schema: tableSchema, name } = splitTable(required.table, schema);
  const { rows } = await green.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
    [tableSchema, name],
  );
  const check = `table:${tableSchema}.${name}`;
  if (rows.length === 0) return { name: check, status: 'failed', detail: 'table missing' };
  const present = new Set(rows.map((r) => r.column_name));
  const missing = required.columns.filter((c) => !present.has(c));
  return {
    name: check,
    status: status(missing.length === 0),
    detail:
      missing.length === 0
        ? `has ${required.columns.length} required column(s)`
        : `missing column(s) ${missing.join(', ')}`,
  };
}

async function greenSubscriptions(green: Client): Promise<number> {
  const { rows } = await green.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_subscription
      WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return rows[0]?.n ?? 0;
}

async function rowCountChecks(
  green: Client,
  blue: Client,
  options: { tolerance: number; tables?: readonly string[] },
  schema: string,
): Promise<VerifyCheck[]> {
  // Both sides' application tables, read by the one rule (replicated-tables.ts), as table keys.
  const [onGreenList, onBlueList] = await Promise.all([applicationTables(green), applicationTables(blue)]);
  const onGreen = new Set(onGreenList);
  const wanted = options.tables?.map((t) => {
    const s = splitTable(t, schema);
    return tableKey(s.schema, s.name);
  });
  const tables = onBlueList.filter((t) => onGreen.has(t) && (wanted === undefined || wanted.includes(t)));
  const missing = (wanted ?? []).filter((t) => !tables.includes(t) && !onBlueList.includes(t));
  // Blue's application tables that green does not have: their rows would never reach green.
  const notOnGreen = onBlueList.filter(
    (t) => !onGreen.has(t) && (wanted === undefined || wanted.includes(t)),
  );
  const checks: VerifyCheck[] = [
    ...missing.map((t) => ({
      name: `rows:${t}`,
      status: 'failed' as const,
      detail: 'table not present on both blue and green',
    })),
    ...notOnGreen.map((t) => ({
      name: `rows:${t}`,
      status: 'failed' as const,
      detail:
        'on blue, missing on green: its rows would not reach green (create it there, or drop it on blue)',
    })),
  ];
  const subscribed = (await greenSubscriptions(green)) > 0;
  return [...checks, ...(await compareRowCounts(green, blue, tables, options.tolerance, subscribed))];
}

/**
 * Exact counts, decided only at a point where blue and green hold the same transactions (countAtQuietPoint).
 * While blue takes writes no such point is found and the counts are reported undecided, never passed: the
 * cutover decides them in its fenced window, where blue takes no writes and green has applied all of them.
 */
async function compareRowCounts(
  green: Client,
  blue: Client,
  tables: readonly string[],
  tolerance: number,
  subscribed: boolean,
): Promise<VerifyCheck[]> {
  if (tables.length === 0) return [];
  const comparison = await countAtQuietPoint(blue, green, tables);
  if (!comparison.decided) {
    const later = subscribed
      ? "decided in the cutover's fenced window"
      : 'green does not subscribe to blue, so nothing later decides it: stop writes to blue and verify again';
    return tables.map((table) => ({
      name: `rows:${table}`,
      status: 'undecided',
      detail: `undecidable while blue takes writes (${comparison.reason}); ${later}`,
    }));
  }
  const differences = new Map(
    countDifferences(comparison.blue, comparison.green, tolerance).map((d) => [d.table, d]),
  );
  return tables.map((table) => {
    const difference = differences.get(table);
    const exact = tolerance === 0 ? 'exact' : `tolerance ${tolerance}`;
    return difference === undefined
      ? {
          name: `rows:${table}`,
          status: 'passed',
          detail: `green ${comparison.green.get(table)?.toString() ?? '?'}, blue ${comparison.blue.get(table)?.toString() ?? '?'} at the same point of blue's history (${exact})`,
        }
      : {
          name: `rows:${table}`,
          status: 'failed',
          detail: `${describeCounts(difference)} (at the same point of blue's history; ${exact})`,
        };
  });
}

async function replicationLagCheck(
  green: Client,
  blue: Client,
  maxLagBytes: number,
): Promise<VerifyCheck | undefined> {
  const { rows: subs } = await green.query<{ subname: string; latest_end_lsn: string | null }>(
    // The view is cluster-wide: only this database's subscriptions count.
    `SELECT s.subname, s.latest_end_lsn::text
       FROM pg_stat_subscription s JOIN pg_subscription p ON p.oid = s.subid
      WHERE s.relid IS NULL AND p.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      ORDER BY s.subname`,
  );
  if (subs.length === 0) return undefined;
  const { rows: blueLsn } = await blue.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  const lsn = blueLsn[0]?.lsn;
  const lagging: string[] = [];
  const details: string[] = [];
  for (const sub of subs) {
    if (sub.latest_end_lsn === null || lsn === undefined) {
      lagging.push(sub.subname);
      details.push(`${sub.subname}: no progress reported (worker not running?)`);
      continue;
    }
    const { rows } = await green.query<{ lag: string }>(
      'SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint AS lag',
      [lsn, sub.latest_end_lsn],
    );
    const lag = Math.max(0, Number(rows[0]?.lag ?? 0));
    if (lag > maxLagBytes) lagging.push(sub.subname);
    details.push(`${sub.subname}: ${lag} bytes behind blue`);
  }
  return {
    name: 'replication_lag',
    status: status(lagging.length === 0),
    detail: `${details.join('; ')} (limit ${maxLagBytes})`,
  };
}

/**
 * Logical replication does not carry sequences: the cutover sets each of green's sequences to blue's final
 * value, and can only set those green has. A sequence of blue's missing on green fails here, before any fence.
 */
async function sequencesCheck(green: Client, blue: Client): Promise<VerifyCheck> {
  const list = `SELECT ${tableKeySql('schemaname', 'sequencename')} AS name FROM pg_sequences ORDER BY schemaname, sequencename`;
  const [onBlue, onGreen] = await Promise.all([
    blue.query<{ name: string }>(list),
    green.query<{ name: string }>(list),
  ]);
  const present = new Set(onGreen.rows.map((r) => r.name));
  const missing = onBlue.rows.map((r) => r.name).filter((name) => !present.has(name));
  return {
    name: 'sequences',
    status: status(missing.length === 0),
    detail:
      missing.length === 0
        ? `all ${onBlue.rows.length} of blue's sequences exist on green (their values are copied at the cutover)`
        : `missing on green, so the cutover could not carry their values: ${missing.join(', ')}`,
  };
}

/**
 * Green against blue: exact row counts (decided only where both hold the same transactions) and blue's
 * sequences present on green. Shared by the verify step and `dr verify`.
 */
export async function compareWithBlue(
  green: Client,
  blue: Client,
  options: Pick<VerifyOptions, 'schema' | 'rowCounts'>,
): Promise<VerifyCheck[]> {
  const checks: VerifyCheck[] = [];
  if (options.rowCounts !== false)
    checks.push(...(await rowCountChecks(green, blue, options.rowCounts, options.schema)));
  checks.push(await sequencesCheck(green, blue));
  return checks;
}

/**
 * Checks green before it takes traffic: every migration applied and none failed, required tables and
 * columns present, row counts in line with blue, and replication from blue caught up when it exists. Every
 * check is reported by name; none short-circuits the others.
 */
export async function verifyGreen(
  green: Client,
  blue: Client | undefined,
  local: readonly LocalMigration[],
  options: VerifyOptions,
): Promise<VerifyReport> {
  const checks: VerifyCheck[] = [await migrationsCheck(green, local, options.schema)];
  for (const required of options.requiredTables)
    checks.push(await requiredTableCheck(green, required, options.schema));
  if (blue !== undefined) {
    checks.push(...(await compareWithBlue(green, blue, options)));
    const lag = await replicationLagCheck(green, blue, options.maxReplicationLagBytes);
    if (lag !== undefined) checks.push(lag);
  }
  return reportOf(checks);
}
