import {
  GetHealthCheckStatusCommand,
  TestDNSAnswerCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { normalizeName } from '../shared/dns-name';
import { healthyFraction } from './checker-health';

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
