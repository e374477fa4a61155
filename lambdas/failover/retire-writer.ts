/**
 * Retiring a former writer, so it never takes writes again: what a failover does to the old primary if it can
 * reach it, and what must happen first when the old region comes back. Stronger than the cutover's fence
 * (a session default, which a session may override): every application database refuses new connections
 * (`ALLOW_CONNECTIONS false`, which its owner may set: on RDS the master user owns the databases it created)
 * and defaults to read-only, and every session that may be ended is ended. Run connected to the maintenance
 * database (`postgres`). Idempotent. A database it may not alter fails the whole retirement, naming it: a
 * writer left half-retired must not pass for retired.
 */
import type { Client } from 'pg';
import { withConnection, type ConnectionSettings } from '../shared/database';
import { DatabaseError } from '../shared/postgres-errors';
import { quoteIdent } from '../shared/sql-identifier';
import { ENDABLE_SESSION } from '../shared/sessions';
import { FailoverError } from './replication-position';

/** Databases no application uses: RDS's own, the maintenance database and the templates. */
const MAINTENANCE = ['postgres', 'rdsadmin', 'template0', 'template1'];

/** The application databases of the server this session is connected to (every one but MAINTENANCE). */
async function applicationDatabases(client: Client): Promise<string[]> {
  const { rows } = await client.query<{ datname: string }>(
    `SELECT datname FROM pg_database
      WHERE NOT datistemplate AND datname <> ALL($1::text[])
      ORDER BY datname`,
    [MAINTENANCE],
  );
  return rows.map((r) => r.datname);
}

export interface RetiredWriter {
  /** It was retired already (every application database refused connections): nothing new. */
  readonly alreadyRetired: boolean;
  /** Application databases that now refuse connections (including those that already did). */
  readonly databases: readonly string[];
  readonly terminatedSessions: number;
  /** Sessions this role may not end (a superuser's, such as rdsadmin's), still open. */
  readonly skippedSessions: number;
  /**
   * Its WAL position once retired: everything it acknowledged is at or before it. A replica that has replayed
   * up to it has every write (a planned switchover waits for that before promoting).
   */
  readonly finalLsn: string;
}

export async function retireWriter(client: Client): Promise<RetiredWriter> {
  await client.query('SET default_transaction_read_only = off');
  const alreadyRetired = await isRetired(client);
  const databases = await applicationDatabases(client);
  const refused: string[] = [];
  for (const datname of databases) {
    try {
      await client.query(`ALTER DATABASE ${quoteIdent(datname)} WITH ALLOW_CONNECTIONS false`);
      await client.query(`ALTER DATABASE ${quoteIdent(datname)} SET default_transaction_read_only = on`);
    } catch (e) {
      refused.push(`${datname} (${(e as Error).message})`);
    }
  }
  const { rows } = await client.query<{ terminated: number; skipped: number }>(
    `SELECT count(*) FILTER (WHERE endable AND pg_terminate_backend(pid))::int AS terminated,
            count(*) FILTER (WHERE NOT endable)::int AS skipped
       FROM (SELECT a.pid, ${ENDABLE_SESSION} AS endable
               FROM pg_stat_activity a
              WHERE a.pid <> pg_backend_pid() AND a.datname IS NOT NULL AND a.usesysid IS NOT NULL
                -- A role without pg_read_all_stats sees other roles' backend_type as NULL: those are ended
                -- too (a client, or a walsender of a logical slot: nothing a retired writer should serve).
                AND (a.backend_type IS NULL OR a.backend_type IN ('client backend', 'walsender'))) AS sessions`,
  );
  const final = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  if (refused.length > 0)
    throw new FailoverError(
      'RetireIncomplete',
      `these databases still accept connections: ${refused.join('; ')}; their sessions were ended, ` +
        'but new ones can open: retire them as their owner',
    );
  return {
    alreadyRetired,
    databases,
    terminatedSessions: rows[0]?.terminated ?? 0,
    skippedSessions: rows[0]?.skipped ?? 0,
    finalLsn: final.rows[0]?.lsn ?? '0/0',
  };
}

/**
 * Opens a promoted writer: what its former writer's retirement, or a switchover's fence, left set. Those are
 * database settings (pg_database and pg_db_role_setting), written to WAL like everything else, so a physical
 * replica that replayed them carries them into its promotion: every application database would refuse
 * connections and default to read-only. Run on the promoted instance, connected to `postgres`; idempotent.
 */
export async function openWriter(client: Client): Promise<{ readonly databases: readonly string[] }> {
  await client.query('SET default_transaction_read_only = off');
  const databases = await applicationDatabases(client);
  for (const datname of databases) {
    await client.query(`ALTER DATABASE ${quoteIdent(datname)} WITH ALLOW_CONNECTIONS true`);
    await client.query(`ALTER DATABASE ${quoteIdent(datname)} RESET default_transaction_read_only`);
  }
  return { databases };
}

/** Whether a server is retired: every application database refuses connections. */
export async function isRetired(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ open: number }>(
    `SELECT count(*)::int AS open FROM pg_database
      WHERE datallowconn AND NOT datistemplate AND datname <> ALL($1::text[])`,
    [MAINTENANCE],
  );
  return rows[0]?.open === 0;
}

export type RetireResult =
  ({ readonly reachable: true } & RetiredWriter) | { readonly reachable: false; readonly problem: string };

/**
 * Retires a former writer if it can be reached. Only one that cannot be reached counts as gone (its region
 * lost; it is retired when it comes back): one that answered and then failed, a timeout half-way through
 * retiring it, is a live writer, and the failure is thrown.
 */
export async function retireIfReachable(
  settings: ConnectionSettings,
  connectTimeoutMs: number,
  retire: (client: Client) => Promise<RetiredWriter> = retireWriter,
): Promise<RetireResult> {
  const reached = { value: false };
  try {
    const retired = await withConnection(
      settings,
      { connectTimeoutMs, statementTimeoutMs: 30_000, applicationName: 'pg-dr-failover' },
      (client) => {
        reached.value = true;
        return retire(client);
      },
    );
    return { reachable: true, ...retired };
  } catch (e) {
    const unreachable =
      !reached.value && e instanceof DatabaseError && (e.kind === 'unreachable' || e.kind === 'timeout');
    if (!unreachable) throw e;
    return { reachable: false, problem: e.message };
  }
}
