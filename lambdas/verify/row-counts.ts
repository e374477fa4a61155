import type { Client } from 'pg';
import { parseTableKey } from '../shared/replicated-tables';
import { SEES_ALL_SESSIONS } from '../shared/sessions';
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

/**
 * Blue's counts, with the snapshot they were taken in (pg_current_snapshot() of the same REPEATABLE READ
 * transaction, read-only: it writes no WAL).
 */
async function countInSnapshot(
  blue: Client,
  tables: readonly string[],
): Promise<{ counts: Map<string, bigint>; snapshot: string }> {
  await blue.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const { rows } = await blue.query<{ snapshot: string }>('SELECT pg_current_snapshot()::text AS snapshot');
    const counts = await countTables(blue, tables);
    await blue.query('COMMIT');
    return { counts, snapshot: rows[0]?.snapshot ?? '' };
  } catch (error) {
    await blue.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Past this many transaction ids assigned on blue since its counts, the check gives up (undecided). */
export const UNSEEN_XID_LIMIT = 10_000;

/**
 * How many transactions `snapshot` did not see that have committed since, or are committing. A commit is written
 * to the WAL (and may reach green) before it becomes visible on blue: between the two, blue flushes the WAL,
 * marks the transaction committed, and waits for a synchronous standby, for as long as that standby is away.
 * Blue's position does not move when such a commit becomes visible, so counts taken in that window would differ
 * from green's by its rows. Called once blue's position is known not to have moved since before its counts, and
 * green has applied up to it (so blue has flushed it), it counts:
 * - the ids the snapshot did not see (its in-progress list, and every id from its xmax up to blue's next id,
 *   read as xmax's age, without assigning one) that are committed now;
 * - the commits waiting for a synchronous standby now: any such commit was written before that unmoved
 *   position, and was not visible to the counts (recent minor releases report it in progress; older ones
 *   report it committed as well, and the sum then counts it twice).
 * Not seen: a commit between its flush and the end of its transaction, outside a wait for a synchronous standby
 * (in progress to pg_xact_status): countAtQuietPoint looks again after a pause. Conservative: a
 * transaction that committed after blue's counts also counts, and makes the attempt undecided, never passed.
 * Seeing other sessions' waits needs pg_read_all_stats, or rds_superuser on RDS. 'too many' when more than
 * UNSEEN_XID_LIMIT ids were assigned since the snapshot.
 */
export async function committedUnseen(blue: Client, snapshot: string): Promise<number | 'too many'> {
  const { rows } = await blue.query<{ ahead: number; committed: number; waiting: number }>(
    `WITH bounds AS (
       SELECT $1::pg_snapshot AS snap,
              pg_snapshot_xmax($1::pg_snapshot)::text::bigint AS xmax,
              age((pg_snapshot_xmax($1::pg_snapshot)::text::bigint % 4294967296)::text::xid) AS ahead),
     unseen AS (
       SELECT x FROM bounds b, pg_snapshot_xip(b.snap) AS x
       UNION ALL
       SELECT g::text::xid8
         FROM bounds b, generate_series(b.xmax, b.xmax + LEAST(GREATEST(b.ahead, 0), $2) - 1) AS g
        -- Past a 2^32 boundary, ids 0 to 2 of the new epoch are special (frozen, bootstrap), read as committed.
        WHERE g % 4294967296 >= 3)
     SELECT b.ahead,
            (SELECT count(*)::int FROM pg_stat_activity WHERE wait_event = 'SyncRep') AS waiting,
            (SELECT count(*)::int FROM unseen u
              WHERE pg_xact_status(u.x) = 'committed') AS committed
       FROM bounds b`,
    [snapshot, UNSEEN_XID_LIMIT],
  );
  const row = rows[0];
  // age() is INT_MAX for a permanent id (an xmax at the 32-bit boundary) and negative never: both undecided.
  if (row === undefined || row.ahead < 0 || row.ahead > UNSEEN_XID_LIMIT) return 'too many';
  return row.committed + row.waiting;
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
  /**
   * How long to wait before looking again for commits blue's counts did not see, once none was found: a commit
   * between its flush and the end of its transaction (outside a standby wait) shows as in progress, and is seen
   * committed once it ends.
   */
  readonly settleMs: number;
}

export const QUIET_POINT_DEFAULTS: QuietPointOptions = {
  attempts: 3,
  catchUpWaitMs: 5000,
  pollMs: 20,
  settleMs: 200,
};

/**
 * Counts blue and green at a point where both hold the same transactions, or says it could not find one. Blue's
 * WAL insert position is read before its counts and again after green's: when it has not moved, blue wrote
 * nothing in between, so its counts are its state at that position; green is counted once it has applied blue
 * up to there (or at once when it subscribes to nothing), and cannot hold anything later, since blue wrote
 * nothing later. A commit written before that position but not yet visible to blue's counts (committedUnseen)
 * would make them differ from green's by its rows, so it too makes the attempt undecided. Any write on blue in
 * between (including WAL blue writes for itself, such as hint bits) makes the attempt undecided, never passed:
 * a blue taking writes is decided in the cutover's fenced window.
 */
export async function countAtQuietPoint(
  blue: Client,
  green: Client,
  tables: readonly string[],
  options: QuietPointOptions = QUIET_POINT_DEFAULTS,
): Promise<CountComparison> {
  const { rows: sight } = await blue.query<{ sees: boolean }>(`SELECT ${SEES_ALL_SESSIONS} AS sees`);
  if (sight[0]?.sees !== true)
    return {
      decided: false,
      reason:
        "the role verifying blue cannot see other roles' sessions, so a commit on blue waiting for a synchronous " +
        'standby would go unseen (GRANT pg_read_all_stats to it; RDS grants it to rds_superuser)',
    };
  let reason = 'no attempt made';
  for (let attempt = 0; attempt < Math.max(1, options.attempts); attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    const before = await blueInsertLsn(blue);
    const { counts: blueCounts, snapshot } = await countInSnapshot(blue, tables);
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
    if (after !== before) {
      reason = `blue took writes while counting (WAL ${before} to ${after})`;
      continue;
    }
    let unseen = await committedUnseen(blue, snapshot);
    if (unseen === 0) {
      await new Promise((resolve) => setTimeout(resolve, options.settleMs));
      unseen = await committedUnseen(blue, snapshot);
    }
    if (unseen === 0) return { decided: true, blue: blueCounts, green: greenCounts };
    reason =
      unseen === 'too many'
        ? `blue assigned more than ${UNSEEN_XID_LIMIT} transaction ids while counting`
        : `${unseen} transaction(s) on blue committed while counting but were not yet visible to its counts ` +
          '(a commit flushing, or waiting for a synchronous standby): green may hold their rows';
  }
  return { decided: false, reason };
}
