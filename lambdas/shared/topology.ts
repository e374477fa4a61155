/**
 * The topology: which database is the writer, which is its DR replica in the other region, and which former
 * writers are retired (fenced, never to serve writes again). It is the one source of truth every role change
 * updates (blue-green cutover, failover, switchover, failback) and everything else follows: the failover
 * records (through recordTargets and CloudFormation dynamic references), the probes and the drill (read at
 * run time), and `dr status`. docs/topology.md says why it is a record and not renamed instances.
 *
 * It lives in SSM Parameter Store (topology-parameters.ts). Parameter Store has no conditional write, so a
 * change names the generation it was planned from and is refused if the topology moved since; the workflows
 * that change roles also refuse to run beside one another, which is what keeps two writers apart.
 */
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { RoutableError } from './routable-error';
import { awsRegion, hostName, rdsInstanceIdentifier } from './schemas';
import type { TopologyParameterNames } from './topology-parameters';

export const topologyMember = z.strictObject({
  region: awsRegion,
  instanceIdentifier: rdsInstanceIdentifier,
  /** The instance's endpoint host name: what the records answer when it serves. */
  endpoint: hostName,
});
export type TopologyMember = z.infer<typeof topologyMember>;

/** A change is refused when it would retire more than this many instances in one document. */
const MAX_RETIRED = 20;

export const topologySchema = z
  .strictObject({
    /** Counts every change from 1 (the first deploy); a change names the generation it was planned from. */
    generation: z.int().min(1).max(1_000_000),
    writer: topologyMember,
    /** The writer's cross-region read replica, or null while DR is degraded (after a failover, before re-protect). */
    replica: topologyMember.nullable(),
    /** Former writers, fenced: nothing may send them writes again, whatever their health checks say. */
    retired: z.array(topologyMember).max(MAX_RETIRED),
    /** When the change was written (absent for the first deploy's record, which CloudFormation writes). */
    changedAt: z.iso.datetime().optional(),
    /** What wrote it: `first deploy`, or the workflow and its execution. */
    changedBy: z.string().min(1).max(300),
  })
  .superRefine((t, ctx) => {
    if (t.replica !== null && t.replica.region === t.writer.region)
      ctx.addIssue({
        code: 'custom',
        path: ['replica', 'region'],
        message: `must differ from writer.region (${t.writer.region}): the DR replica is in the other region`,
      });
    const members = [
      ['writer', t.writer],
      ...(t.replica === null ? [] : [['replica', t.replica] as const]),
      ...t.retired.map((m, i) => [`retired.${i}`, m] as const),
    ] as const;
    const seen = new Map<string, string>();
    for (const [where, m] of members) {
      const keys = [`${m.region}/${m.instanceIdentifier}`, m.endpoint.toLowerCase()];
      const clash = keys.find((key) => seen.has(key));
      if (clash !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: where.split('.'),
          message: `names the same instance as ${seen.get(clash) ?? ''} (${clash})`,
        });
      for (const key of keys) if (!seen.has(key)) seen.set(key, where);
    }
  });
export type Topology = z.infer<typeof topologySchema>;

/** What the failover records answer: the writer, and its replica (the writer itself while there is none). */
export function recordTargets(topology: Topology): { primary: string; secondary: string } {
  return { primary: topology.writer.endpoint, secondary: (topology.replica ?? topology.writer).endpoint };
}

export type TopologyErrorName = 'TopologyMissing' | 'TopologyInvalid' | 'TopologyChanged';

export class TopologyError extends RoutableError<TopologyErrorName> {}

const describeIssues = (error: z.ZodError) =>
  error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ');

/** Parses a topology document (the parameter's text); a refusal names every field that is wrong. */
export function parseTopology(text: string, where: string): Topology {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TopologyError('TopologyInvalid', `${where}: not a JSON document`, { cause: e });
  }
  const parsed = topologySchema.safeParse(json);
  if (!parsed.success)
    throw new TopologyError('TopologyInvalid', `${where}: ${describeIssues(parsed.error)}`, {
      cause: parsed.error,
    });
  return parsed.data;
}

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
): Promise<{ readonly topology: Topology; readonly written: boolean }> {
  const current = await readTopology(ssm, names);
  if (current.generation === change.expectedGeneration + 1 && current.changedBy === change.changedBy) {
    await writeRecordTargets(ssm, names, current);
    return { topology: current, written: false };
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
  await writeRecordTargets(ssm, names, parsed.data);
  return { topology: parsed.data, written: true };
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

async function writeRecordTargets(
  ssm: Pick<SSMClient, 'send'>,
  names: TopologyParameterNames,
  topology: Topology,
) {
  const targets = recordTargets(topology);
  for (const [name, value] of [
    [names.primaryRecord, targets.primary],
    [names.secondaryRecord, targets.secondary],
  ] as const)
    await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true }));
}
