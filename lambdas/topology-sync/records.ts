/**
 * The records' half of the topology sync: once the health probes have watched the topology's writer long enough
 * for their alarms to be about it alone, and Route 53 finds it healthy, the writer is confirmed as the
 * health-checked writer, and SECONDARY may answer its replica again (recordTargets). Then SECONDARY, and the
 * drill record pair, are made to answer what the rule says.
 *
 * What it never does: move PRIMARY of the production record (the workflows do, at the moment their sequence
 * allows: after the cutover's catch-up, once a promoted writer takes writes), or point SECONDARY at a replica
 * while a probe may still watch another writer (its verdict could send clients to the read-only copy).
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { DnsFlipError, flipRecord, type FlipTiming } from '../dns-flip/flip';
import { sameHost } from '../shared/dns-name';
import { healthCheckStatuses } from '../shared/health-check-status';
import { readHealthCheckedWriter, readTopology, recordTargets, type Topology } from '../shared/topology';
import type { TopologyParameterNames } from '../shared/topology-parameters';
import type { ProbeSyncResult } from './probes';

/** A failover record set the sync keeps on the topology: which role's target it answers. */
export interface FollowedRecord {
  readonly recordName: string;
  readonly setIdentifier: string;
  readonly follows: 'primary' | 'secondary';
}

export interface RecordSyncInput {
  /** The topology this run read (and synced the probes to). */
  readonly topology: Topology;
  readonly probes: readonly ProbeSyncResult[];
  /** How long every probe must have watched the writer before its alarms count as being about it. */
  readonly settleMs: number;
  /** The PRIMARY record's database health checks (the two observers): both healthy before confirming. */
  readonly writerHealthCheckIds: readonly string[];
  readonly hostedZoneId: string;
  /** The production SECONDARY set, and (when configured) the drill record's two sets. */
  readonly records: readonly FollowedRecord[];
}

export interface RecordSyncClients {
  readonly ssm: Pick<SSMClient, 'send'>;
  readonly route53: Pick<Route53Client, 'send'>;
  /** In us-east-1, where Route 53 publishes HealthCheckStatus. */
  readonly cloudwatch: Pick<CloudWatchClient, 'send'>;
  readonly flipTiming: FlipTiming;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface RecordSyncResult {
  /** The health-checked writer after this run. */
  readonly healthCheckedWriter: string;
  /** Why the writer is not (yet) confirmed, when it is not. */
  readonly waitingFor?: string;
  /** True when this run confirmed the writer. */
  readonly confirmed: boolean;
  /**
   * True when this run withdrew the confirmation: a primary probe was found watching something else (a deploy
   * wrote the first deploy's target back), so its verdict may be about a retired database.
   */
  readonly withdrawn: boolean;
  /** What the records answer by the rule. */
  readonly targets: { readonly primary: string; readonly secondary: string };
  /**
   * The parameters and record sets this run changed (from → to; `insync` false when Route 53 took the change
   * but had not applied it everywhere within the wait), and those it left because the topology moved meanwhile.
   */
  readonly changed: readonly RecordChange[];
  readonly skipped: readonly string[];
}

export interface RecordChange {
  readonly set: string;
  readonly from: string;
  readonly to: string;
  readonly insync: boolean;
}

/** What the health-checked writer holds while no writer is confirmed (it names no host). */
export const UNCONFIRMED = 'unconfirmed';

/** The primary probes this run found watching something other than the writer (and pointed back). */
const strayedPrimaryProbes = (probes: readonly ProbeSyncResult[]) =>
  probes.filter(
    (p) =>
      p.role !== 'replica' &&
      (p.outcome === 'updated' ||
        (p.outcome === 'busy' && p.previousHost !== undefined && !sameHost(p.previousHost, p.target.host))),
  );

/** Why the probes' verdict is not yet about the writer alone; undefined when it is. */
async function notYetHealthChecked(
  deps: RecordSyncClients,
  input: RecordSyncInput,
  now: number,
): Promise<string | undefined> {
  const unsettled = input.probes.filter(
    (p) =>
      p.outcome !== 'in-sync' || p.lastModifiedMs === undefined || now - p.lastModifiedMs < input.settleMs,
  );
  if (unsettled.length > 0)
    return `the ${unsettled.map((p) => p.role).join(', ')} probe(s) have not watched the topology for ${Math.round(input.settleMs / 1000)} s yet`;
  // Route 53's verdict counts only from a minute before the settle time ends: by then its alarms have been fed
  // by the current target alone (an older status may be about what the probes watched before).
  const lastChanged = Math.max(...input.probes.map((p) => p.lastModifiedMs ?? now));
  const statuses = await healthCheckStatuses(deps.cloudwatch, input.writerHealthCheckIds, {
    now,
    since: lastChanged + input.settleMs - 60_000,
  });
  const unhealthy = [...statuses].filter(([, status]) => status !== 'healthy');
  if (unhealthy.length > 0)
    return `health check(s) ${unhealthy.map(([id, status]) => `${id} (${status})`).join(', ')} not healthy`;
  return undefined;
}

const parameterValue = async (ssm: Pick<SSMClient, 'send'>, name: string) => {
  try {
    return (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
  } catch (e) {
    if ((e as { name?: string }).name === 'ParameterNotFound') return undefined;
    throw e;
  }
};

/** Whether the topology is still at the generation this run read (no role change landed since). */
const stillAt = async (deps: RecordSyncClients, names: TopologyParameterNames, generation: number) =>
  (await readTopology(deps.ssm, names)).generation === generation;

const put = (ssm: Pick<SSMClient, 'send'>, name: string, value: string) =>
  ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true }));

/**
 * Withdraws the confirmation when a primary probe was found watching something else, confirms the writer once
 * its probes settled and Route 53 finds it healthy, then keeps the record targets' parameters and the followed
 * record sets on what recordTargets says (writeTargets: re-reading the topology around each write).
 */
export async function syncRecords(
  deps: RecordSyncClients,
  names: TopologyParameterNames,
  input: RecordSyncInput,
): Promise<RecordSyncResult> {
  const now = (deps.now ?? Date.now)();
  const { topology } = input;
  const unchanged = () => stillAt(deps, names, topology.generation);
  let healthChecked = await readHealthCheckedWriter(deps.ssm, names);
  let confirmed = false;
  let withdrawn = false;
  let waitingFor: string | undefined;
  // A primary probe found watching something else (a deploy writes the first deploy's target back into its
  // environment) may be judging a retired database: SECONDARY answers the writer again until the probes settle.
  const strayed = strayedPrimaryProbes(input.probes);
  if (strayed.length > 0 && sameHost(healthChecked, topology.writer.endpoint) && (await unchanged())) {
    await put(deps.ssm, names.healthCheckedWriter, UNCONFIRMED);
    healthChecked = UNCONFIRMED;
    withdrawn = true;
  }
  if (!sameHost(healthChecked, topology.writer.endpoint)) {
    waitingFor = await notYetHealthChecked(deps, input, now);
    if (waitingFor === undefined && (await unchanged())) {
      await put(deps.ssm, names.healthCheckedWriter, topology.writer.endpoint);
      healthChecked = topology.writer.endpoint;
      confirmed = true;
    }
  }
  const targets = recordTargets(topology, healthChecked);
  const first = await writeTargets(deps, names, input, topology, targets);
  const changed = [...first.changed];
  const skipped = [...first.skipped];
  // A role change that landed between a check and a write may have been overwritten with a stale target:
  // write again at once what the rule says for the new roles (never confirming anything on the way).
  if (first.raced) {
    const fresh = await readTopology(deps.ssm, names);
    const again = await writeTargets(
      deps,
      names,
      input,
      fresh,
      recordTargets(fresh, await readHealthCheckedWriter(deps.ssm, names)),
    );
    changed.push(...again.changed);
    skipped.push(...again.skipped);
  }
  return {
    healthCheckedWriter: healthChecked,
    confirmed,
    withdrawn,
    ...(waitingFor === undefined ? {} : { waitingFor }),
    targets,
    changed,
    skipped,
  };
}

/**
 * Points one record set at its target, confirmed by reading the set back (never by what Route 53 answers: a
 * drill or an outage makes the PRIMARY check unhealthy, and the answer is then SECONDARY's). A change Route 53
 * took but had not applied everywhere within the wait is reported, not failed: the next run confirms it.
 */
async function followRecord(
  deps: RecordSyncClients,
  hostedZoneId: string,
  record: FollowedRecord,
  target: string,
  generation: number,
): Promise<RecordChange | undefined> {
  const flipDeps = {
    route53: deps.route53,
    ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
    ...(deps.now === undefined ? {} : { now: deps.now }),
  };
  try {
    const flipped = await flipRecord(flipDeps, deps.flipTiming, {
      hostedZoneId,
      recordName: record.recordName,
      recordType: 'CNAME',
      setIdentifier: record.setIdentifier,
      target,
      comment: `pg-dr topology sync: ${record.setIdentifier} follows the topology (generation ${generation})`,
      confirmBy: 'stored',
    });
    if (!flipped.changed) return undefined;
    const from = (flipped.previous.ResourceRecords ?? []).map((r) => r.Value).join(', ');
    return { set: record.setIdentifier, from, to: target, insync: true };
  } catch (error) {
    if (error instanceof DnsFlipError && error.name === 'DnsChangeNotInSync')
      return { set: record.setIdentifier, from: '(see the change)', to: target, insync: false };
    throw error;
  }
}

/**
 * Writes the record targets' parameters and the followed sets where they differ from `targets`, reading the
 * topology again before each write (a role change landed: left, `skipped`) and after it (`raced`: the write
 * may have undone the change's own).
 */
async function writeTargets(
  deps: RecordSyncClients,
  names: TopologyParameterNames,
  input: RecordSyncInput,
  topology: Topology,
  targets: { readonly primary: string; readonly secondary: string },
): Promise<{ changed: RecordChange[]; skipped: string[]; raced: boolean }> {
  const unchanged = () => stillAt(deps, names, topology.generation);
  const changed: RecordChange[] = [];
  const skipped: string[] = [];
  let raced = false;
  // The parameters a deploy resolves (dynamic references): the same rule as the records themselves.
  for (const [name, value] of [
    [names.primaryRecord, targets.primary],
    [names.secondaryRecord, targets.secondary],
  ] as const) {
    const current = await parameterValue(deps.ssm, name);
    if (current !== undefined && sameHost(current, value)) continue;
    if (raced || !(await unchanged())) {
      skipped.push(name);
      continue;
    }
    await put(deps.ssm, name, value);
    changed.push({ set: name, from: current ?? '(none)', to: value, insync: true });
    raced = !(await unchanged());
  }
  for (const record of input.records) {
    if (raced || !(await unchanged())) {
      skipped.push(record.setIdentifier);
      continue;
    }
    const change = await followRecord(
      deps,
      input.hostedZoneId,
      record,
      targets[record.follows],
      topology.generation,
    );
    if (change !== undefined) {
      changed.push(change);
      raced = !(await unchanged());
    }
  }
  return { changed, skipped, raced };
}
