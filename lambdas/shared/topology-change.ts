/**
 * Changing the topology (topology.ts). Parameter Store has no conditional write, so a change names the
 * generation it was planned from and is refused if the topology moved since. That check and the write are
 * two calls: two changes racing between them both write, and the last one wins (docs/topology.md, Known
 * limits). The workflows that change roles do not yet refuse to run beside one another.
 */
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import {
  describeIssues,
  readHealthCheckedWriter,
  readTopology,
  recordTargets,
  TopologyError,
  topologySchema,
  type Topology,
} from './topology';
import type { TopologyParameterNames } from './topology-parameters';

export interface TopologyChange {
  /** The generation the change was planned from: it is refused if the topology has moved since. */
  readonly expectedGeneration: number;
  /** What makes the change (the workflow and its execution): a retried change is recognised by it. */
  readonly changedBy: string;
  readonly now: Date;
  /** The new roles, from the current topology. */
  readonly next: (current: Topology) => Pick<Topology, 'writer' | 'replica' | 'retired'>;
}

/**
 * Writes a change: the document first (the source of truth), then the records' parameters derived from it.
 * A change already written by the same `changedBy` (a retried step) is not written twice; the records'
 * parameters are written again, in case the first attempt stopped between the two.
 */
export async function changeTopology(
  ssm: Pick<SSMClient, 'send'>,
  names: TopologyParameterNames,
  change: TopologyChange,
): Promise<{
  readonly topology: Topology;
  readonly written: boolean;
  /** What the failover records answer now (written to their parameters). */
  readonly records: ReturnType<typeof recordTargets>;
}> {
  const current = await readTopology(ssm, names);
  // The writer the probes are known to watch (kept by the topology sync): SECONDARY answers the replica only
  // while the writer is that one, so a changed writer makes both records answer it until the probes follow.
  const healthCheckedWriter = await readHealthCheckedWriter(ssm, names);
  if (current.generation === change.expectedGeneration + 1 && current.changedBy === change.changedBy) {
    const records = recordTargets(current, healthCheckedWriter);
    await writeRecordTargets(ssm, names, records);
    return { topology: current, written: false, records };
  }
  if (current.generation !== change.expectedGeneration)
    throw new TopologyChanged(names.document, change.expectedGeneration, current);
  const candidate = {
    ...change.next(current),
    generation: current.generation + 1,
    changedAt: change.now.toISOString(),
    changedBy: change.changedBy,
  };
  const parsed = topologySchema.safeParse(candidate);
  if (!parsed.success)
    throw new TopologyError(
      'TopologyInvalid',
      `${names.document}: the change would leave an invalid topology: ${describeIssues(parsed.error)}`,
      { cause: parsed.error },
    );
  await ssm.send(
    new PutParameterCommand({
      Name: names.document,
      Value: JSON.stringify(parsed.data),
      Type: 'String',
      Overwrite: true,
    }),
  );
  const records = recordTargets(parsed.data, healthCheckedWriter);
  await writeRecordTargets(ssm, names, records);
  return { topology: parsed.data, written: true, records };
}

class TopologyChanged extends TopologyError {
  constructor(parameter: string, expected: number, current: Topology) {
    super(
      'TopologyChanged',
      `${parameter}: planned from generation ${expected}, but it is at generation ${current.generation} ` +
        `(${current.changedBy}); read it again (dr status) and decide anew`,
    );
  }
}

export async function writeRecordTargets(
  ssm: Pick<SSMClient, 'send'>,
  names: TopologyParameterNames,
  targets: ReturnType<typeof recordTargets>,
) {
  for (const [name, value] of [
    [names.primaryRecord, targets.primary],
    [names.secondaryRecord, targets.secondary],
  ] as const)
    await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true }));
}
