import type { Client } from 'pg';
import { planMigrations } from '../migrations/engine';
import type { LocalMigration } from '../migrations/folder';

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

export interface VerifyCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly checks: readonly VerifyCheck[];
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

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
    ok: problems.length === 0,
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
  if (rows.length === 0) return { name: check, ok: false, detail: 'table missing' };
  const present = new Set(rows.map((r) => r.column_name));
  const missing = required.columns.filter((c) => !present.has(c));
  return {
    name: check,
    ok: missing.length === 0,
    detail:
      missing.length === 0
        ? `has ${required.columns.length} required column(s)`
        : `missing column(s) ${missing.join(', ')}`,
  };
}

async function userTables(client: Client): Promise<Set<string>> {
  const { rows } = await client.query<{ t: string }>(
    `SELECT schemaname || '.' || relname AS t FROM pg_stat_user_tables WHERE relname <> '_prisma_migrations'`,
  );
  return new Set(rows.map((r) => r.t));
}

async function countRows(client: Client, qualified: string): Promise<number> {
  const { schema, name } = splitTable(qualified, 'public');
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${quoteIdent(schema)}.${quoteIdent(name)}`,
  );
  return Number(rows[0]?.n ?? 0);
}

async function rowCountChecks(
  green: Client,
  blue: Client,
  options: { tolerance: number; tables?: readonly string[] },
  schema: string,
): Promise<VerifyCheck[]> {
  const [onGreen, onBlue] = await Promise.all([userTables(green), userTables(blue)]);
  const wanted = options.tables?.map((t) => {
    const s = splitTable(t, schema);
    return `${s.schema}.${s.name}`;
  });
  const tables = [...onGreen]
    .filter((t) => onBlue.has(t) && (wanted === undefined || wanted.includes(t)))
    .sort();
  const missing = (wanted ?? []).filter((t) => !tables.includes(t));
  const checks: VerifyCheck[] = missing.map((t) => ({
    name: `rows:${t}`,
    ok: false,
    detail: 'table not present on both blue and green',
  }));
  return [...checks, ...(await compareRowCounts(green, blue, tables, options.tolerance))];
}

/** Pauses between blue's first count and green's, one per round: room for green's replication lag. */
const COUNT_PAUSES_MS = [0, 50, 100, 200, 400, 800, 1600];

async function countEach(client: Client, tables: readonly string[]): Promise<number[]> {
  const counts: number[] = [];
  for (const table of tables) counts.push(await countRows(client, table));
  return counts;
}

/**
 * Blue keeps taking writes while green is verified, so one count on each side never lines up. Green is
 * counted between two counts of blue, after a pause that gives its replication lag room, and must fall
 * within them (plus the tolerance). Tables that do not are counted again in the next round, with a longer
 * pause: a green that trails by less than the longest pause passes; one really missing rows or holding
 * extra ones never does. The rounds are shared by all tables, so the wait stays bounded (about 3 s).
 */
async function compareRowCounts(
  green: Client,
  blue: Client,
  tables: readonly string[],
  tolerance: number,
): Promise<VerifyCheck[]> {
  const results = new Map<string, VerifyCheck>();
  let pending = tables;
  for (const pauseMs of COUNT_PAUSES_MS) {
    if (pending.length === 0) break;
    const before = await countEach(blue, pending);
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    const onGreen = await countEach(green, pending);
    const after = await countEach(blue, pending);
    pending = pending.filter((table, i) => {
      const [b0, g, b1] = [before[i] ?? 0, onGreen[i] ?? 0, after[i] ?? 0];
      const [low, high] = [Math.min(b0, b1), Math.max(b0, b1)];
      const allowed = Math.floor(tolerance * Math.max(high, 1));
      const blueCount = low === high ? `blue ${low}` : `blue ${low} to ${high} while counting`;
      const ok = g >= low - allowed && g <= high + allowed;
      results.set(table, {
        name: `rows:${table}`,
        ok,
        detail: `green ${g}, ${blueCount}${tolerance === 0 ? ' (must match exactly)' : ` (allowed difference ${allowed})`}`,
      });
      return !ok;
    });
  }
  return tables.flatMap((table) => results.get(table) ?? []);
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
    ok: lagging.length === 0,
    detail: `${details.join('; ')} (limit ${maxLagBytes})`,
  };
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
    if (options.rowCounts !== false)
      checks.push(...(await rowCountChecks(green, blue, options.rowCounts, options.schema)));
    const lag = await replicationLagCheck(green, blue, options.maxReplicationLagBytes);
    if (lag !== undefined) checks.push(lag);
  }
  return { ok: checks.every((c) => c.ok), checks };
}
