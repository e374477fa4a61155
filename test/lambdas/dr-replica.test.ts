import {
  CreateDBInstanceReadReplicaCommand,
  DescribeDBInstancesCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../lambdas/dr-replica/handler';
import { REPLICA_PLACEMENT_ENV } from '../support/replica-placement';

const rds = mockClient(RDSClient);
const KEY = REPLICA_PLACEMENT_ENV.REPLICA_KMS_KEY_ARN;

beforeAll(() => {
  Object.assign(process.env, REPLICA_PLACEMENT_ENV);
});
beforeEach(() => {
  rds.reset();
});

describe('DR replica step', () => {
  it('creates an encrypted, private, deletion-protected cross-region replica of green', async () => {
    rds
      .on(CreateDBInstanceReadReplicaCommand)
      .resolves({ DBInstance: { DBInstanceIdentifier: 'green-dr', DBInstanceStatus: 'creating' } });
    const state = await handler({
      mode: 'create',
      sourceInstanceIdentifier: 'green',
      replicaInstanceIdentifier: 'green-dr',
    });
    expect(rds.commandCalls(CreateDBInstanceReadReplicaCommand)[0]?.args[0].input).toEqual({
      DBInstanceIdentifier: 'green-dr',
      SourceDBInstanceIdentifier: 'arn:aws:rds:us-west-2:111122223333:db:green',
      KmsKeyId: KEY,
      DBSubnetGroupName: 'pg-dr-replica-subnets',
      VpcSecurityGroupIds: ['sg-0123'],
      DBParameterGroupName: 'pg-dr-replica-params',
      MultiAZ: true,
      Port: 5432,
      PubliclyAccessible: false,
      DeletionProtection: true,
      CopyTagsToSnapshot: true,
      EnableIAMDatabaseAuthentication: true,
      EnablePerformanceInsights: true,
      PerformanceInsightsKMSKeyId: KEY,
      EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
      Tags: [{ Key: 'pg-dr:role', Value: 'dr-replica' }],
    });
    expect(state).toEqual({
      instanceIdentifier: 'green-dr',
      status: 'creating',
      available: false,
      endpoint: null,
    });
  });

  it('reports an existing replica instead of failing when retried', async () => {
    rds
      .on(CreateDBInstanceReadReplicaCommand)
      .rejects(Object.assign(new Error('exists'), { name: 'DBInstanceAlreadyExistsFault' }));
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'green-dr' }).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'green-dr',
          DBInstanceStatus: 'available',
          Endpoint: { Address: 'green-dr.xyz.us-east-1.rds.amazonaws.com' },
        },
      ],
    });
    const state = await handler({
      mode: 'create',
      sourceInstanceIdentifier: 'green',
      replicaInstanceIdentifier: 'green-dr',
    });
    expect(state).toEqual({
      instanceIdentifier: 'green-dr',
      status: 'available',
      available: true,
      endpoint: 'green-dr.xyz.us-east-1.rds.amazonaws.com',
    });
  });

  it('rejects a bad identifier before calling RDS', async () => {
    const error = (await handler({
      mode: 'create',
      sourceInstanceIdentifier: 'Green DB',
      replicaInstanceIdentifier: 'x1',
    }).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toContain('sourceInstanceIdentifier must be an RDS instance identifier');
    expect(rds.calls()).toHaveLength(0);
  });
});
