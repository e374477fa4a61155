/**
 * The failover's preflight: what the topology says, what is reachable, and what promoting the writer's replica
 * now would lose, measured on the servers. It changes nothing. The writer is asked with a short limit: when
 * its region is lost it does not answer, and the window is then bounded from the replica alone.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { ConnectOptions, DatabaseRef, ResolveDatabase } from '../shared/database';
import { withConnection } from '../shared/database';
import { readTopology, type Topology, type TopologyMember } from '../shared/topology';
import type { TopologyParameterNames } from '../shared/topology-parameters';
import {
  checkPromotable,
  dataLossWindow,
  FailoverError,
  replicaPosition,
  writerPosition,
  type DataLossWindow,
  type FailoverLimits,
  type WriterPosition,
} from './replication-position';

export interface FailoverAssessment {
  /** The topology the failover is planned from: its change names this generation. */
  readonly generation: number;
  readonly writer: TopologyMember;
  readonly replica: TopologyMember;
  /** Whether the writer answered, and as what (a writer that still takes writes must be retired first). */
  readonly writerReachable: boolean;
  readonly writerWritable: boolean;
  readonly writerProblem?: string;
  readonly window: DataLossWindow;
}

export interface AssessRequest {
  /** The master secret: it opens both (the replica is a physical copy of the writer). */
  readonly secretId: string;
  readonly database: string;
  readonly limits: FailoverLimits;
  /** Promote even past the limits, accepting the measured loss. */
  readonly force: boolean;
  readonly writerConnectTimeoutMs: number;
}

const ref = (request: AssessRequest, member: TopologyMember): DatabaseRef => ({
  secretId: request.secretId,
  host: member.endpoint,
  database: request.database,
});

export async function assessFailover(
  clients: { readonly ssm: Pick<SSMClient, 'send'>; readonly resolve: ResolveDatabase },
  names: TopologyParameterNames,
  request: AssessRequest,
): Promise<FailoverAssessment> {
  const topology: Topology = await readTopology(clients.ssm, names);
  const { replica } = topology;
  if (replica === null)
    throw new FailoverError(
      'NotAReplica',
      `the topology (generation ${topology.generation}) names no replica of ${topology.writer.instanceIdentifier}: ` +
        'there is nothing to promote (DR is degraded; re-protect first)',
    );
  const options = (connectTimeoutMs: number): ConnectOptions => ({
    connectTimeoutMs,
    statementTimeoutMs: 10_000,
    applicationName: 'pg-dr-failover',
  });
  let writer: WriterPosition | undefined;
  let writerProblem: string | undefined;
  try {
    writer = await withConnection(
      await clients.resolve(ref(request, topology.writer)),
      options(request.writerConnectTimeoutMs),
      writerPosition,
    );
  } catch (e) {
    writerProblem = `${topology.writer.endpoint} did not answer: ${(e as Error).message}`;
  }
  const position = await withConnection(
    await clients.resolve(ref(request, replica)),
    options(10_000),
    replicaPosition,
  );
  const window = dataLossWindow(writer?.writable === true ? writer : undefined, position);
  checkPromotable(position, window, request.limits, request.force);
  return {
    generation: topology.generation,
    writer: topology.writer,
    replica,
    writerReachable: writer !== undefined,
    writerWritable: writer?.writable === true,
    ...(writerProblem === undefined ? {} : { writerProblem }),
    window,
  };
}
