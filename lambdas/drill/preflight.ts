import {
  GetHealthCheckStatusCommand,
  TestDNSAnswerCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { checkConnectivity } from '../connectivity-check/check';
import { normalizeName } from '../dns-flip/flip';
import type { ConnectionSettings } from '../shared/database';
import { DatabaseError } from '../shared/postgres-errors';

export interface PreflightInput {
  readonly primary: ConnectionSettings;
  readonly replica: ConnectionSettings;
  /** Child health checks of the database records (GetHealthCheckStatus cannot read CALCULATED checks). */
  readonly healthCheckIds: readonly string[];
  readonly dns: {
    readonly hostedZoneId: string;
    readonly recordName: string;
    readonly primaryTarget: string;
  };
  readonly maxReplicaLagSeconds: number;
  /** State machines that must not be running (other drills, migrations), and this execution to ignore. */
  readonly exclusiveWith: readonly string[];
  readonly ownExecutionArn?: string;
  readonly timeoutMs: number;
}

export interface PreflightReport {
  readonly ok: boolean;
  /** Every reason to refuse, not just the first. */
  readonly problems: readonly string[];
  readonly replicaLagSeconds: number | null;
}

/** Healthy while more than 18% of Route 53's checkers report success (Route 53's own rule). */
function healthyFraction(observations: { StatusReport?: { Status?: string } }[]): number {
  if (observations.length === 0) return 0;
  return (
    observations.filter((o) => o.StatusReport?.Status?.startsWith('Success') === true).length /
    observations.length
  );
}

/**
 * Normal operation, checked before the drill touches anything: primary writable, replica replaying and close
 * behind, the database health checks healthy, DNS answering the primary, and nothing else (another drill, a
 * migration) running. Never throws for a failed check: the report lists every problem.
 */
export async function runPreflight(
  deps: { route53: Pick<Route53Client, 'send'>; sfn: Pick<SFNClient, 'send'> },
  input: PreflightInput,
): Promise<PreflightReport> {
  const problems: string[] = [];
  const reach = async (label: 'primary' | 'replica', settings: ConnectionSettings) => {
    try {
      return await checkConnectivity(settings, {
        timeoutMs: input.timeoutMs,
        expect: label === 'primary' ? 'writable' : 'any',
        label,
      });
    } catch (error) {
      problems.push(
        error instanceof DatabaseError
          ? `${label}: ${error.kind} (${error.message})`
          : `${label}: ${String(error)}`,
      );
      return undefined;
    }
  };
  const [, replica] = await Promise.all([reach('primary', input.primary), reach('replica', input.replica)]);
  if (replica !== undefined) {
    if (replica.role !== 'replica') problems.push('replica: not in recovery (was it promoted?)');
    const lag = replica.replication.replayLagSeconds;
    if (lag !== null && lag > input.maxReplicaLagSeconds) {
      problems.push(`replica: ${lag} s behind the primary (limit ${input.maxReplicaLagSeconds} s)`);
    }
  }

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
  if (!answer.includes(normalizeName(input.dns.primaryTarget))) {
    problems.push(`DNS: ${input.dns.recordName} answers ${answer.join(', ') || 'nothing'}, not the primary`);
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

  return {
    ok: problems.length === 0,
    problems,
    replicaLagSeconds: replica?.replication.replayLagSeconds ?? null,
  };
}
