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
import { quoteIdent } from '../shared/sql-identifier';
import { ENDABLE_SESSION } from '../shared/sessions';
import { FailoverError } from './replication-position';

/** Databases no application uses: RDS's own, the maintenance database and the templates. */
const MAINTENANCE = ['postgres', 'rdsadmin', 'template0', 'template1'];

export interface RetiredWriter {
  /** Application databases that now refuse connections (including those that already did). */
  readonly databases: readonly string[];
  readonly terminatedSessions: number;
  /** Sessions this role may not end (a superuser's, such as rdsadmin's), still open. */
  readonly skippedSessions: number;
}

export async function retireWriter(client: Client): Promise<RetiredWriter> {
  await client.query('SET default_transaction_read_only = off');
  const { rows: databases } = await client.query<{ datname: string }>(
    `SELECT datname FROM pg_database
      WHERE NOT datistemplate AND datname <> ALL($1::text[])
      ORDER BY datname`,
    [MAINTENANCE],
  );
  const refused: string[] = [];
  for (const { datname } of databases) {
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
  if (refused.length > 0)
    throw new FailoverError(
      'RetireIncomplete',
      `these databases still accept connections: ${refused.join('; ')}; their sessions were ended, ` +
        'but new ones can open: retire them as their owner',
    );
  return {
    databases: databases.map((d) => d.datname),
    terminatedSessions: rows[0]?.terminated ?? 0,
    skippedSessions: rows[0]?.skipped ?? 0,
  };
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
