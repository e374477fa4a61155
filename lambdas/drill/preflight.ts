import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { GetHealthCheckCommand, TestDNSAnswerCommand, type Route53Client } from '@aws-sdk/client-route-53';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { normalizeName } from '../shared/dns-name';
import { hostedZoneProblem } from '../shared/hosted-zone';
import { describeRunning, runningExecutions } from '../shared/running-workflows';
import { readTopology, TopologyError } from '../shared/topology';
import type { TopologyParameterNames } from '../shared/topology-parameters';
import { healthCheckStatuses } from './checker-health';

export interface ControlPlanePreflightInput {
  /** Child health checks of the database records (and the sidecar): must be healthy. */
  readonly healthCheckIds: readonly string[];
  /** The check the drill inverts: must be neither inverted already nor disabled (held by on-call). */
  readonly invertHealthCheckId: string;
  readonly dns: {
    readonly hostedZoneId: string;
    readonly recordName: string;
    readonly primaryTarget: string;
    readonly secondaryTarget?: string;
  };
  /** State machines that must not be running (other drills, migrations), and this execution to ignore. */
  readonly exclusiveWith: readonly string[];
  readonly ownExecutionArn?: string;
  /** The topology's parameters: the drill drills only the roles it was given (the first deploy's). */
  readonly topology: TopologyParameterNames;
}

export interface ControlPlaneClients {
  readonly route53: Pick<Route53Client, 'send'>;
  readonly sfn: Pick<SFNClient, 'send'>;
  /** In us-east-1, where Route 53 publishes HealthCheckStatus. */
  readonly cloudwatch: Pick<CloudWatchClient, 'send'>;
  /** Parameter Store where the topology lives. */
  readonly ssm: Pick<SSMClient, 'send'>;
  readonly now?: () => number;
}

const sameHost = (a: string, b: string) => normalizeName(a) === normalizeName(b);

/**
 * The drill's input names the first deploy's databases. After a role change (a failover, a switchover, a
 * cutover) the topology names others, and inverting the health check would drill nothing true (or take a
 * writer's DNS away): the drill refuses until it follows the topology.
 */
async function topologyProblem(
  deps: Pick<ControlPlaneClients, 'ssm'>,
  input: Pick<ControlPlanePreflightInput, 'topology' | 'dns'>,
): Promise<string | undefined> {
  try {
    const topology = await readTopology(deps.ssm, input.topology);
    if (sameHost(topology.writer.endpoint, input.dns.primaryTarget)) return undefined;
    return (
      `the topology's writer is ${topology.writer.instanceIdentifier} in ${topology.writer.region} ` +
      `(generation ${topology.generation}, ${topology.changedBy}), not the primary this drill was deployed with ` +
      `(${input.dns.primaryTarget}): the drill does not follow the topology yet, so it cannot drill these roles. ` +
      'A failover paused its schedule: leave it off (docs/runbooks.md)'
    );
  } catch (error) {
    if (error instanceof TopologyError) return `topology: ${error.message}`;
    throw error;
  }
}

/**
 * Route 53 and Step Functions in normal operation: the zone public (TestDNSAnswer needs it), the database
 * health checks healthy (their CloudWatch HealthCheckStatus), the check to invert neither inverted nor held,
 * DNS answering the primary, and nothing else (another drill, a migration) running. Lists every problem; never
 * throws for one.
 */
export async function checkControlPlane(
  deps: ControlPlaneClients,
  input: ControlPlanePreflightInput,
): Promise<{ problems: readonly string[] }> {
  const problems: string[] = [];
  const zoneProblem = await hostedZoneProblem(deps.route53, input.dns.hostedZoneId);
  // Nothing else can be checked through TestDNSAnswer; say this one thing clearly.
  if (zoneProblem !== undefined) return { problems: [zoneProblem] };
  // Roles moved: what DNS answers says nothing a drill can use; say why, and nothing misleading.
  const moved = await topologyProblem(deps, input);
  if (moved !== undefined) return { problems: [moved] };

  const statuses = await healthCheckStatuses(deps.cloudwatch, input.healthCheckIds, {
    now: (deps.now ?? Date.now)(),
  });
  for (const [id, status] of statuses) {
    if (status === 'unhealthy') problems.push(`health check ${id}: unhealthy (Route 53 HealthCheckStatus 0)`);
    if (status === 'no data')
      problems.push(
        `health check ${id}: no HealthCheckStatus data in the last 5 minutes (deployed just now?)`,
      );
  }

  const { HealthCheck } = await deps.route53.send(
    new GetHealthCheckCommand({ HealthCheckId: input.invertHealthCheckId }),
  );
  if (HealthCheck?.HealthCheckConfig?.Disabled === true)
    problems.push(
      `health check ${input.invertHealthCheckId} is disabled: on-call holds DNS on the primary (dr hold); release it first (dr hold --release)`,
    );
  if (HealthCheck?.HealthCheckConfig?.Inverted === true)
    problems.push(
      `health check ${input.invertHealthCheckId} is already inverted (a drill in progress, or one left inverted: dr drill restore)`,
    );

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
        : `DR degraded: ${input.dns.recordName} answers ${shown}, neither the configured primary nor its replica (see dr status)`,
    );
  }

  const running = await runningExecutions(deps.sfn, input.exclusiveWith, input.ownExecutionArn);
  if (running.length > 0) problems.push(`running: ${describeRunning(running)}`);
  return { problems };
}
