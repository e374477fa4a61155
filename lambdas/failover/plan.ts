/**
 * The failover's plan (the control plane, outside the VPC; it changes nothing): refuses while another
 * role-changing workflow or the drill runs, and reads the topology: the writer, the replica to promote (or the
 * restored instance to adopt), and the generation the change will name. The servers are measured by
 * measure.ts, in the VPC.
 */
import type { RDSClient } from '@aws-sdk/client-rds';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { describeRunning, runningExecutions } from '../shared/running-workflows';
import { readTopology } from '../shared/topology';
import type { TopologyParameterNames } from '../shared/topology-parameters';
import { planAdoption } from './adopt';
import type { Adoption } from './adoption';
import { openable, type OpenableMember } from './member';
import { FailoverError } from './replication-position';

/**
 * What the execution asked: approved already (`dr failover --promote`, `dr switchover`), promote past the
 * limits (`--force`), planned (`dr switchover`: the writer must answer, and the replica replays its last
 * write before it is promoted, so nothing is lost), and the restored instance to adopt instead of the replica
 * (`dr failover --adopt`).
 */
export interface FailoverRequest {
  readonly approved: boolean;
  readonly force: boolean;
  readonly planned: boolean;
  readonly adopt?: { readonly instanceIdentifier: string };
}

export interface FailoverPlan {
  /** The topology the failover is planned from: its change names this generation. */
  readonly generation: number;
  readonly writer: OpenableMember;
  /**
   * The instance that becomes the writer: the writer's replica, or the restored instance being adopted (the
   * steps treat both alike: a promotion round finds a restored instance standalone already).
   */
  readonly replica: OpenableMember;
  /** The adoption of a restored instance, or null: the replica is promoted. */
  readonly adopt: Adoption | null;
  /** What the failover changes, in one line (its notifications say it). */
  readonly summary: string;
  readonly request: FailoverRequest;
}

export async function planFailover(
  clients: {
    readonly ssm: Pick<SSMClient, 'send'>;
    readonly sfn: Pick<SFNClient, 'send'>;
    /** RDS in a region (only an adoption asks it: where the restored instance is). */
    readonly rdsIn: (region: string) => Pick<RDSClient, 'send'>;
  },
  names: TopologyParameterNames,
  request: {
    /** The secret that opens a member naming none of its own (the configured master secret). */
    readonly secretId: string;
    /** Workflows that must not be running (drill, migration, the other role changes), and this execution. */
    readonly exclusiveWith: readonly string[];
    readonly ownExecutionArn: string;
    readonly request: FailoverRequest;
    /** The app's two regions: a restored instance is adopted only from one of them. */
    readonly regions: readonly string[];
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
  const writer = openable(topology.writer, request.secretId);
  if (request.request.adopt !== undefined) {
    const adopt = await planAdoption(
      clients.rdsIn,
      request.regions,
      topology,
      request.request.adopt.instanceIdentifier,
    );
    const { member } = adopt;
    return {
      generation: topology.generation,
      writer,
      replica: openable(member, request.secretId),
      adopt,
      summary:
        `adopt ${member.instanceIdentifier} in ${member.region} (restored from ${adopt.restoredFrom}, restore ` +
        `point ${adopt.restorePoint}) as the writer; ${topology.writer.instanceIdentifier} is retired` +
        (adopt.formerReplica === null ? '' : `, and its replica ${adopt.formerReplica} leaves the topology`),
      request: request.request,
    };
  }
  if (topology.replica === null)
    throw new FailoverError(
      'NotAReplica',
      `the topology (generation ${topology.generation}) names no replica of ${topology.writer.instanceIdentifier}: ` +
        'there is nothing to promote (DR is degraded; re-protect first)',
    );
  const { replica } = topology;
  return {
    generation: topology.generation,
    writer,
    replica: openable(replica, request.secretId),
    adopt: null,
    summary:
      `promote ${replica.instanceIdentifier} in ${replica.region}, the replica of ` +
      `${topology.writer.instanceIdentifier}, to the writer; ${topology.writer.instanceIdentifier} is retired`,
    request: request.request,
  };
}
