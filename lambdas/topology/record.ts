/**
 * The roles a workflow has just changed, written into the topology (lambdas/shared/topology.ts):
 * - `cutover`: green took over from blue in the writer's region. The writer's replica followed blue, so the
 *   topology has no replica (DR degraded) until the DR rebuild records green's.
 * - `replica`: the DR rebuild made a cross-region replica of the writer.
 * - `failover`: the writer's replica was promoted: it is the writer, with no replica until re-protect, and
 *   the former writer is retired (nothing may send it writes again). Planned from a generation (the
 *   failover's preflight read it), so a topology that moved since is never overwritten. An adoption
 *   (`dr failover --adopt`) makes the restored instance the writer instead; the former replica, which follows
 *   the retired writer, leaves the topology.
 * Each first checks the topology still names the roles the workflow was planned for, so a stale execution
 * cannot overwrite a later change; a retried step (same `changedBy`) writes nothing twice.
 */
import { adoptionOrNull } from '../failover/adoption';
import { sameHost } from '../shared/dns-name';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { awsRegion, hostName, rdsInstanceIdentifier } from '../shared/schemas';
import { readTopology, topologyMember, TopologyError, type Topology } from '../shared/topology';
import { changeTopology, type TopologyChange } from '../shared/topology-change';
import type { TopologyParameterNames } from '../shared/topology-parameters';

const changedBy = z.string().min(1).max(300);
const instance = z.strictObject({ instanceIdentifier: rdsInstanceIdentifier, endpoint: hostName });

export const topologyEventSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('cutover'),
    /** Blue's endpoint: the writer the migration was planned for. */
    from: hostName,
    /** Green, the new writer, and the secret that opens it (the migration's green secret). */
    to: instance.extend({ secretId: topologyMember.shape.secretId.unwrap() }),
    changedBy,
  }),
  z.strictObject({
    mode: z.literal('failover'),
    /** The generation the failover's preflight assessed. */
    expectedGeneration: z.int().min(1).max(1_000_000),
    /** The restored instance the failover adopted (its plan's), or null: the replica was promoted. */
    adopt: adoptionOrNull,
    changedBy,
  }),
  z.strictObject({
    mode: z.literal('replica'),
    /** The writer the replica follows (the topology's writer: green after a cutover, a promoted replica after a failover). */
    writer: rdsInstanceIdentifier,
    /** Its port (RDS `Endpoint.Port`); null or absent: the writer's. */
    replica: instance.extend({
      region: awsRegion,
      port: topologyMember.shape.port.unwrap().nullable().optional(),
    }),
    changedBy,
  }),
]);
export type TopologyEvent = z.infer<typeof topologyEventSchema>;

export interface TopologyRecorded {
  readonly generation: number;
  /** False when a retried step found its change already written. */
  readonly written: boolean;
  readonly writer: string;
  readonly replica: string | null;
  /** What the PRIMARY and SECONDARY failover records answer now (recordTargets). */
  readonly records: { readonly primary: string; readonly secondary: string };
}

export async function recordRoles(
  ssm: Pick<SSMClient, 'send'>,
  names: TopologyParameterNames,
  event: TopologyEvent,
  now: Date,
): Promise<TopologyRecorded> {
  if (event.mode === 'failover') return recordFailover(ssm, names, event, now);
  const current = await readTopology(ssm, names);
  const retried = current.changedBy === event.changedBy;
  const planned =
    event.mode === 'cutover'
      ? sameHost(current.writer.endpoint, event.from)
      : current.writer.instanceIdentifier === event.writer;
  if (!retried && !planned)
    throw new TopologyError(
      'TopologyChanged',
      `${names.document}: the writer is ${current.writer.instanceIdentifier} (${current.writer.endpoint}; ` +
        `generation ${current.generation}, ${current.changedBy}), not ` +
        `${event.mode === 'cutover' ? event.from : event.writer} as this ` +
        `${event.mode === 'cutover' ? 'cutover' : 'DR rebuild'} was planned for; nothing was recorded`,
    );
  // Two rebuilds racing (a migration's and a re-protect) each built a replica: the first recorded keeps it.
  const other = current.replica;
  if (
    !retried &&
    event.mode === 'replica' &&
    other !== null &&
    other.instanceIdentifier !== event.replica.instanceIdentifier
  )
    throw new TopologyError(
      'TopologyChanged',
      `${names.document}: the writer ${current.writer.instanceIdentifier} already has a replica, ` +
        `${other.instanceIdentifier} in ${other.region} (generation ${current.generation}, ${current.changedBy}); ` +
        `${event.replica.instanceIdentifier} was not recorded: delete it if nothing else needs it`,
    );
  const change: TopologyChange = {
    expectedGeneration: retried ? current.generation - 1 : current.generation,
    changedBy: event.changedBy,
    now,
    next: (t: Topology) =>
      event.mode === 'cutover'
        ? {
            writer: { region: t.writer.region, ...event.to },
            replica: null,
            retired: t.retired,
          }
        : {
            writer: t.writer,
            // A physical replica: the writer's credentials open it, on its own port (else the writer's).
            replica: replicaMember(event.replica, t.writer),
            retired: t.retired,
          },
  };
  return recorded(await changeTopology(ssm, names, change));
}

function replicaMember(
  replica: Extract<TopologyEvent, { mode: 'replica' }>['replica'],
  writer: Topology['writer'],
): Topology['writer'] {
  const { port, ...where } = replica;
  const chosen = port ?? writer.port;
  return {
    ...where,
    ...(writer.secretId === undefined ? {} : { secretId: writer.secretId }),
    ...(chosen === undefined ? {} : { port: chosen }),
  };
}

/** Retired writers kept in the topology: the most recent ones (a document is at most 4 KB). */
const KEEP_RETIRED = 10;

async function recordFailover(
  ssm: Pick<SSMClient, 'send'>,
  names: TopologyParameterNames,
  event: Extract<TopologyEvent, { mode: 'failover' }>,
  now: Date,
): Promise<TopologyRecorded> {
  const change = await changeTopology(ssm, names, {
    expectedGeneration: event.expectedGeneration,
    changedBy: event.changedBy,
    now,
    next: (t) => {
      const retired = [...t.retired, t.writer].slice(-KEEP_RETIRED);
      if (event.adopt !== null) return { writer: event.adopt.member, replica: null, retired };
      if (t.replica === null)
        throw new TopologyError(
          'TopologyInvalid',
          `${names.document}: generation ${t.generation} names no replica to take over from ${t.writer.instanceIdentifier}`,
        );
      return { writer: t.replica, replica: null, retired };
    },
  });
  return recorded(change);
}

function recorded({
  topology,
  written,
  records,
}: Awaited<ReturnType<typeof changeTopology>>): TopologyRecorded {
  return {
    generation: topology.generation,
    written,
    writer: topology.writer.endpoint,
    replica: topology.replica?.endpoint ?? null,
    records,
  };
}
