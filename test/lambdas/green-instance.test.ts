import {
  CreateDBInstanceCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  type DBInstance,
} from '@aws-sdk/client-rds';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { storageLike } from '../../lambdas/green-provisioning/green-instance';
import { greenInstanceHandler } from '../../lambdas/green-provisioning/instance-handler';
import type { Topology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { parameterStore } from '../support/parameter-store';

const rds = mockClient(RDSClient);
const secrets = mockClient(SecretsManagerClient);
const DATA_KEY = 'arn:aws:kms:us-west-2:111122223333:key/data-west';
const SECRET_KEYS = {
  'us-east-1': 'arn:aws:kms:us-east-1:111122223333:key/secrets-east',
  'us-west-2': 'arn:aws:kms:us-west-2:111122223333:key/secrets-west',
};
const TOPOLOGY: Topology = {
  generation: 1,
  writer: {
    region: 'us-west-2',
    instanceIdentifier: 'pg-dr-primary',
    endpoint: 'primary.abc.us-west-2.rds.amazonaws.com',
  },
  replica: {
    region: 'us-east-1',
    instanceIdentifier: 'pg-dr-replica',
    endpoint: 'replica.abc.us-east-1.rds.amazonaws.com',
  },
  retired: [],
  changedBy: 'first deploy',
};
const EVENT = {
  mode: 'create',
  blueInstanceIdentifier: 'pg-dr-primary',
  greenInstanceIdentifier: 'pg-dr-green-1',
  database: 'app',
};
const PASSWORD = 'Rand0m-Passw0rd-of-forty-characters-xyz!';

const BLUE: DBInstance = {
  DBInstanceIdentifier: 'pg-dr-primary',
  DBInstanceStatus: 'available',
  Engine: 'postgres',
  EngineVersion: '17.4',
  DBInstanceClass: 'db.r6g.large',
  AllocatedStorage: 100,
  MaxAllocatedStorage: 500,
  StorageType: 'gp3',
  Iops: 3000,
  StorageThroughput: 125,
  StorageEncrypted: true,
  KmsKeyId: DATA_KEY,
  MasterUsername: 'postgres',
  DBParameterGroups: [{ DBParameterGroupName: 'pg-dr-primary-params', ParameterApplyStatus: 'in-sync' }],
  DBSubnetGroup: { DBSubnetGroupName: 'pg-dr-primary-subnets' },
  VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0123', Status: 'active' }],
  Endpoint: { Address: 'primary.abc.us-west-2.rds.amazonaws.com', Port: 5432 },
  MultiAZ: true,
  BackupRetentionPeriod: 7,
  PreferredBackupWindow: '03:00-04:00',
  PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
  CACertificateIdentifier: 'rds-ca-rsa2048-g1',
  AutoMinorVersionUpgrade: true,
  EnabledCloudwatchLogsExports: ['postgresql'],
};

const notFound = (what: string, name: string) =>
  Object.assign(new Error(`${what} not found`), {
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: 404 },
  });

function instances(found: Record<string, DBInstance>) {
  rds.on(DescribeDBInstancesCommand).callsFake((input: { DBInstanceIdentifier: string }) => {
    const instance = found[input.DBInstanceIdentifier];
    if (instance === undefined) throw notFound('DBInstance', 'DBInstanceNotFoundFault');
    return { DBInstances: [instance] };
  });
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as Error,
  );

beforeAll(() => {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    RESOURCE_PREFIX: 'pg-dr',
    TOPOLOGY_REGION: 'us-east-1',
    SECRET_NAME_PREFIX: 'pg-dr/',
    SECRET_KEYS: JSON.stringify(SECRET_KEYS),
    DATA_KEYS: JSON.stringify([DATA_KEY, 'arn:aws:kms:us-east-1:111122223333:key/data-east']),
  });
});
beforeEach(() => {
  rds.reset();
  secrets.reset();
  parameterStore({ [topologyParameterNames('pg-dr').document]: JSON.stringify(TOPOLOGY) });
  secrets.on(DescribeSecretCommand).rejects(notFound('secret', 'ResourceNotFoundException'));
  secrets.on(GetRandomPasswordCommand).resolves({ RandomPassword: PASSWORD });
  secrets.on(CreateSecretCommand).resolves({ Name: 'pg-dr/pg-dr-green-1' });
});

describe('green instance step', () => {
  it('creates the secret first, then green exactly like blue: encrypted with its key, private, protected, tagged', async () => {
    instances({ 'pg-dr-primary': BLUE });
    rds.on(CreateDBInstanceCommand).resolves({
      DBInstance: { DBInstanceIdentifier: 'pg-dr-green-1', DBInstanceStatus: 'creating' },
    });
    const result = await greenInstanceHandler(EVENT);
    expect(result).toEqual({
      instanceIdentifier: 'pg-dr-green-1',
      status: 'creating',
      available: false,
      endpoint: null,
      port: null,
      action: 'created',
      secretId: 'pg-dr/pg-dr-green-1',
    });
    const secret = secrets.commandCalls(CreateSecretCommand)[0]?.args[0].input;
    expect(secret).toMatchObject({
      Name: 'pg-dr/pg-dr-green-1',
      KmsKeyId: SECRET_KEYS['us-east-1'],
      // Every other deployed region: the probes there read the writer's secret by name.
      AddReplicaRegions: [{ Region: 'us-west-2', KmsKeyId: SECRET_KEYS['us-west-2'] }],
      Tags: [
        { Key: 'pg-dr:provisioned-by', Value: 'pg-dr' },
        { Key: 'pg-dr:green-of', Value: 'pg-dr-primary' },
      ],
    });
    expect(JSON.parse(secret?.SecretString ?? '{}')).toEqual({
      engine: 'postgres',
      username: 'postgres',
      password: PASSWORD,
      dbname: 'app',
      port: 5432,
    });
    // RDS refuses / ' " @ and space in a master password; the backslash would need escaping in a conninfo.
    expect(secrets.commandCalls(GetRandomPasswordCommand)[0]?.args[0].input.ExcludeCharacters).toBe(
      '/\'"@ \\',
    );
    const create = rds.commandCalls(CreateDBInstanceCommand)[0]?.args[0].input;
    expect(create).toEqual({
      DBInstanceIdentifier: 'pg-dr-green-1',
      Engine: 'postgres',
      EngineVersion: '17.4',
      DBInstanceClass: 'db.r6g.large',
      DBName: 'app',
      MasterUsername: 'postgres',
      MasterUserPassword: PASSWORD,
      // gp3 under 400 GiB: its baseline IOPS and throughput are fixed, and RDS refuses them as parameters.
      AllocatedStorage: 100,
      MaxAllocatedStorage: 500,
      StorageType: 'gp3',
      StorageEncrypted: true,
      KmsKeyId: DATA_KEY,
      DBParameterGroupName: 'pg-dr-primary-params',
      DBSubnetGroupName: 'pg-dr-primary-subnets',
      VpcSecurityGroupIds: ['sg-0123'],
      Port: 5432,
      MultiAZ: true,
      PubliclyAccessible: false,
      DeletionProtection: true,
      CopyTagsToSnapshot: true,
      AutoMinorVersionUpgrade: true,
      BackupRetentionPeriod: 7,
      PreferredBackupWindow: '03:00-04:00',
      PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
      CACertificateIdentifier: 'rds-ca-rsa2048-g1',
      EnableCloudwatchLogsExports: ['postgresql'],
      Tags: [
        { Key: 'pg-dr:provisioned-by', Value: 'pg-dr' },
        { Key: 'pg-dr:green-of', Value: 'pg-dr-primary' },
      ],
    });
    // The secret was made before the instance: a crash in between never loses the password.
    const secretCall = secrets.commandCalls(CreateSecretCommand)[0];
    const instanceCall = rds.commandCalls(CreateDBInstanceCommand)[0];
    expect(secretCall?.calledBefore(instanceCall as never)).toBe(true);
  });

  it('carries on with the green it made, reusing its secret’s password, and reports it available with its endpoint', async () => {
    const green: DBInstance = {
      DBInstanceIdentifier: 'pg-dr-green-1',
      DBInstanceStatus: 'available',
      Endpoint: { Address: 'green.abc.us-west-2.rds.amazonaws.com', Port: 5432 },
      DBParameterGroups: [{ DBParameterGroupName: 'pg-dr-primary-params', ParameterApplyStatus: 'in-sync' }],
      TagList: [{ Key: 'pg-dr:green-of', Value: 'pg-dr-primary' }],
    };
    instances({ 'pg-dr-primary': BLUE, 'pg-dr-green-1': green });
    expect(await greenInstanceHandler(EVENT)).toMatchObject({ action: 'none', available: true });
    secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ username: 'postgres', password: 'pw', port: 5432 }) });
    expect(await greenInstanceHandler({ ...EVENT, mode: 'progress' })).toMatchObject({
      available: true,
      endpoint: 'green.abc.us-west-2.rds.amazonaws.com',
      port: 5432,
    });
    // Its secret now opens it on its own: host and port added, the rest kept.
    expect(
      JSON.parse(secrets.commandCalls(PutSecretValueCommand)[0]?.args[0].input.SecretString ?? '{}'),
    ).toEqual({
      username: 'postgres',
      password: 'pw',
      port: 5432,
      host: 'green.abc.us-west-2.rds.amazonaws.com',
    });
    expect(rds.commandCalls(CreateDBInstanceCommand)).toHaveLength(0);
    expect(secrets.commandCalls(CreateSecretCommand)).toHaveLength(0);

    // The secret exists from a run cut off before CreateDBInstance: its password is used, no new one is made.
    instances({ 'pg-dr-primary': BLUE });
    secrets.on(DescribeSecretCommand).resolves({ Tags: [{ Key: 'pg-dr:green-of', Value: 'pg-dr-primary' }] });
    secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ username: 'postgres', password: 'kept-Passw0rd' }) });
    rds
      .on(CreateDBInstanceCommand)
      .resolves({ DBInstance: { DBInstanceIdentifier: 'pg-dr-green-1', DBInstanceStatus: 'creating' } });
    await greenInstanceHandler(EVENT);
    expect(rds.commandCalls(CreateDBInstanceCommand)[0]?.args[0].input.MasterUserPassword).toBe(
      'kept-Passw0rd',
    );
    expect(secrets.commandCalls(GetRandomPasswordCommand)).toHaveLength(0);
  });

  it('refuses, creating nothing, an instance or secret it did not make, a blue that is not the writer, an unencrypted blue or a foreign key', async () => {
    const created = () =>
      rds.commandCalls(CreateDBInstanceCommand).length + secrets.commandCalls(CreateSecretCommand).length;
    instances({
      'pg-dr-primary': BLUE,
      'pg-dr-green-1': { DBInstanceIdentifier: 'pg-dr-green-1', TagList: [] },
    });
    expect((await failureOf(greenInstanceHandler(EVENT))).name).toBe('GreenExists');

    instances({ 'pg-dr-primary': BLUE });
    secrets.on(DescribeSecretCommand).resolves({ Tags: [] });
    expect((await failureOf(greenInstanceHandler(EVENT))).name).toBe('GreenSecretExists');
    secrets.on(DescribeSecretCommand).rejects(notFound('secret', 'ResourceNotFoundException'));

    const notWriter = await failureOf(
      greenInstanceHandler({ ...EVENT, blueInstanceIdentifier: 'pg-dr-replica' }),
    );
    expect(notWriter.name).toBe('BlueNotTheWriter');

    instances({ 'pg-dr-primary': { ...BLUE, StorageEncrypted: false, KmsKeyId: undefined } });
    const unencrypted = await failureOf(greenInstanceHandler(EVENT));
    expect(unencrypted.name).toBe('BlueNotProvisionable');
    expect(unencrypted.message).toMatch(/not encrypted/);

    instances({
      'pg-dr-primary': { ...BLUE, KmsKeyId: 'arn:aws:kms:us-west-2:111122223333:key/someone-elses' },
    });
    expect((await failureOf(greenInstanceHandler(EVENT))).message).toMatch(
      /not one of the deployed data keys/,
    );

    const outside = await failureOf(
      greenInstanceHandler({ ...EVENT, greenInstanceIdentifier: 'production-db' }),
    );
    expect(outside.name).toBe('InvalidInput');
    expect(outside.message).toContain('must start with pg-dr-green-');
    expect(created()).toBe(0);
  });

  it('copies storage as RDS takes it: IOPS and throughput only where the type takes them, a ceiling only above the size', () => {
    const storage = (over: Partial<DBInstance>) => storageLike({ ...BLUE, ...over });
    expect(storage({})).toEqual({ AllocatedStorage: 100, StorageType: 'gp3', MaxAllocatedStorage: 500 });
    expect(storage({ AllocatedStorage: 400, Iops: 12000, StorageThroughput: 500 })).toEqual({
      AllocatedStorage: 400,
      StorageType: 'gp3',
      MaxAllocatedStorage: 500,
      Iops: 12000,
      StorageThroughput: 500,
    });
    expect(storage({ StorageType: 'io2', Iops: 8000, StorageThroughput: undefined })).toMatchObject({
      Iops: 8000,
    });
    // Autoscaling brought blue up to its ceiling: RDS refuses a ceiling that is not above the size.
    expect(storage({ AllocatedStorage: 500 })).not.toHaveProperty('MaxAllocatedStorage');
    expect(storage({ StorageType: 'gp2', Iops: 300 })).not.toHaveProperty('Iops');
  });

  it('refuses a blue whose endpoint is not the one the migration names, and a secret scheduled for deletion', async () => {
    instances({ 'pg-dr-primary': BLUE });
    const other = await failureOf(
      greenInstanceHandler({ ...EVENT, blueEndpoint: 'other.abc.us-west-2.rds.amazonaws.com' }),
    );
    expect(other.name).toBe('BlueNotProvisionable');
    expect(other.message).toContain('filled from another');
    secrets.on(DescribeSecretCommand).resolves({
      DeletedDate: new Date(),
      Tags: [{ Key: 'pg-dr:green-of', Value: 'pg-dr-primary' }],
    });
    const deleted = await failureOf(
      greenInstanceHandler({ ...EVENT, blueEndpoint: 'primary.abc.us-west-2.rds.amazonaws.com' }),
    );
    expect(deleted.name).toBe('GreenSecretExists');
    expect(deleted.message).toContain('scheduled for deletion');
    expect(rds.commandCalls(CreateDBInstanceCommand)).toHaveLength(0);
  });

  it('fails for good on a green RDS will not finish, and names the tag to delete it by', async () => {
    instances({
      'pg-dr-green-1': {
        DBInstanceIdentifier: 'pg-dr-green-1',
        DBInstanceStatus: 'incompatible-parameters',
        TagList: [{ Key: 'pg-dr:green-of', Value: 'pg-dr-primary' }],
      },
    });
    const failed = await failureOf(greenInstanceHandler({ ...EVENT, mode: 'progress' }));
    expect(failed.name).toBe('GreenFailed');
    expect(failed.message).toContain('incompatible-parameters');
    expect(failed.message).toContain('pg-dr:provisioned-by');
  });
});
