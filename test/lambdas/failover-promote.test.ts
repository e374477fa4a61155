import { RDSClient } from '@aws-sdk/client-rds';
import { advancePromotion } from '../../lambdas/failover/promote';
import { RdsSimulator } from '../../lib/local-aws/rds';
import { LocalAws } from '../../lib/local-aws/world';

const ACCOUNT = '111122223333';

/** RDS (simulated, following its catalogue) with the writer in us-west-2 and its replica in us-east-1. */
function rdsWorld() {
  const clock = { t: 1_000_000 };
  const rds = new RdsSimulator(
    ACCOUNT,
    { createMs: 0, modifyMs: 0, rebootMs: 0, promoteMs: 300_000 },
    { now: () => clock.t },
  );
  rds.addInstance({ id: 'pg-dr-primary', region: 'us-west-2' });
  const replica = rds.addInstance({
    id: 'pg-dr-replica',
    region: 'us-east-1',
    source: `arn:aws:rds:us-west-2:${ACCOUNT}:db:pg-dr-primary`,
    backupRetentionPeriod: 0,
  });
  const aws = new LocalAws({ account: ACCOUNT, simulators: [rds] });
  return { rds, replica, clock, aws, client: new RDSClient({ region: 'us-east-1' }) };
}

describe('promoting the replica, one round at a time', () => {
  it('requests the promotion once, then waits until the instance is a standalone writer', async () => {
    const w = rdsWorld();
    const undo = w.aws.install();
    try {
      const request = { instanceIdentifier: 'pg-dr-replica', backupRetentionPeriod: 7 };
      expect(await advancePromotion(w.client, request)).toMatchObject({
        state: 'promoting',
        action: 'requested-promotion',
      });
      expect(await advancePromotion(w.client, request)).toMatchObject({
        state: 'promoting',
        action: 'none',
        status: 'modifying',
      });
      w.clock.t += 300_000;
      expect(await advancePromotion(w.client, request)).toMatchObject({
        state: 'promoted',
        action: 'none',
        endpoint: w.replica.endpoint,
      });
      expect(w.rds.instance('us-east-1', 'pg-dr-replica')?.backupRetentionPeriod).toBe(7);
      expect(w.aws.calls.filter((c) => c.operation === 'PromoteReadReplica')).toHaveLength(1);
      // RDS takes the first backup of the promoted instance: it takes writes already, so it is promoted.
      Object.assign(w.replica, { status: 'backing-up', busyUntil: Number.MAX_SAFE_INTEGER });
      expect(await advancePromotion(w.client, request)).toMatchObject({
        state: 'promoted',
        status: 'backing-up',
      });
      expect(w.aws.calls.filter((c) => c.operation === 'PromoteReadReplica')).toHaveLength(1);
    } finally {
      undo();
    }
  });

  it('waits while the replica backs up (RDS refuses then), and fails on a status it cannot leave', async () => {
    const w = rdsWorld();
    const undo = w.aws.install();
    try {
      const request = { instanceIdentifier: 'pg-dr-replica', backupRetentionPeriod: 7 };
      w.replica.status = 'backing-up';
      w.replica.busyUntil = Number.MAX_SAFE_INTEGER;
      expect(await advancePromotion(w.client, request)).toMatchObject({
        state: 'waiting',
        reason: 'RDS does not promote a replica while it is backing up',
      });
      expect(w.aws.calls.filter((c) => c.operation === 'PromoteReadReplica')).toEqual([]);
      w.replica.status = 'storage-full';
      await expect(advancePromotion(w.client, request)).rejects.toMatchObject({
        name: 'PromotionFailed',
        message: 'pg-dr-replica is storage-full: RDS cannot promote it from there',
      });
      await expect(
        advancePromotion(w.client, { instanceIdentifier: 'nope', backupRetentionPeriod: 7 }),
      ).rejects.toMatchObject({ name: 'NotAReplica', message: 'nope: no such instance in this region' });
    } finally {
      undo();
    }
  });
});
