import { DatabaseError } from '../shared/postgres-errors';
import { withConnection, type ConnectionSettings } from '../shared/database';
import { checkReplicationReadiness, type ReplicationReadiness } from './replication-readiness';

export interface SubscriptionState {
  readonly name: string;
  readonly receivedLsn: string | null;
  readonly latestEndLsn: string | null;
  readonly lastMessageAt: string | null;
}

export interface ConnectivityReport {
  readonly serverVersion: string;
  readonly serverVersionNum: number;
  /** `replica` while the server is in recovery (a physical standby). */
  readonly role: 'primary' | 'replica';
  /** In recovery, or default_transaction_read_only is on. */
  readonly readOnly: boolean;
  readonly connectMs: number;
  readonly roundTripMs: number;
  readonly replication: {
    /** Physical standbys streaming from this server. */
    readonly streamingStandbys: number;
    /** On a standby: WAL receiver status (e.g. `streaming`), null when none. */
    readonly walReceiver: string | null;
    /** On a standby: seconds since the last replayed transaction. */
    readonly replayLagSeconds: number | null;
    readonly publications: readonly string[];
    readonly subscriptions: readonly SubscriptionState[];
  };
  /** When asked for (blue): what logical replication would refuse or not carry. */
  readonly replicationReadiness?: ReplicationReadiness;
}

export interface ConnectivityOptions {
  readonly timeoutMs: number;
  /**
   * `writable`: a read-only server (replica, read-only default) is a failure of kind read_only. `primary`: only
   * a replica is (green may still carry the read-only default of an aborted cutover's fence, which the
   * workflow's own steps write through).
   */
  readonly expect: 'writable' | 'primary' | 'any';
  /** Names the database in messages (`blue`, `green`). */
  readonly label: string;
  /** Also check what logical replication would refuse or not carry (checkReplicationReadiness). */
  readonly replicationReadiness?: boolean;
  /** A column list in a publication is intended (a rollback's way back); row filters are still refused. */
  readonly columnListsAllowed?: boolean;
}

/** Connects with verified TLS and bounded timeouts and describes the server, its role and its replication. */
export async function checkConnectivity(
  settings: ConnectionSettings,
  options: ConnectivityOptions,
): Promise<ConnectivityReport> {
  const started = performance.now();
  return withConnection(
    settings,
    {
      connectTimeoutMs: options.timeoutMs,
      statementTimeoutMs: options.timeoutMs,
      applicationName: 'dr-connectivity-check',
    },
    async (client) => {
      const connectMs = Math.round(performance.now() - started);
      const pingStarted = performance.now();
      await client.query('SELECT 1');
      const roundTripMs = Math.round(performance.now() - pingStarted);

      const { rows: serverRows } = await client.query<{
        version: string;
        num: number;
        in_recovery: boolean;
        read_only_default: boolean;
        standbys: number;
        replay_lag: number | null;
      }>(
        `SELECT current_setting('server_version') AS version,
                current_setting('server_version_num')::int AS num,
                pg_is_in_recovery() AS in_recovery,
                current_setting('default_transaction_read_only') = 'on' AS read_only_default,
                -- Physical standbys only: a logical walsender is attached to a database.
                (SELECT count(*)::int FROM pg_stat_replication r JOIN pg_stat_activity a USING (pid)
                  WHERE a.datname IS NULL) AS standbys,
                CASE WHEN pg_is_in_recovery()
                     THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS replay_lag`,
      );
      const server = serverRows[0];
      if (server === undefined)
        throw new DatabaseError('query_failed', `${options.label}: server state query returned nothing`);
      const { rows: receiver } = await client.query<{ status: string }>(
        'SELECT status FROM pg_stat_wal_receiver',
      );
      const { rows: publications } = await client.query<{ pubname: string }>(
        'SELECT pubname FROM pg_publication ORDER BY pubname',
      );
      const { rows: subscriptions } = await client.query<{
        subname: string;
        received_lsn: string | null;
        latest_end_lsn: string | null;
        last_msg_receipt_time: Date | null;
      }>(
        // The view is cluster-wide: only this database's subscriptions are reported.
        `SELECT s.subname, s.received_lsn::text, s.latest_end_lsn::text, s.last_msg_receipt_time
           FROM pg_stat_subscription s JOIN pg_subscription p ON p.oid = s.subid
          WHERE s.relid IS NULL AND p.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          ORDER BY s.subname`,
      );

      const readOnly = server.in_recovery || server.read_only_default;
      if (options.expect === 'primary' && server.in_recovery) {
        throw new DatabaseError(
          'read_only',
          `${options.label} is in recovery (a replica) but must be a primary`,
        );
      }
      if (options.expect === 'writable' && readOnly) {
        throw new DatabaseError(
          'read_only',
          `${options.label} is read-only (${server.in_recovery ? 'in recovery: a replica' : 'default_transaction_read_only is on'}) but must accept writes`,
        );
      }
      const readiness =
        options.replicationReadiness === true && !server.in_recovery
          ? await checkReplicationReadiness(client, {
              columnListsAllowed: options.columnListsAllowed === true,
            })
          : undefined;
      return {
        ...(readiness === undefined ? {} : { replicationReadiness: readiness }),
        serverVersion: server.version,
        serverVersionNum: server.num,
        role: server.in_recovery ? 'replica' : 'primary',
        readOnly,
        connectMs,
        roundTripMs,
        replication: {
          streamingStandbys: server.standbys,
          walReceiver: receiver[0]?.status ?? null,
          replayLagSeconds: server.replay_lag === null ? null : Math.round(server.replay_lag * 10) / 10,
          publications: publications.map((p) => p.pubname),
          subscriptions: subscriptions.map((s) => ({
            name: s.subname,
            receivedLsn: s.received_lsn,
            latestEndLsn: s.latest_end_lsn,
            lastMessageAt: s.last_msg_receipt_time?.toISOString() ?? null,
          })),
        },
      };
    },
  );
}
