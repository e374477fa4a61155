import { checkConnectivity } from '../connectivity-check/check';
import { withConnection, type ConnectionSettings } from '../shared/database';
import { DatabaseError } from '../shared/postgres-errors';
import { ReplicationProbeError } from './errors';
import { probeDatabaseReplication } from './heartbeat';

export interface DatabasePreflightInput {
  readonly primary: ConnectionSettings;
  readonly replica: ConnectionSettings;
  /** A heartbeat written on the primary must reach the replica within this. */
  readonly maxReplicaLagSeconds: number;
  readonly timeoutMs: number;
  readonly pollMs: number;
}

export interface DatabasePreflightReport {
  readonly problems: readonly string[];
  /** How long a heartbeat took to reach the replica; null when it could not be measured. */
  readonly replicaLagMs: number | null;
}

const describeFailure = (label: string, error: unknown) =>
  error instanceof DatabaseError
    ? `${label}: ${error.kind} (${error.message})`
    : `${label}: ${String(error)}`;

/**
 * The databases in normal operation: primary writable, replica in recovery, and a heartbeat written on the
 * primary arriving on the replica in time. The replica's own replay timestamp is not used: it grows on an idle
 * primary. Never throws for a failed check: the report lists every problem.
 */
export async function checkDatabases(input: DatabasePreflightInput): Promise<DatabasePreflightReport> {
  const problems: string[] = [];
  const reach = async (label: 'primary' | 'replica', settings: ConnectionSettings) => {
    try {
      return await checkConnectivity(settings, {
        timeoutMs: input.timeoutMs,
        expect: label === 'primary' ? 'writable' : 'any',
        label,
      });
    } catch (error) {
      problems.push(describeFailure(label, error));
      return undefined;
    }
  };
  const [primary, replica] = await Promise.all([
    reach('primary', input.primary),
    reach('replica', input.replica),
  ]);
  if (replica !== undefined && replica.role !== 'replica')
    problems.push('replica: not in recovery (was it promoted?)');
  if (primary === undefined || replica?.role !== 'replica') return { problems, replicaLagMs: null };

  const connect = { connectTimeoutMs: input.timeoutMs, statementTimeoutMs: input.timeoutMs };
  try {
    const { replicatedAfterMs } = await withConnection(
      input.primary,
      { ...connect, applicationName: 'dr-drill-preflight' },
      (primaryClient) =>
        withConnection(
          input.replica,
          { ...connect, applicationName: 'dr-drill-preflight' },
          (replicaClient) =>
            probeDatabaseReplication(primaryClient, replicaClient, {
              timeoutMs: input.maxReplicaLagSeconds * 1000,
              pollMs: input.pollMs,
            }),
        ),
    );
    return { problems, replicaLagMs: replicatedAfterMs };
  } catch (error) {
    problems.push(
      error instanceof ReplicationProbeError
        ? `replica: more than ${input.maxReplicaLagSeconds} s behind (a heartbeat written on the primary had not arrived)`
        : describeFailure('heartbeat', error),
    );
    return { problems, replicaLagMs: null };
  }
}
