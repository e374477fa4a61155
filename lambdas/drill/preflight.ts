import {
  GetHealthCheckStatusCommand,
  TestDNSAnswerCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { checkConnectivity } from '../connectivity-check/check';
import { normalizeName } from '../dns-flip/flip';
import { withConnection, type ConnectionSettings } from '../shared/database';
import { DatabaseError } from '../shared/postgres-errors';
import { probeDatabaseReplication, ReplicationProbeError } from './replication';

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

export interface ControlPlanePreflightInput {
  /** Child health checks of the database records (GetHealthCheckStatus cannot read CALCULATED checks). */
  readonly healthCheckIds: readonly string[];
  readonly dns: {
    readonly hostedZoneId: string;
    readonly recordName: string;
    readonly primaryTarget: string;
    readonly secondaryTarget?: string;
  };
  /** State machines that must not be running (other drills, migrations), and this execution to ignore. */
  readonly exclusiveWith: readonly string[];
  readonly ownExecutionArn?: string;
}

/** Healthy while more than 18% of Route 53's checkers report success (Route 53's own rule). */
export function healthyFraction(observations: { StatusReport?: { Status?: string } }[]): number {
  if (observations.length === 0) return 0;
  return (
    observations.filter((o) => o.StatusReport?.Status?.startsWith('Success') === true).length /
    observations.length
  );
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

/**
 * Route 53 and Step Functions in normal operation: the database health checks healthy, DNS answering the
 * primary, and nothing else (another drill, a migration) running. Lists every problem; never throws for one.
 */
export async function checkControlPlane(
  deps: { route53: Pick<Route53Client, 'send'>; sfn: Pick<SFNClient, 'send'> },
  input: ControlPlanePreflightInput,
): Promise<{ problems: readonly string[] }> {
  const problems: string[] = [];
  for (const id of input.healthCheckIds) {
    const { HealthCheckObservations } = await deps.route53.send(
      new GetHealthCheckStatusCommand({ HealthCheckId: id }),
    );
    const fraction = healthyFraction(HealthCheckObservations ?? []);
    if (fraction <= 0.18)
      problems.push(
        `health check ${id}: unhealthy (${Math.round(fraction * 100)}% of checkers report success)`,
      );
  }

  const { RecordData } = await deps.route53.send(
    new TestDNSAnswerCommand({
      HostedZoneId: input.dns.hostedZoneId,
      RecordName: input.dns.recordName,
      RecordType: 'CNAME',
    }),
  );
  const answer = (RecordData ?? []).map(normalizeName);
  const shown = answer.join(', ') || 'nothing';
  if (!answer.includes(normalizeName(input.dns.primaryTarget))) {
    const secondary = input.dns.secondaryTarget;
    problems.push(
      secondary === undefined || answer.includes(normalizeName(secondary))
        ? `DNS: ${input.dns.recordName} answers ${shown}, not the primary (a failover in progress, or a health check left inverted? run dr drill restore)`
        : `DR degraded: ${input.dns.recordName} answers ${shown}, neither the configured primary nor its replica (after a blue-green cutover, rebuild DR and update the DR configuration)`,
    );
  }

  for (const stateMachineArn of input.exclusiveWith) {
    const { executions } = await deps.sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 10 }),
    );
    const others = (executions ?? []).filter((e) => e.executionArn !== input.ownExecutionArn);
    if (others.length > 0)
      problems.push(
        `running: ${others.map((e) => e.name ?? e.executionArn ?? '?').join(', ')} (${stateMachineArn.split(':').at(-1) ?? ''})`,
      );
  }
  return { problems };
}
