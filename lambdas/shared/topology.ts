/**
 * The topology: which database is the writer, which is its DR replica in the other region, and which former
 * writers are retired (fenced, never to serve writes again). It is the one source of truth every role change
 * updates (blue-green cutover, failover, switchover, failback) and everything else follows: the failover
 * records (through recordTargets, the topology sync and CloudFormation dynamic references), the health probes
 * (probeTargets, through the topology sync), the drill (its preflight reads the roles to drill), the DR
 * rebuild (read at run time), and `dr status`. docs/topology.md says why it is a record and not renamed
 * instances.
 *
 * It lives in SSM Parameter Store (topology-parameters.ts). This module reads it; topology-change.ts writes
 * it (kept apart, so a step that only reads may only read).
 */
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { TopologyParameterNames } from './topology-parameters';
import { parseTopology, TopologyError, type Topology } from './topology-schema';

export * from './topology-schema';

/** The current topology. */
export async function readTopology(
  ssm: Pick<SSMClient, 'send'>,
  names: TopologyParameterNames,
): Promise<Topology> {
  let value: string | undefined;
  try {
    value = (await ssm.send(new GetParameterCommand({ Name: names.document }))).Parameter?.Value;
  } catch (e) {
    if ((e as { name?: string }).name === 'ParameterNotFound')
      throw new TopologyError(
        'TopologyMissing',
        `${names.document}: no topology in this region; the failover DNS stack writes it when first deployed`,
        { cause: e },
      );
    throw e;
  }
  return parseTopology(value ?? '', names.document);
}

/**
 * The writer the health probes are known to watch, settled (topologyParameterNames.healthCheckedWriter): the
 * first deploy's primary, then whatever the topology sync confirmed. recordTargets lets SECONDARY answer the
 * replica only while the topology's writer is this one.
 */
export async function readHealthCheckedWriter(
  ssm: Pick<SSMClient, 'send'>,
  names: TopologyParameterNames,
): Promise<string> {
  try {
    const value = (await ssm.send(new GetParameterCommand({ Name: names.healthCheckedWriter }))).Parameter
      ?.Value;
    if (value !== undefined && value !== '') return value;
  } catch (e) {
    if ((e as { name?: string }).name !== 'ParameterNotFound') throw e;
    throw missingHealthCheckedWriter(names, e);
  }
  throw missingHealthCheckedWriter(names);
}

const missingHealthCheckedWriter = (names: TopologyParameterNames, cause?: unknown) =>
  new TopologyError(
    'TopologyMissing',
    `${names.healthCheckedWriter}: missing or empty; the failover DNS stack writes it when deployed (deploy it again)`,
    cause === undefined ? undefined : { cause },
  );
