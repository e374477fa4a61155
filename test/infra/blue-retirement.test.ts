import type { CallSite } from '../../lib/local-aws/catalogue/types';
import { testWorld } from '../support/world';

/**
 * Blue's retirement may delete, stop or modify only what green provisioning or the DR rebuild made, and snapshot
 * only under blue's name: decided by the IAM evaluator over the synthesized roles (not by reading the policy).
 */
describe('blue retirement IAM (evaluated over the synthesized roles)', () => {
  const world = testWorld();
  afterAll(() => {
    world.close();
  });
  const ACCOUNT = '111122223333';
  const west: CallSite = { region: 'us-west-2', account: ACCOUNT, partition: 'aws' };
  const east: CallSite = { ...west, region: 'us-east-1' };
  const step = world.iam.principal('pg-dr-orchestration', 'BlueGreenStepsretirementInstance');
  const endWayBack = world.iam.principal('pg-dr-orchestration', 'BlueGreenStepsendWayBack');
  const db = (region: string, name: string) => `arn:aws:rds:${region}:${ACCOUNT}:db:${name}`;
  const snapshot = (name: string) => `arn:aws:rds:us-west-2:${ACCOUNT}:snapshot:${name}`;
  const PROVISIONED = { 'aws:ResourceTag/pg-dr:provisioned-by': 'pg-dr' };
  const REPLICA = { 'aws:ResourceTag/pg-dr:role': 'dr-replica' };
  const allows = (
    action: string,
    resources: string[],
    context: Record<string, string | string[]>,
    site = west,
    principal = step,
  ) => world.iam.allows(principal, { action, resources, context }, site);

  it('deletes (with its final snapshot), stops or modifies only a green that provisioning made', async () => {
    const blue = db('us-west-2', 'pg-dr-green-1');
    for (const action of ['rds:DeleteDBInstance', 'rds:StopDBInstance', 'rds:ModifyDBInstance'])
      await expect(allows(action, [blue], PROVISIONED)).resolves.toBe(true);
    await expect(
      allows('rds:CreateDBSnapshot', [blue, snapshot('pg-dr-green-1-retired-20261201t1130')], PROVISIONED),
    ).resolves.toBe(true);
    // The first deploy's primary, an instance without the tag, someone else's tag, another name: refused.
    for (const action of ['rds:DeleteDBInstance', 'rds:StopDBInstance', 'rds:ModifyDBInstance']) {
      await expect(allows(action, [db('us-west-2', 'pg-dr-primary')], {})).resolves.toBe(false);
      await expect(allows(action, [db('us-west-2', 'pg-dr-primary')], PROVISIONED)).resolves.toBe(false);
      await expect(allows(action, [blue], {})).resolves.toBe(false);
      await expect(allows(action, [blue], { 'aws:ResourceTag/pg-dr:provisioned-by': 'other' })).resolves.toBe(
        false,
      );
    }
    await expect(
      allows('rds:CreateDBSnapshot', [blue, snapshot('someone-elses-snapshot')], PROVISIONED),
    ).resolves.toBe(false);
  });

  it('deletes the DR replicas the DR rebuild made (in the other region), and stops none', async () => {
    const replica = db('us-east-1', 'pg-dr-green-1-dr');
    await expect(allows('rds:DeleteDBInstance', [replica], REPLICA, east)).resolves.toBe(true);
    await expect(allows('rds:ModifyDBInstance', [replica], REPLICA, east)).resolves.toBe(true);
    await expect(allows('rds:StopDBInstance', [replica], REPLICA, east)).resolves.toBe(false);
    // The stack's own replica of the first primary: neither named nor tagged so.
    await expect(
      allows('rds:DeleteDBInstance', [db('us-east-1', 'pg-dr-replica')], REPLICA, east),
    ).resolves.toBe(false);
  });

  it('deletes only the secrets of provisioned greens (a retired blue’s own), never the master secret', async () => {
    const secret = (name: string) => `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${name}-AbCdEf`;
    for (const action of ['secretsmanager:RemoveRegionsFromReplication', 'secretsmanager:DeleteSecret']) {
      await expect(allows(action, [secret('pg-dr/pg-dr-green-1')], {}, east)).resolves.toBe(true);
      await expect(allows(action, [secret('pg-dr/postgres-master')], {}, east)).resolves.toBe(false);
      await expect(allows(action, [secret('pg-dr/replication-user')], {}, east)).resolves.toBe(false);
    }
  });

  it('stops only its own workflow’s executions (older retirements of the same instance)', async () => {
    const execution = (machine: string) => `arn:aws:states:us-east-1:${ACCOUNT}:execution:${machine}:m-1`;
    await expect(
      allows('states:StopExecution', [execution('pg-dr-blue-retirement')], {}, east),
    ).resolves.toBe(true);
    await expect(
      allows(
        'states:ListExecutions',
        [`arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:pg-dr-blue-retirement`],
        {},
        east,
      ),
    ).resolves.toBe(true);
    for (const machine of ['pg-dr-blue-green-migration', 'pg-dr-region-failover', 'pg-dr-failover-drill'])
      await expect(allows('states:StopExecution', [execution(machine)], {}, east)).resolves.toBe(false);
  });

  it('never creates, reboots or promotes an instance; the way-back step touches no instance at all', async () => {
    for (const action of ['rds:CreateDBInstance', 'rds:RebootDBInstance', 'rds:PromoteReadReplica'])
      await expect(allows(action, [db('us-west-2', 'pg-dr-green-1')], PROVISIONED)).resolves.toBe(false);
    for (const action of ['rds:DeleteDBInstance', 'rds:StopDBInstance', 'rds:ModifyDBInstance'])
      await expect(
        allows(action, [db('us-west-2', 'pg-dr-green-1')], PROVISIONED, west, endWayBack),
      ).resolves.toBe(false);
    await expect(
      allows(
        'states:ListExecutions',
        [`arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:pg-dr-blue-green-migration`],
        {},
        east,
        endWayBack,
      ),
    ).resolves.toBe(true);
  });
});
