import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  GetHealthCheckCommand,
  ListResourceRecordSetsCommand,
  TestDNSAnswerCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { normalizeName, sameHost } from '../shared/dns-name';
import { hostedZoneProblem } from '../shared/hosted-zone';
import { describeRunning, runningExecutions } from '../shared/running-workflows';
import {
  probeTargets,
  readHealthCheckedWriter,
  readTopology,
  recordTargets,
  TopologyError,
  type Topology,
  type TopologyMember,
} from '../shared/topology';
import type { TopologyParameterNames } from '../shared/topology-parameters';
import { healthCheckStatuses } from '../shared/health-check-status';
import type { DrillInput } from './input';

export interface ControlPlanePreflightInput {
  /** Child health checks of the database records (and the sidecar): must be healthy. */
  readonly healthCheckIds: readonly string[];
  /** The check the drill inverts: must be neither inverted already nor disabled (held by on-call). */
  readonly invertHealthCheckId: string;
  readonly dns: { readonly hostedZoneId: string; readonly recordName: string };
  /** The database the drill opens, and the secret and port a topology member without its own takes. */
  readonly database: DrillInput['database'];
  /** State machines that must not be running (other drills, migrations), and this execution to ignore. */
  readonly exclusiveWith: readonly string[];
  readonly ownExecutionArn?: string;
  /** The topology's parameters: the drill drills the roles it names. */
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

/** A database the drill opens: the member's endpoint, port and secret, and the configured database. */
export type DrilledDatabase = DrillInput['database'] & { readonly host: string };

/** The roles a drill drills: the topology's writer and its replica, and what the record answers for each. */
export interface DrilledRoles {
  /** The topology generation they were read from. */
  readonly generation: number;
  readonly primary: DrilledDatabase;
  readonly replica: DrilledDatabase;
  /** What the record answers while the writer is healthy (PRIMARY), and once it fails over (SECONDARY). */
  readonly primaryTarget: string;
  readonly secondaryTarget: string;
}

const memberName = (m: TopologyMember) => `${m.instanceIdentifier} in ${m.region}`;

/**
 * The roles to drill, from the topology: its writer and that writer's replica, once SECONDARY answers the
 * replica (recordTargets; after a role change only once the topology sync has confirmed the probes watch the
 * new writer). Otherwise a drill would prove nothing (SECONDARY answering the writer itself) or have nothing
 * to fail over to: why, in one sentence.
 */
export async function rolesToDrill(
  deps: Pick<ControlPlaneClients, 'ssm'>,
  input: Pick<ControlPlanePreflightInput, 'topology' | 'database'>,
): Promise<{ readonly roles: DrilledRoles } | { readonly problem: string }> {
  let topology: Topology;
  let healthChecked: string;
  try {
    [topology, healthChecked] = await Promise.all([
      readTopology(deps.ssm, input.topology),
      readHealthCheckedWriter(deps.ssm, input.topology),
    ]);
  } catch (error) {
    if (error instanceof TopologyError) return { problem: `topology: ${error.message}` };
    throw error;
  }
  const { writer, replica } = topology;
  const when = `(topology generation ${topology.generation}, ${topology.changedBy})`;
  if (replica === null)
    return {
      problem:
        `DR is degraded: the writer ${memberName(writer)} has no cross-region replica ${when}, so a drill has ` +
        'nothing to fail over to. Re-protect it first (dr reprotect); the drill follows once its replica is recorded',
    };
  const records = recordTargets(topology, healthChecked);
  if (!sameHost(records.secondary, replica.endpoint))
    return {
      problem:
        `the writer ${memberName(writer)} is new ${when} and the topology sync has not yet confirmed that the ` +
        "health probes watch it (it does once they have for the alarms' window and it is healthy): until then " +
        'SECONDARY answers the writer, not its replica, and a drill would prove nothing. Try again later; if it ' +
        'lasts, see docs/runbooks.md, Topology sync failing',
    };
  const targets = probeTargets(topology, { port: input.database.port, secretId: input.database.secretId });
  const opened = (t: (typeof targets)['primary']): DrilledDatabase => ({
    ...input.database,
    host: t.host,
    port: t.port,
    secretId: t.secretId,
  });
  return {
    roles: {
      generation: topology.generation,
      primary: opened(targets.primary),
      replica: opened(targets.replica),
      primaryTarget: records.primary,
      secondaryTarget: records.secondary,
    },
  };
}

/**
 * The record's SECONDARY set must hold the replica before the drill inverts anything: Route 53 answers
 * PRIMARY while it is healthy, so only the stored set says where a failover would send clients.
 */
async function secondarySetProblem(
  deps: Pick<ControlPlaneClients, 'route53'>,
  dns: ControlPlanePreflightInput['dns'],
  replica: string,
): Promise<string | undefined> {
  const name = normalizeName(dns.recordName);
  const { ResourceRecordSets } = await deps.route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: dns.hostedZoneId,
      StartRecordName: name,
      StartRecordType: 'CNAME',
      MaxItems: 10,
    }),
  );
  const set = (ResourceRecordSets ?? []).find(
    (r) => r.Name !== undefined && normalizeName(r.Name) === name && r.Failover === 'SECONDARY',
  );
  const values = (set?.ResourceRecords ?? []).map((r) => normalizeName(r.Value ?? ''));
  if (values.length === 1 && values[0] === normalizeName(replica)) return undefined;
  return (
    `DNS: the SECONDARY set of ${dns.recordName} holds ${values.join(', ') || 'nothing'}, not the replica ${replica} ` +
    '(the topology sync points it there within a minute; if it lasts, see docs/runbooks.md, Topology sync failing)'
  );
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
): Promise<{ readonly problems: readonly string[]; readonly roles?: DrilledRoles }> {
  const problems: string[] = [];
  const zoneProblem = await hostedZoneProblem(deps.route53, input.dns.hostedZoneId);
  // Nothing else can be checked through TestDNSAnswer; say this one thing clearly.
  if (zoneProblem !== undefined) return { problems: [zoneProblem] };
  // No roles to drill: what DNS answers says nothing a drill can use; say why, and nothing misleading.
  const drilled = await rolesToDrill(deps, input);
  if ('problem' in drilled) return { problems: [drilled.problem] };
  const { roles } = drilled;

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
  if (!answer.includes(normalizeName(roles.primaryTarget))) {
    problems.push(
      answer.includes(normalizeName(roles.secondaryTarget))
        ? `DNS: ${input.dns.recordName} answers ${shown}, not the writer (a failover in progress, or a health check left inverted? run dr drill restore)`
        : `DNS: ${input.dns.recordName} answers ${shown}, neither the topology's writer ${roles.primaryTarget} nor its replica (a role change the record has not followed yet: the topology sync repoints a drill record within a minute; see dr status)`,
    );
  }

  const secondary = await secondarySetProblem(deps, input.dns, roles.secondaryTarget);
  if (secondary !== undefined) problems.push(secondary);

  const running = await runningExecutions(deps.sfn, input.exclusiveWith, input.ownExecutionArn);
  if (running.length > 0) problems.push(`running: ${describeRunning(running)}`);
  return { problems, roles };
}
