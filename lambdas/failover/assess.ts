/**
 * The failover's preflight, in two parts that change nothing:
 * - `planFailover` (the control plane, outside the VPC): refuses while another role-changing workflow or the
 *   drill runs, and reads the topology: the writer, the replica to promote, and the generation the change
 *   will name;
 * - `measureFailover` (in the VPC): what is reachable, and what promoting the replica now would lose,
 *   measured on the servers. The writer is asked with a short limit: when its region is lost it does not
 *   answer, and the window is then bounded from the replica alone.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { ConnectOptions, DatabaseRef, ResolveDatabase } from '../shared/database';
import { withConnection } from '../shared/database';
import { describeRunning, runningExecutions } from '../shared/running-workflows';
import { readTopology, type TopologyMember } from '../shared/topology';
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

/** What the execution asked: approved already (`dr failover --promote`), promote past the limits (`--force`). */
export interface FailoverRequest {
  readonly approved: boolean;
  readonly force: boolean;
}

export interface FailoverPlan {
  /** The topology the failover is planned from: its change names this generation. */
  readonly generation: number;
  readonly writer: OpenableMember;
  readonly replica: OpenableMember;
  readonly request: FailoverRequest;
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

export async function planFailover(
  clients: { readonly ssm: Pick<SSMClient, 'send'>; readonly sfn: Pick<SFNClient, 'send'> },
  names: TopologyParameterNames,
  request: {
    /** The secret that opens a member naming none of its own (the configured master secret). */
    readonly secretId: string;
    /** Workflows that must not be running (drill, migration, the other role changes), and this execution. */
    readonly exclusiveWith: readonly string[];
    readonly ownExecutionArn: string;
    readonly request: FailoverRequest;
  },
): Promise<FailoverPlan> {
  const running = await runningExecutions(clients.sfn, request.exclusiveWith, request.ownExecutionArn);
  if (running.length > 0)
    throw new FailoverError(
      'WorkflowRunning',
      `running: ${describeRunning(running)}; a role change must not race it: let it end, or stop it and ` +
        'let its safety net finish, then start again',
    );
  const topology = await readTopology(clients.ssm, names);
  if (topology.replica === null)
    throw new FailoverError(
      'NotAReplica',
      `the topology (generation ${topology.generation}) names no replica of ${topology.writer.instanceIdentifier}: ` +
        'there is nothing to promote (DR is degraded; re-protect first)',
    );
  return {
    generation: topology.generation,
    writer: openable(topology.writer, request.secretId),
    replica: openable(topology.replica, request.secretId),
    request: request.request,
  };
}

export interface FailoverMeasurement {
  /** Whether the writer answered, and as what (a writer that still takes writes must be retired first). */
  readonly writerReachable: boolean;
  readonly writerWritable: boolean;
  readonly writerProblem?: string;
  readonly window: DataLossWindow;
}

export async function measureFailover(
  resolve: ResolveDatabase,
  plan: Pick<FailoverPlan, 'writer' | 'replica'>,
  request: {
    readonly database: string;
    readonly limits: FailoverLimits;
    /** Promote even past the limits, accepting the measured loss. */
    readonly force: boolean;
    readonly writerConnectTimeoutMs: number;
  },
): Promise<FailoverMeasurement> {
  const options = (connectTimeoutMs: number): ConnectOptions => ({
    connectTimeoutMs,
    statementTimeoutMs: 10_000,
    applicationName: 'pg-dr-failover',
  });
  let writer: WriterPosition | undefined;
  let writerProblem: string | undefined;
  try {
    writer = await withConnection(
      await resolve(memberRef(plan.writer, request.database)),
      options(request.writerConnectTimeoutMs),
      writerPosition,
    );
  } catch (e) {
    writerProblem = `${plan.writer.endpoint} did not answer: ${(e as Error).message}`;
  }
  const position = await withConnection(
    await resolve(memberRef(plan.replica, request.database)),
    options(10_000),
    replicaPosition,
  );
  const window = dataLossWindow(writer?.writable === true ? writer : undefined, position);
  checkPromotable(position, window, request.limits, request.force);
  return {
    writerReachable: writer !== undefined,
    writerWritable: writer?.writable === true,
    ...(writerProblem === undefined ? {} : { writerProblem }),
    window,
  };
}
