import type { Client } from 'pg';
import {
  ensureReplicationUser,
  ensureSubscription,
  sqlName,
  type ReplicationLogin,
} from '../green-provisioning/green-database';
import { applicationTables, SYSTEM_SCHEMAS, tableKeySql } from '../shared/replicated-tables';
import { quoteIdent } from '../shared/sql-identifier';

/**
 * The way back after a cutover: blue keeps following green by logical replication (a publication on green, a
 * subscription on blue, no initial copy) so that a rollback within the window is a zero-loss cutover in the
 * other direction. What green publishes is what blue's schema can take: for each of blue's tables, the columns
 * both have (a PostgreSQL 15 column list). What the migration changed decides whether that is possible.
 */
/** The way back's publication (on the writer) and subscription (on the previous writer) unless named. */
export const WAY_BACK_NAME = 'dr_way_back';

export interface WayBackPlan {
  /** Every write made on green can be applied on blue (possibly with NULLs or defaults, see `lossy`). */
  readonly possible: boolean;
  /**
   * Blue's tables and the columns green publishes for each (those both have); `all` when that is every column
   * green has (then no column list is needed, and none is used).
   */
  readonly tables: readonly {
    readonly table: string;
    readonly columns: readonly string[];
    readonly all: boolean;
  }[];
  /** Why it is impossible, one line per table or column. */
  readonly impossible: readonly string[];
  /** What a rollback would not carry back, one line each: it is possible, with these losses. */
  readonly lossy: readonly string[];
}

interface Column {
  type: string;
  notNull: boolean;
  hasDefault: boolean;
}

/** Every application table's columns (type with modifiers, NOT NULL, default) and primary key columns. */
async function shape(client: Client): Promise<Map<string, { columns: Map<string, Column>; key: string[] }>> {
  const { rows } = await client.query<{
    t: string;
    column_name: string;
    column_type: string;
    not_null: boolean;
    has_default: boolean;
    in_key: boolean;
  }>(
    `SELECT ${tableKeySql('n.nspname', 'c.relname')} AS t, a.attname AS column_name,
            format_type(a.atttypid, a.atttypmod) AS column_type, a.attnotnull AS not_null,
            (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') AS has_default,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid
                      AND (i.indisprimary OR i.indisreplident) AND a.attnum = ANY (i.indkey::int2[])) AS in_key
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence = 'p' AND ${SYSTEM_SCHEMAS}
      ORDER BY 1, a.attnum`,
  );
  const tables = new Map<string, { columns: Map<string, Column>; key: string[] }>();
  for (const row of rows) {
    const table = tables.get(row.t) ?? { columns: new Map<string, Column>(), key: [] };
    table.columns.set(row.column_name, {
      type: row.column_type,
      notNull: row.not_null,
      hasDefault: row.has_default,
    });
    if (row.in_key) table.key.push(row.column_name);
    tables.set(row.t, table);
  }
  return tables;
}

/**
 * Whether, and how, green's writes can be applied on blue after the cutover. Impossible when the migration
 * dropped or renamed one of blue's tables (its rows on green would never reach blue), dropped a column blue
 * requires (NOT NULL without a default: every row written on green would fail on blue), changed a column's
 * type, or keyed a table by a column blue lacks; and, before PostgreSQL 15 on green, when a table has columns
 * blue lacks (a column list needs 15). Lossy, and said so, when a dropped column is nullable or has a default
 * on blue (rows written on green get NULL or the default there) and for tables only green has.
 */
export async function planWayBack(blue: Client, green: Client): Promise<WayBackPlan> {
  const [onBlue, onGreen, published] = await Promise.all([
    shape(blue),
    shape(green),
    applicationTables(blue),
  ]);
  const version = Number(
    (await green.query<{ n: string }>("SELECT current_setting('server_version_num') AS n")).rows[0]?.n ?? 0,
  );
  const impossible: string[] = [];
  const lossy: string[] = [];
  const tables: { table: string; columns: string[]; all: boolean }[] = [];
  for (const table of published) {
    const b = onBlue.get(table);
    const g = onGreen.get(table);
    if (b === undefined) continue;
    if (g === undefined) {
      impossible.push(
        `${table} is on blue but not on green (dropped or renamed): its rows written on green never reach blue`,
      );
      continue;
    }
    const columns: string[] = [];
    for (const [name, column] of b.columns) {
      const other = g.columns.get(name);
      if (other === undefined) {
        if (column.notNull && !column.hasDefault)
          impossible.push(
            `${table}.${name} was dropped (or renamed) on green and is NOT NULL without a default on blue: every row written on green would fail there`,
          );
        else
          lossy.push(
            `${table}.${name} was dropped (or renamed) on green: rows written on green get ${column.hasDefault ? 'its default' : 'NULL'} in it on blue`,
          );
        continue;
      }
      if (other.type !== column.type) {
        impossible.push(
          `${table}.${name} changed type on green (${column.type} on blue, ${other.type} on green)`,
        );
        continue;
      }
      columns.push(name);
    }
    const keyMissing = g.key.filter((k) => !b.columns.has(k));
    if (keyMissing.length > 0)
      impossible.push(
        `${table} is keyed on green by ${keyMissing.join(', ')}, which blue lacks: updates and deletes cannot find their rows on blue`,
      );
    const extra = [...g.columns.keys()].filter((c) => !b.columns.has(c));
    if (extra.length > 0 && version < 150000)
      impossible.push(
        `${table} has columns blue lacks (${extra.join(', ')}) and green runs PostgreSQL ${Math.floor(version / 10000)}: publishing only blue's columns needs 15 or later`,
      );
    tables.push({ table, columns, all: extra.length === 0 && columns.length === g.columns.size });
  }
  for (const table of onGreen.keys())
    if (!onBlue.has(table) && !table.startsWith('public._prisma_migrations'))
      lossy.push(`${table} exists only on green: its rows are not carried back`);
  return { possible: impossible.length === 0, tables, impossible, lossy };
}

/** The publication of the way back on green: each of blue's tables with the columns both have. */
async function publishWayBack(green: Client, publication: string, plan: WayBackPlan): Promise<void> {
  const exists = await green.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
  if ((exists.rowCount ?? 0) > 0) return;
  const list = plan.tables
    .map((t) => (t.all ? sqlName(t.table) : `${sqlName(t.table)} (${t.columns.map(quoteIdent).join(', ')})`))
    .join(', ');
  await green.query(
    list === ''
      ? `CREATE PUBLICATION ${quoteIdent(publication)}`
      : `CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${list}`,
  );
}

/**
 * Sets up the way back, while blue is fenced and green not yet open to writes (the cutover's finish): the
 * replication user on green, green's publication of what blue can take, and blue's subscription to it without
 * an initial copy (blue holds every row already; the slot on green starts now, before green takes a write).
 * Idempotent.
 */
export async function setUpWayBack(
  blue: Client,
  green: Client,
  options: {
    readonly names: { readonly publication: string; readonly subscription: string };
    readonly plan: WayBackPlan;
    readonly login: ReplicationLogin;
    readonly greenAt: { readonly host: string; readonly port: number; readonly database: string };
    readonly sslmode: 'require' | 'disable';
  },
): Promise<'created' | 'existing'> {
  await ensureReplicationUser(
    green,
    options.login,
    options.plan.tables.map((t) => t.table),
  );
  await publishWayBack(green, options.names.publication, options.plan);
  return ensureSubscription(
    blue,
    options.names.subscription,
    options.names.publication,
    { ...options.greenAt, login: options.login, sslmode: options.sslmode },
    [],
    { copyData: false },
  );
}
