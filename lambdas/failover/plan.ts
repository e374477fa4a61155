/**
 * The failover's plan (the control plane, outside the VPC; it changes nothing): refuses while another
 * role-changing workflow or the drill runs, and reads the topology: the writer, the replica to promote, and
 * the generation the change will name. The servers are measured by measure.ts, in the VPC.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { describeRunning, runningExecutions } from '../shared/running-workflows';
import { readTopology } from '../shared/topology';
import type { TopologyParameterNames } from '../shared/topology-parameters';
import { openable, type OpenableMember } from './member';
import { FailoverError } from './replication-position';

/**
 * What the execution asked: approved already (`dr failover --promote`, `dr switchover`), promote past the
 * limits (`--force`), and planned (`dr switchover`: the writer must answer, and the replica replays its last
 * write before it is promoted, so nothing is lost).
 */
export interface FailoverRequest {
  readonly approved: boolean;
  readonly force: boolean;
  readonly planned: boolean;
}

export interface FailoverPlan {
  /** The topology the failover is planned from: its change names this generation. */
  readonly generation: number;
  readonly writer: OpenableMember;
  readonly replica: OpenableMember;
  readonly request: FailoverRequest;
}

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
