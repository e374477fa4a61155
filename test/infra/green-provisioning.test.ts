import type { CallSite } from '../../lib/local-aws/catalogue/types';
import { testWorld } from '../support/world';

/**
 * The green provisioning workflow may create an instance and a secret, and nothing else: least privilege,
 * decided by the IAM evaluator over the synthesized roles (not by reading the policy text).
 */
describe('green provisioning IAM (evaluated over the synthesized roles)', () => {
  const world = testWorld();
  afterAll(() => {
    world.close();
  });
  const ACCOUNT = '111122223333';
  const west: CallSite = { region: 'us-west-2', account: ACCOUNT, partition: 'aws' };
  const east: CallSite = { ...west, region: 'us-east-1' };
  const step = world.iam.principal('pg-dr-orchestration', 'BlueGreenStepsgreenInstance');
  const TAGS = {
    'aws:RequestTag/pg-dr:provisioned-by': 'pg-dr',
    'aws:RequestTag/pg-dr:green-of': 'pg-dr-primary',
    'aws:TagKeys': ['pg-dr:provisioned-by', 'pg-dr:green-of'],
  };
  const db = (region: string, name: string) => `arn:aws:rds:${region}:${ACCOUNT}:db:${name}`;
  const allows = (
    action: string,
    resource: string,
    context: Record<string, string | string[]>,
    site = west,
  ) => world.iam.allows(step, { action, resources: [resource], context }, site);

  it('creates and tags only instances named <prefix>-green-* that carry the provisioned-by tag', async () => {
    await expect(allows('rds:CreateDBInstance', db('us-west-2', 'pg-dr-green-1'), TAGS)).resolves.toBe(true);
    await expect(allows('rds:AddTagsToResource', db('us-west-2', 'pg-dr-green-1'), TAGS)).resolves.toBe(true);
    await expect(allows('rds:CreateDBInstance', db('us-east-1', 'pg-dr-green-1'), TAGS, east)).resolves.toBe(
      true,
    );
    // Another name, or without the tag, or with a tag of someone else's value: refused.
    await expect(allows('rds:CreateDBInstance', db('us-west-2', 'pg-dr-primary'), TAGS)).resolves.toBe(false);
    await expect(allows('rds:CreateDBInstance', db('us-west-2', 'pg-dr-green-1'), {})).resolves.toBe(false);
    await expect(
      allows('rds:CreateDBInstance', db('us-west-2', 'pg-dr-green-1'), {
        ...TAGS,
        'aws:RequestTag/pg-dr:provisioned-by': 'someone-else',
      }),
    ).resolves.toBe(false);
    await expect(
      allows('rds:CreateDBInstance', db('us-west-2', 'pg-dr-green-1'), {
        ...TAGS,
        'aws:TagKeys': [...TAGS['aws:TagKeys'], 'cost-centre'],
      }),
    ).resolves.toBe(false);
  });

  it('never deletes, modifies or reboots an instance, and reads the topology only', async () => {
    for (const action of [
      'rds:DeleteDBInstance',
      'rds:ModifyDBInstance',
      'rds:RebootDBInstance',
      'rds:StopDBInstance',
      'rds:PromoteReadReplica',
    ]) {
      await expect(allows(action, db('us-west-2', 'pg-dr-green-1'), TAGS)).resolves.toBe(false);
      await expect(allows(action, db('us-west-2', 'pg-dr-primary'), {})).resolves.toBe(false);
    }
    await expect(
      allows(
        'ssm:PutParameter',
        `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/pg-dr/topology/document`,
        {},
        east,
      ),
    ).resolves.toBe(false);
  });

  it('creates and reads only the green secrets under the migration prefix', async () => {
    const secret = (name: string) => `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${name}-AbCdEf`;
    for (const action of ['secretsmanager:CreateSecret', 'secretsmanager:GetSecretValue'])
      await expect(allows(action, secret('pg-dr/pg-dr-green-1'), {}, east)).resolves.toBe(true);
    // Replicated only to the deployed regions.
    await expect(
      allows(
        'secretsmanager:ReplicateSecretToRegions',
        secret('pg-dr/pg-dr-green-1'),
        { 'secretsmanager:AddReplicaRegions': ['us-west-2'] },
        east,
      ),
    ).resolves.toBe(true);
    await expect(
      allows(
        'secretsmanager:ReplicateSecretToRegions',
        secret('pg-dr/pg-dr-green-1'),
        { 'secretsmanager:AddReplicaRegions': ['eu-central-1'] },
        east,
      ),
    ).resolves.toBe(false);
    for (const name of ['pg-dr/postgres-master', 'pg-dr/replication-user', 'other/pg-dr-green-1'])
      await expect(allows('secretsmanager:GetSecretValue', secret(name), {}, east)).resolves.toBe(false);
    // It writes green's host and port into green's secret, and into no other.
    await expect(
      allows('secretsmanager:PutSecretValue', secret('pg-dr/pg-dr-green-1'), {}, east),
    ).resolves.toBe(true);
    await expect(
      allows('secretsmanager:PutSecretValue', secret('pg-dr/postgres-master'), {}, east),
    ).resolves.toBe(false);
    await expect(
      allows('secretsmanager:DeleteSecret', secret('pg-dr/pg-dr-green-1'), {}, east),
    ).resolves.toBe(false);
  });

  it('gives the workflow the migration to run and nothing else to start', async () => {
    const machine = world.iam.principal('pg-dr-orchestration', 'GreenProvisioningStateMachine');
    const machineArn = (name: string) => `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:${name}`;
    const start = (name: string) =>
      world.iam.allows(machine, { action: 'states:StartExecution', resources: [machineArn(name)] }, east);
    await expect(start('pg-dr-blue-green-migration')).resolves.toBe(true);
    for (const other of ['pg-dr-region-failover', 'pg-dr-failover-drill', 'pg-dr-dr-rebuild'])
      await expect(start(other)).resolves.toBe(false);
  });
});
