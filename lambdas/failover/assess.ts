/**
 * The failover's preflight: what the topology says, what is reachable, and what promoting the writer's replica
 * now would lose, measured on the servers. It changes nothing. The writer is asked with a short limit: when
 * its region is lost it does not answer, and the window is then bounded from the replica alone.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { ConnectOptions, DatabaseRef, ResolveDatabase } from '../shared/database';
import { withConnection } from '../shared/database';
import { describeRunning, runningExecutions } from '../shared/running-workflows';
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

/** A topology member with the secret that opens it settled (its own, or the master secret). */
export type OpenableMember = TopologyMember & { readonly secretId: string };

export interface FailoverAssessment {
  /** The topology the failover is planned from: its change names this generation. */
  readonly generation: number;
  readonly writer: OpenableMember;
  readonly replica: OpenableMember;
  /** Whether the writer answered, and as what (a writer that still takes writes must be retired first). */
  readonly writerReachable: boolean;
  readonly writerWritable: boolean;
  readonly writerProblem?: string;
  readonly window: DataLossWindow;
}

export interface AssessRequest {
  /** The secret that opens a member naming none of its own (the configured master secret). */
  readonly secretId: string;
  readonly database: string;
  readonly limits: FailoverLimits;
  /** Promote even past the limits, accepting the measured loss. */
  readonly force: boolean;
  readonly writerConnectTimeoutMs: number;
  /** Workflows that must not be running (drill, migration, the other role changes), and this execution. */
  readonly exclusiveWith: readonly string[];
  readonly ownExecutionArn: string;
}

export const openable = (member: TopologyMember, secretId: string): OpenableMember => ({
  ...member,
  secretId: member.secretId ?? secretId,
});

/** How a step reaches a member: its endpoint and port, with its secret. */
export const memberRef = (member: OpenableMember, database: string): DatabaseRef => ({
  secretId: member.secretId,
  host: member.endpoint,
  ...(member.port === undefined ? {} : { port: member.port }),
  database,
});

export async function assessFailover(
  clients: {
    readonly ssm: Pick<SSMClient, 'send'>;
    readonly sfn: Pick<SFNClient, 'send'>;
    readonly resolve: ResolveDatabase;
  },
  names: TopologyParameterNames,
  request: AssessRequest,
): Promise<FailoverAssessment> {
  const running = await runningExecutions(clients.sfn, request.exclusiveWith, request.ownExecutionArn);
  if (running.length > 0)
    throw new FailoverError(
      'WorkflowRunning',
      `running: ${describeRunning(running)}; a role change must not race it: let it end, or stop it and ` +
        'let its safety net finish, then start again',
    );
  const topology: Topology = await readTopology(clients.ssm, names);
  if (topology.replica === null)
    throw new FailoverError(
      'NotAReplica',
      `the topology (generation ${topology.generation}) names no replica of ${topology.writer.instanceIdentifier}: ` +
        'there is nothing to promote (DR is degraded; re-protect first)',
    );
  const writerMember = openable(topology.writer, request.secretId);
  const replica = openable(topology.replica, request.secretId);
  const options = (connectTimeoutMs: number): ConnectOptions => ({
    connectTimeoutMs,
    statementTimeoutMs: 10_000,
    applicationName: 'pg-dr-failover',
  });
  let writer: WriterPosition | undefined;
  let writerProblem: string | undefined;
  try {
    writer = await withConnection(
      await clients.resolve(memberRef(writerMember, request.database)),
      options(request.writerConnectTimeoutMs),
      writerPosition,
    );
  } catch (e) {
    writerProblem = `${topology.writer.endpoint} did not answer: ${(e as Error).message}`;
  }
  const position = await withConnection(
    await clients.resolve(memberRef(replica, request.database)),
    options(10_000),
    replicaPosition,
  );
  const window = dataLossWindow(writer?.writable === true ? writer : undefined, position);
  checkPromotable(position, window, request.limits, request.force);
  return {
    generation: topology.generation,
    writer: writerMember,
    replica,
    writerReachable: writer !== undefined,
    writerWritable: writer?.writable === true,
    ...(writerProblem === undefined ? {} : { writerProblem }),
    window,
  };
}
