import type { Client } from 'pg';
import { parseTableKey } from '../shared/replicated-tables';
import { quoteIdent } from '../shared/sql-identifier';

/**
 * Exact row counts, compared only where they can be decided: at a point where blue and green are known to hold
 * the same transactions. The rule is stated once here and used by the verify step, `dr verify` and the cutover's
 * fenced window.
 */

/** A table key (tableKey) → quoted SQL name. */
export function qualifiedName(table: string): string {
  const { schema, name } = parseTableKey(table);
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/**
 * Exact count(*) of every table in one statement, so all counts come from one snapshot. Returns counts in the
 * order of `tables` (table keys, tableKey).
 */
export async function countTables(client: Client, tables: readonly string[]): Promise<Map<string, bigint>> {
  const counts = new Map<string, bigint>();
  if (tables.length === 0) return counts;
  const sql = tables
    .map((t, i) => `SELECT ${i}::int AS i, count(*)::text AS n FROM ${qualifiedName(t)}`)
    .join(' UNION ALL ');
  const { rows } = await client.query<{ i: number; n: string }>(sql);
  for (const row of rows) {
    const table = tables[row.i];
    if (table !== undefined) counts.set(table, BigInt(row.n));
  }
  return counts;
}

export interface CountDifference {
  readonly table: string;
  readonly blue: bigint;
  readonly green: bigint;
}

/** Tables whose counts differ by more than `tolerance` (relative to blue's count; 0 = exact). */
export function countDifferences(
  blue: ReadonlyMap<string, bigint>,
  green: ReadonlyMap<string, bigint>,
  tolerance = 0,
): CountDifference[] {
  const differences: CountDifference[] = [];
  for (const [table, b] of blue) {
    const g = green.get(table) ?? -1n;
    const diff = b > g ? b - g : g - b;
    const allowed = BigInt(Math.floor(tolerance * Number(b > 1n ? b : 1n)));
    if (diff > allowed) differences.push({ table, blue: b, green: g });
  }
  return differences;
}

/** `green 97, blue 100: green is missing rows`. */
export const describeCounts = (d: CountDifference): string =>
  d.green < 0n
    ? `missing on green, blue ${d.blue.toString()}: the table does not reach green, its rows would be lost`
    : `green ${d.green.toString()}, blue ${d.blue.toString()}: ${
        d.green < d.blue ? 'green is missing rows' : 'green holds extra rows'
      }`;

export const describeDifference = (d: CountDifference): string => `${d.table}: ${describeCounts(d)}`;

/** Blue's WAL insert position: it moves with every write, committed or not. */
async function blueInsertLsn(blue: Client): Promise<string> {
  const { rows } = await blue.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
  return rows[0]?.lsn ?? '';
}

/**
 * Whether every subscription of green's current database has applied blue's WAL up to `lsn`. The apply worker
 * handles messages in order, so a keepalive naming a position at or past `lsn` (latest_end_lsn) means every
 * transaction blue committed before it is applied. Undefined when green has no enabled subscription: it then
 * applies nothing, and is compared as it is.
 */
async function commitsWaitingOnSyncRep(blue: Client): Promise<number> {
  const { rows } = await blue.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'SyncRep'",
  );
  return rows[0]?.n ?? 0;
}

async function greenAppliedPast(green: Client, lsn: string): Promise<boolean | undefined> {
  const { rows } = await green.query<{ n: number; behind: number }>(
    `SELECT count(*)::int AS n,
            count(*) FILTER (WHERE s.latest_end_lsn IS NULL OR s.latest_end_lsn < $1::pg_lsn)::int AS behind
       FROM pg_subscription p
       LEFT JOIN pg_stat_subscription s ON s.subid = p.oid AND s.relid IS NULL
      WHERE p.subenabled AND p.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [lsn],
  );
  const row = rows[0];
  if (row === undefined || row.n === 0) return undefined;
  return row.behind === 0;
}

export type CountComparison =
  | { readonly decided: true; readonly blue: Map<string, bigint>; readonly green: Map<string, bigint> }
  | { readonly decided: false; readonly reason: string };

export interface QuietPointOptions {
  /** Attempts to find blue still (each: blue's position, blue's counts, green caught up, green's counts). */
  readonly attempts: number;
  /** How long to wait, per attempt, for green to apply blue's position. */
  readonly catchUpWaitMs: number;
  readonly pollMs: number;
}

export const QUIET_POINT_DEFAULTS: QuietPointOptions = { attempts: 3, catchUpWaitMs: 5000, pollMs: 20 };

/**
 * Counts blue and green at a point where both hold the same transactions, or says it could not find one. Blue's
 * WAL insert position is read before its counts and again after green's: when it has not moved, blue wrote
 * nothing in between, so its counts are its state at that position; green is counted once it has applied blue
 * up to there (or at once when it subscribes to nothing), and cannot hold anything later, since blue wrote
 * nothing later. Any write on blue in between (including WAL blue writes for itself, such as hint bits)
 * makes the attempt undecided, never passed: a blue taking writes is decided in the cutover's fenced window.
 */
export async function countAtQuietPoint(
  blue: Client,
  green: Client,
  tables: readonly string[],
  options: QuietPointOptions = QUIET_POINT_DEFAULTS,
): Promise<CountComparison> {
  let reason = 'no attempt made';
  for (let attempt = 0; attempt < Math.max(1, options.attempts); attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    const before = await blueInsertLsn(blue);
    // A commit waiting for a synchronous standby is written (green may have it) but not yet visible on blue:
    // blue's position does not move when it ends, so the counts would differ by it in either direction.
    const waiting = await commitsWaitingOnSyncRep(blue);
    if (waiting > 0) {
      reason = `${waiting} commit(s) on blue wait for synchronous replication: their rows are not yet visible on blue`;
      continue;
    }
    const blueCounts = await countTables(blue, tables);
    const deadline = performance.now() + options.catchUpWaitMs;
    let applied = await greenAppliedPast(green, before);
    while (applied === false && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, options.pollMs));
      applied = await greenAppliedPast(green, before);
    }
    if (applied === false) {
      reason = `green did not apply blue's position ${before} within ${options.catchUpWaitMs} ms`;
      continue;
    }
    const greenCounts = await countTables(green, tables);
    const after = await blueInsertLsn(blue);
    if (after === before) return { decided: true, blue: blueCounts, green: greenCounts };
    reason = `blue took writes while counting (WAL ${before} to ${after})`;
  }
  return { decided: false, reason };
}
