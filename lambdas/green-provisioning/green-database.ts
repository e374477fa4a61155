import dns from 'node:dns';
import { isIP } from 'node:net';
import { isLoopbackHost } from '../shared/database';
import type { Client } from 'pg';
import { applyPendingMigrations } from '../migrations/engine';
import type { LocalMigration } from '../migrations/folder';
import { NOT_REPLICATED, parseTableKey, SYSTEM_SCHEMAS, tableKeySql } from '../shared/replicated-tables';
import { RoutableError } from '../shared/routable-error';
import { scramVerifier } from '../shared/scram-verifier';
import { quoteIdent } from '../shared/sql-identifier';

/** Green's schema after the replay is not blue's: something on blue was changed outside the migrations. */
export class SchemaDrift extends RoutableError<'SchemaDrift'> {
  constructor(readonly differences: readonly string[]) {
    super(
      'SchemaDrift',
      `green's schema, replayed from blue's applied migrations, differs from blue's (${differences.length} ` +
        `difference(s); blue was changed outside its migrations): ${differences.slice(0, 20).join('; ')}` +
        (differences.length > 20 ? `; and ${differences.length - 20} more` : '') +
        '. Nothing was published; fix blue (or write the migration that makes the change) and start again.',
    );
  }
}

/** Green already has a subscription of that name to something else than blue's publication. */
export class SubscriptionConflict extends RoutableError<'SubscriptionConflict'> {}

/**
 * Replays on green the migrations applied on blue (`applied`, in the folder's order) with the migration engine:
 * Prisma's own bookkeeping, so green's `_prisma_migrations` reads as blue's does and the migration step then
 * applies only what is new. Idempotent: a rerun applies nothing already applied.
 */
export async function replayAppliedMigrations(
  green: Client,
  local: readonly LocalMigration[],
  applied: readonly string[],
): Promise<string[]> {
  const wanted = new Set(applied);
  const result = await applyPendingMigrations(
    green,
    local.filter((m) => wanted.has(m.name)),
  );
  return result.applied.map((a) => a.name);
}

interface ColumnRow {
  table_key: string;
  column_name: string | null;
  column_type: string | null;
  not_null: boolean | null;
  primary_key: string | null;
}

/**
 * Every application table with its columns (type with modifiers, NOT NULL) and primary key, the shape logical
 * replication and the cutover rely on. Top-level tables only (a partitioned table stands for its partitions).
 */
async function schemaShape(client: Client): Promise<Map<string, string>> {
  const { rows } = await client.query<ColumnRow>(
    `SELECT ${tableKeySql('n.nspname', 'c.relname')} AS table_key, a.attname AS column_name,
            format_type(a.atttypid, a.atttypmod) AS column_type, a.attnotnull AS not_null,
            (SELECT string_agg(pa.attname, ',' ORDER BY k.ord)
               FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute pa ON pa.attnum = k.attnum
              WHERE i.indrelid = c.oid AND i.indisprimary AND pa.attrelid = c.oid) AS primary_key
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence <> 't' AND ${SYSTEM_SCHEMAS}`,
  );
  const shape = new Map<string, string>();
  for (const row of rows) {
    if (NOT_REPLICATED.includes(row.table_key)) continue;
    shape.set(row.table_key, `table (primary key ${row.primary_key ?? 'none'})`);
    if (row.column_name !== null)
      shape.set(
        `${row.table_key}.${row.column_name}`,
        `${row.column_type ?? '?'}${row.not_null === true ? ' NOT NULL' : ''}`,
      );
  }
  return shape;
}

/** What differs between blue's and green's tables, columns and primary keys, one line each. */
export async function schemaDifferences(blue: Client, green: Client): Promise<string[]> {
  const [onBlue, onGreen] = await Promise.all([schemaShape(blue), schemaShape(green)]);
  const differences: string[] = [];
  for (const key of [...new Set([...onBlue.keys(), ...onGreen.keys()])].sort()) {
    const b = onBlue.get(key);
    const g = onGreen.get(key);
    if (b === g) continue;
    differences.push(`${key}: blue ${b ?? 'missing'}, green ${g ?? 'missing'}`);
  }
  return differences;
}

/** The dedicated replication user's login on blue (its secret, never rotated). */
export interface ReplicationLogin {
  readonly user: string;
  readonly password: string;
}

/**
 * The replication user on blue, as the subscription must use (the master secret rotates): created if missing,
 * its password set to the secret's, the replication privilege granted (`rds_replication` on RDS, the
 * REPLICATION attribute elsewhere), and SELECT on the published tables (the initial copy).
 */
export async function ensureReplicationUser(
  blue: Client,
  login: ReplicationLogin,
  tables: readonly string[],
): Promise<void> {
  const role = quoteIdent(login.user);
  const { rows } = await blue.query<{ exists: boolean; rds: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists,
            EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication') AS rds`,
    [login.user],
  );
  if (rows[0]?.exists !== true) await blue.query(`CREATE ROLE ${role} LOGIN`);
  // A SCRAM verifier, never the password: a statement that is logged (log_statement, a failed statement's
  // text) shows nothing that logs in.
  await blue.query(
    `ALTER ROLE ${role} WITH LOGIN PASSWORD ${blue.escapeLiteral(scramVerifier(login.password))}`,
  );
  await blue.query(
    rows[0]?.rds === true ? `GRANT rds_replication TO ${role}` : `ALTER ROLE ${role} REPLICATION`,
  );
  const { rows: schemas } = await blue.query<{ schema: string }>(
    `SELECT DISTINCT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid IN (SELECT to_regclass(t) FROM unnest($1::text[]) AS t)`,
    [tables],
  );
  for (const { schema } of schemas)
    await blue.query(`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${role}`);
  if (tables.length > 0) await blue.query(`GRANT SELECT ON ${tables.map(sqlName).join(', ')} TO ${role}`);
}

/** A table key as SQL (each part quoted: a plain key may still be a reserved word, as `public.order` is). */
export function sqlName(key: string): string {
  const { schema, name } = parseTableKey(key);
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/**
 * Blue's publication of `tables` (every application table): created, or, when it exists from an earlier run,
 * given the tables it lacks. Publishes every operation, the whole row, no filter. Returns the tables added.
 */
export async function ensurePublication(
  blue: Client,
  publication: string,
  tables: readonly string[],
): Promise<string[]> {
  const name = quoteIdent(publication);
  const exists = await blue.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
  // Partitioned tables are published as themselves (publish_via_partition_root): green needs only the same
  // table, not the same partitions.
  if (exists.rowCount === 0) {
    await blue.query(
      tables.length === 0
        ? `CREATE PUBLICATION ${name} WITH (publish_via_partition_root = true)`
        : `CREATE PUBLICATION ${name} FOR TABLE ${tables.map(sqlName).join(', ')} WITH (publish_via_partition_root = true)`,
    );
    return [...tables];
  }
  // Membership as listed (pg_publication_rel), not as published: pg_publication_tables shows a partitioned
  // table's leaves unless the publication publishes via the root.
  const { rows: missing } = await blue.query<{ t: string }>(
    `SELECT t FROM unnest($1::text[]) AS t
      WHERE to_regclass(t) NOT IN (SELECT pr.prrelid::regclass FROM pg_publication_rel pr
                                     JOIN pg_publication p ON p.oid = pr.prpubid WHERE p.pubname = $2)`,
    [tables, publication],
  );
  if (missing.length > 0)
    await blue.query(`ALTER PUBLICATION ${name} ADD TABLE ${missing.map((m) => sqlName(m.t)).join(', ')}`);
  return missing.map((m) => m.t);
}

/** How green's subscription reaches blue: never the master user, TLS required. */
export interface SubscriptionSource {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly login: ReplicationLogin;
  /** `require` on RDS (encrypted; the subscriber has no CA file to verify with); `disable` only for loopback tests. */
  readonly sslmode: 'require' | 'disable';
}

/**
 * The subscriber's server resolves the publisher's host itself, with its own resolver. A name that resolves to
 * loopback here (the local world's RDS endpoints) is also given as `hostaddr`: the server's resolver does not
 * know it, and a loopback address never moves. Any other address is left to the server's resolver, because an
 * RDS endpoint's address changes when a Multi-AZ instance fails over.
 */
export async function pinnedLoopback(host: string): Promise<string | undefined> {
  if (isIP(host) !== 0) return undefined;
  const address = await new Promise<string | undefined>((done) => {
    dns.lookup(host, (error, found) => {
      done(error === null ? found : undefined);
    });
  });
  return address !== undefined && isLoopbackHost(address) ? address : undefined;
}

/**
 * Green's subscription to blue's publication, with the initial copy. Before it is created, green's copies of the
 * tables are emptied (a migration may have inserted rows that blue has too: the copy brings blue's). An
 * existing subscription of that name (an earlier run) is kept when it subscribes to that publication.
 */
export async function ensureSubscription(
  green: Client,
  subscription: string,
  publication: string,
  source: SubscriptionSource,
  tables: readonly string[],
  options: {
    /** Copy the published rows first (a new green); false when the subscriber holds them already (the way back). */
    readonly copyData: boolean;
  } = { copyData: true },
): Promise<'created' | 'existing'> {
  const { rows } = await green.query<{ publications: string[] }>(
    `SELECT subpublications AS publications FROM pg_subscription
      WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [subscription],
  );
  const existing = rows[0];
  if (existing !== undefined) {
    if (existing.publications.length === 1 && existing.publications[0] === publication) return 'existing';
    throw new SubscriptionConflict(
      'SubscriptionConflict',
      `green already has a subscription ${subscription} to ${existing.publications.join(', ')}, not to ${publication}`,
    );
  }
  if (options.copyData && tables.length > 0) await green.query(`TRUNCATE ${tables.map(sqlName).join(', ')}`);
  const hostaddr = await pinnedLoopback(source.host);
  const conninfo = (
    [
      ['host', source.host],
      ...(hostaddr === undefined ? [] : ([['hostaddr', hostaddr]] as const)),
      ['port', String(source.port)],
      ['dbname', source.database],
      ['user', source.login.user],
      ['password', source.login.password],
      ['sslmode', source.sslmode],
      ['application_name', subscription],
    ] as const
  )
    .map(([key, value]) => `${key}='${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)
    .join(' ');
  await green.query(
    `CREATE SUBSCRIPTION ${quoteIdent(subscription)} CONNECTION ${green.escapeLiteral(conninfo)} ` +
      `PUBLICATION ${quoteIdent(publication)} WITH (copy_data = ${String(options.copyData)})`,
  );
  return 'created';
}

export interface SyncProgress {
  /** Tables of the subscription by state: `i` init, `d` copying, `f` copied, `s` synchronized, `r` ready. */
  readonly tables: Record<string, number>;
  /** Up to 10 tables not yet ready, with their state. */
  readonly waitingFor: readonly string[];
  /** Bytes green's copies have read so far (pg_stat_progress_copy), while the initial copy runs. */
  readonly copiedBytes: number;
  /** Blue's WAL not yet confirmed by the subscription's slot; null while the slot is not found. */
  readonly lagBytes: number | null;
  /** Errors of the initial copy and of applying changes so far (PostgreSQL 15 and later). */
  readonly syncErrors: number;
  readonly applyErrors: number;
  /** Every table ready and the lag at most the bound. */
  readonly ready: boolean;
}

/** Where the initial copy is: table states and copy progress on green, the slot's lag on blue. */
export async function syncProgress(
  blue: Client,
  green: Client,
  subscription: string,
  maxLagBytes: number,
): Promise<SyncProgress> {
  const { rows: states } = await green.query<{ table_name: string; state: string }>(
    `SELECT sr.srrelid::regclass::text AS table_name, sr.srsubstate::text AS state
       FROM pg_subscription_rel sr JOIN pg_subscription s ON s.oid = sr.srsubid
      WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      ORDER BY 1`,
    [subscription],
  );
  const tables: Record<string, number> = {};
  for (const row of states) tables[row.state] = (tables[row.state] ?? 0) + 1;
  const waiting = states.filter((r) => r.state !== 'r');
  const version = Number(
    (await green.query<{ n: string }>("SELECT current_setting('server_version_num') AS n")).rows[0]?.n ?? 0,
  );
  // pg_stat_progress_copy exists from PostgreSQL 14.
  const copy =
    version >= 140000
      ? (
          await green.query<{ bytes: string | null }>(
            `SELECT sum(bytes_processed)::text AS bytes FROM pg_stat_progress_copy WHERE datname = current_database()`,
          )
        ).rows
      : [];
  const errors =
    version >= 150000
      ? (
          await green.query<{ sync: number; apply: number }>(
            `SELECT st.sync_error_count::int AS sync, st.apply_error_count::int AS apply
               FROM pg_stat_subscription_stats st JOIN pg_subscription s ON s.oid = st.subid
              WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
            [subscription],
          )
        ).rows[0]
      : undefined;
  const { rows: slot } = await blue.query<{ lag: string | null }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint::text AS lag
       FROM pg_replication_slots WHERE slot_name = $1`,
    [subscription],
  );
  const lagBytes = slot[0]?.lag === undefined || slot[0].lag === null ? null : Number(slot[0].lag);
  return {
    tables,
    waitingFor: waiting.slice(0, 10).map((r) => `${r.table_name} (${r.state})`),
    copiedBytes: Number(copy[0]?.bytes ?? 0),
    lagBytes,
    syncErrors: errors?.sync ?? 0,
    applyErrors: errors?.apply ?? 0,
    ready:
      states.length > 0
        ? waiting.length === 0 && lagBytes !== null && lagBytes <= maxLagBytes
        : lagBytes !== null && lagBytes <= maxLagBytes,
  };
}
