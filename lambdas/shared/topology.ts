/**
 * The topology: which database is the writer, which is its DR replica in the other region, and which former
 * writers are retired (fenced, never to serve writes again). It is the one source of truth every role change
 * updates (blue-green cutover, failover, switchover, failback) and everything else follows: the failover
 * records (through recordTargets and CloudFormation dynamic references), the health probes (probeTargets, through
 * the probe sync), the drill's preflight and the DR rebuild (read at run time), and `dr status`. docs/topology.md says why it is a record and not renamed instances.
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
