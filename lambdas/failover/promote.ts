/**
 * Promoting the writer's cross-region replica, one round at a time (a workflow calls it until it says
 * `promoted`, waiting between rounds): RDS takes minutes, and refuses while the replica is backing up. A round
 * that finds the instance already standalone changes nothing, so a retried or resumed round is safe.
 */
import {
  DescribeDBInstancesCommand,
  PromoteReadReplicaCommand,
  type DBInstance,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { TERMINAL_DB_STATUSES } from '../shared/rds-status';
import { FailoverError } from './replication-position';

export interface PromotionRound {
  /** `promoted`: standalone and available. `promoting`: RDS is at it. `waiting`: RDS cannot start yet. */
  readonly state: 'promoting' | 'promoted' | 'waiting';
  /** What this round did. */
  readonly action: 'requested-promotion' | 'none';
  readonly status: string;
  readonly endpoint: string | null;
  readonly reason?: string;
}

/** Statuses a promotion cannot finish from: those RDS does not leave by itself, stopped and deleting. */
const STUCK: ReadonlySet<string> = new Set([...TERMINAL_DB_STATUSES, 'stopped', 'deleting']);

async function describe(rds: Pick<RDSClient, 'send'>, id: string): Promise<DBInstance> {
  try {
    const { DBInstances } = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    const found = DBInstances?.[0];
    if (found === undefined) throw new FailoverError('NotAReplica', `${id}: RDS returned no such instance`);
    return found;
  } catch (e) {
    if ((e as { name?: string }).name === 'DBInstanceNotFoundFault')
      throw new FailoverError('NotAReplica', `${id}: no such instance in this region`, { cause: e });
    throw e;
  }
}

export async function advancePromotion(
  rds: Pick<RDSClient, 'send'>,
  request: { readonly instanceIdentifier: string; readonly backupRetentionPeriod: number },
): Promise<PromotionRound> {
  const id = request.instanceIdentifier;
  const instance = await describe(rds, id);
  const status = instance.DBInstanceStatus ?? 'unknown';
  const endpoint = instance.Endpoint?.Address ?? null;
  const replica = instance.ReadReplicaSourceDBInstanceIdentifier !== undefined;
  if (STUCK.has(status))
    throw new FailoverError('PromotionFailed', `${id} is ${status}: RDS cannot promote it from there`);
  // Standalone and available, or taking the first backup RDS starts after a promotion (the replica had no
  // automated backups): it takes writes already, and that backup can run for hours on a large database.
  if (!replica)
    return status === 'available' || status === 'backing-up'
      ? { state: 'promoted', action: 'none', status, endpoint }
      : { state: 'promoting', action: 'none', status, endpoint };
  if (status === 'backing-up')
    return {
      state: 'waiting',
      action: 'none',
      status,
      endpoint,
      reason: 'RDS does not promote a replica while it is backing up',
    };
  if (status !== 'available') return { state: 'promoting', action: 'none', status, endpoint };
  try {
    await rds.send(
      new PromoteReadReplicaCommand({
        DBInstanceIdentifier: id,
        BackupRetentionPeriod: request.backupRetentionPeriod,
      }),
    );
  } catch (e) {
    // Another round (or a person) started it, or RDS began a backup meanwhile: the next round looks again.
    if ((e as { name?: string }).name === 'InvalidDBInstanceStateFault')
      return { state: 'waiting', action: 'none', status, endpoint, reason: (e as Error).message };
    throw e;
  }
  return { state: 'promoting', action: 'requested-promotion', status: 'modifying', endpoint };
}
