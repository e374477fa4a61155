import {
  CreateDBInstanceReadReplicaCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  RebootDBInstanceCommand,
  StartDBInstanceAutomatedBackupsReplicationCommand,
  type DBInstance,
} from '@aws-sdk/client-rds';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../lambdas/dr-replica/handler';
import type { Topology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { parameterStore } from '../support/parameter-store';
import { REPLICA_PLACEMENT_ENV } from '../support/replica-placement';

const rds = mockClient(RDSClient);
const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1111-2222';
const GREEN_ARN = 'arn:aws:rds:us-west-2:111122223333:db:green';
const EVENT = { mode: 'advance', sourceInstanceIdentifier: 'green', replicaInstanceIdentifier: 'green-dr' };
const DOCUMENT = topologyParameterNames('pg-dr').document;

/** The topology after a cutover to green (home region, us-west-2): no replica yet. */
const AFTER_CUTOVER: Topology = {
  generation: 2,
  writer: {
    region: 'us-west-2',
    instanceIdentifier: 'green',
    endpoint: 'green.xyz.us-west-2.rds.amazonaws.com',
  },
  replica: null,
  retired: [],
  changedBy: 'arn:aws:states:us-east-1:111122223333:execution:pg-dr-blue-green-migration:m1',
};
const withTopology = (topology: Topology) => parameterStore({ [DOCUMENT]: JSON.stringify(topology) });
const parameterStoreThrottles = () =>
  mockClient(SSMClient)
    .on(GetParameterCommand)
    .rejects(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $fault: 'client',
        $retryable: { throttling: true },
      }),
    );

const notFound = () =>
  Object.assign(new Error('DBInstance green-dr not found.'), {
    name: 'DBInstanceNotFoundFault',
    $fault: 'client',
    $metadata: { httpStatusCode: 404 },
  });

function replica(over: Partial<DBInstance> & { group?: string; apply?: string } = {}): DBInstance {
  const { group = 'default.postgres17', apply = 'in-sync', ...rest } = over;
  return {
    DBInstanceIdentifier: 'green-dr',
    DBInstanceStatus: 'available',
    ReadReplicaSourceDBInstanceIdentifier: GREEN_ARN,
    Endpoint: { Address: 'green-dr.xyz.us-east-1.rds.amazonaws.com', Port: 5433 },
    DBParameterGroups: [{ DBParameterGroupName: group, ParameterApplyStatus: apply }],
    ...rest,
  };
}

const describes = (instance: DBInstance) =>
  rds
    .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'green-dr' })
    .resolves({ DBInstances: [instance] });

beforeAll(() => {
  Object.assign(process.env, REPLICA_PLACEMENT_ENV);
});
/** The sources, in their regions: each keeps automated backups (RDS replicates no source without them). */
const sourcesKeepBackups = () => {
  for (const id of ['green', 'pg-dr-replica'])
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: id })
      .resolves({ DBInstances: [{ DBInstanceIdentifier: id, BackupRetentionPeriod: 7 }] });
};

beforeEach(() => {
  rds.reset();
  sourcesKeepBackups();
  withTopology(AFTER_CUTOVER);
});

describe('DR replica step (one idempotent step of the DR rebuild per call)', () => {
  it('creates an encrypted, private, deletion-protected cross-region replica of green, without a parameter group', async () => {
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'green-dr' }).rejects(notFound());
    rds
      .on(CreateDBInstanceReadReplicaCommand)
      .resolves({ DBInstance: { DBInstanceIdentifier: 'green-dr', DBInstanceStatus: 'creating' } });
    const state = await handler(EVENT);
    const input = rds.commandCalls(CreateDBInstanceReadReplicaCommand)[0]?.args[0].input;
    expect(input).toEqual({
      DBInstanceIdentifier: 'green-dr',
      SourceDBInstanceIdentifier: GREEN_ARN,
      KmsKeyId: KEY,
      DBSubnetGroupName: 'pg-dr-replica-subnets',
      VpcSecurityGroupIds: ['sg-0123'],
      MultiAZ: true,
      Port: 5432,
      // Storage autoscaling as the deployed instances have it: a replica that cannot grow stops replicating.
      MaxAllocatedStorage: 1000,
      PubliclyAccessible: false,
      DeletionProtection: true,
      CopyTagsToSnapshot: true,
      EnableIAMDatabaseAuthentication: true,
      EnablePerformanceInsights: true,
      PerformanceInsightsKMSKeyId: KEY,
      EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
      Tags: [{ Key: 'pg-dr:role', Value: 'dr-replica' }],
    });
    // RDS refuses DBParameterGroupName for a cross-region PostgreSQL replica (InvalidParameterCombination).
    expect(input).not.toHaveProperty('DBParameterGroupName');
    expect(state).toMatchObject({ phase: 'creating', action: 'created', done: false });
  });

  it('carries on from the replica a retried create already made', async () => {
    rds
      .on(DescribeDBInstancesCommand)
      .rejectsOnce(notFound())
      .resolves({
        DBInstances: [replica({ DBInstanceStatus: 'creating' })],
      });
    rds
      .on(CreateDBInstanceReadReplicaCommand)
      .rejects(Object.assign(new Error('exists'), { name: 'DBInstanceAlreadyExistsFault' }));
    expect(await handler(EVENT)).toMatchObject({ phase: 'creating', action: 'none', status: 'creating' });
  });

  it('only waits while RDS works on the replica', async () => {
    describes(replica({ DBInstanceStatus: 'creating', Endpoint: undefined }));
    expect(await handler(EVENT)).toMatchObject({ phase: 'waiting', action: 'none', done: false });
    expect(rds.commandCalls(ModifyDBInstanceCommand)).toHaveLength(0);
    expect(rds.commandCalls(RebootDBInstanceCommand)).toHaveLength(0);
  });

  it('attaches the DR parameter group, applied immediately, once the replica is available', async () => {
    describes(replica());
    rds.on(ModifyDBInstanceCommand).resolves({
      DBInstance: replica({
        DBInstanceStatus: 'modifying',
        group: 'pg-dr-replica-params',
        apply: 'applying',
      }),
    });
    expect(await handler(EVENT)).toMatchObject({
      phase: 'attaching-parameters',
      action: 'attached-parameters',
    });
    expect(rds.commandCalls(ModifyDBInstanceCommand)[0]?.args[0].input).toEqual({
      DBInstanceIdentifier: 'green-dr',
      DBParameterGroupName: 'pg-dr-replica-params',
      // The deployed maintenance window (away from the drill): the replica may become the writer.
      PreferredMaintenanceWindow: 'sat:03:00-sat:04:00',
      ApplyImmediately: true,
    });
  });

  it('reboots a replica whose parameters wait for a reboot, then reports it ready with its endpoint', async () => {
    describes(replica({ group: 'pg-dr-replica-params', apply: 'pending-reboot' }));
    rds.on(RebootDBInstanceCommand).resolves({ DBInstance: replica({ DBInstanceStatus: 'rebooting' }) });
    expect(await handler(EVENT)).toMatchObject({ phase: 'rebooting', action: 'rebooted' });
    expect(rds.commandCalls(RebootDBInstanceCommand)[0]?.args[0].input).toEqual({
      DBInstanceIdentifier: 'green-dr',
    });

    rds.reset();
    describes(replica({ group: 'pg-dr-replica-params', apply: 'in-sync' }));
    expect(await handler(EVENT)).toEqual({
      instanceIdentifier: 'green-dr',
      region: 'us-east-1',
      status: 'available',
      phase: 'ready',
      done: true,
      action: 'none',
      endpoint: 'green-dr.xyz.us-east-1.rds.amazonaws.com',
      // Its own port, as RDS reports it: recorded in the topology (it opens the replica).
      port: 5433,
      parameterGroup: 'pg-dr-replica-params',
      parameterApplyStatus: 'in-sync',
    });
  });

  it.each(['incompatible-parameters', 'storage-full', 'inaccessible-encryption-credentials'])(
    'fails plainly on %s, a status RDS does not leave by itself, instead of waiting out the rounds',
    async (status) => {
      describes(replica({ DBInstanceStatus: status }));
      const error = (await handler(EVENT).catch((e: unknown) => e)) as Error;
      expect(error.name).toBe('DrReplicaFailed');
      expect(error.message).toContain(`green-dr is ${status}`);
    },
  );

  it('is not ready while its replication is broken, even when available and in sync', async () => {
    describes(
      replica({
        group: 'pg-dr-replica-params',
        StatusInfos: [{ StatusType: 'read replication', Normal: false, Status: 'error', Message: 'WAL gap' }],
      }),
    );
    expect(await handler(EVENT)).toMatchObject({ phase: 'waiting', done: false });
  });

  it('waits while the new parameters are still applying', async () => {
    describes(replica({ group: 'pg-dr-replica-params', apply: 'applying' }));
    expect(await handler(EVENT)).toMatchObject({ phase: 'waiting', done: false });
    expect(rds.commandCalls(RebootDBInstanceCommand)).toHaveLength(0);
  });

  it.each([
    [
      'a replica of another source',
      replica({ ReadReplicaSourceDBInstanceIdentifier: 'arn:aws:rds:us-west-2:111122223333:db:blue' }),
      'a replica of arn:aws:rds:us-west-2:111122223333:db:blue',
    ],
    [
      'an instance that is not a replica',
      replica({ ReadReplicaSourceDBInstanceIdentifier: undefined }),
      'is not a read replica',
    ],
  ])('refuses to touch %s that has the identifier', async (_what, instance, message) => {
    describes(instance);
    const error = (await handler(EVENT).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('DrReplicaConflict');
    expect(error.message).toContain(message);
    expect(rds.commandCalls(ModifyDBInstanceCommand)).toHaveLength(0);
    expect(rds.commandCalls(RebootDBInstanceCommand)).toHaveLength(0);
  });

  it('asks for another round when the replica changed state under it, and fails plainly on a refusal', async () => {
    describes(replica());
    rds.on(ModifyDBInstanceCommand).rejectsOnce(
      Object.assign(new Error("The DB instance isn't in a valid state."), {
        name: 'InvalidDBInstanceStateFault',
        $fault: 'client',
      }),
    );
    expect(((await handler(EVENT).catch((e: unknown) => e)) as Error).name).toBe('RdsRetryable');

    rds.on(ModifyDBInstanceCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: rds:ModifyDBInstance'), {
        name: 'AccessDenied',
        $fault: 'client',
      }),
    );
    const refused = (await handler(EVENT).catch((e: unknown) => e)) as Error;
    expect(refused.name).toBe('StepFailed');
    expect(refused.message).toContain('rds:ModifyDBInstance');
  });

  it('rejects a bad identifier or an unknown mode before calling RDS', async () => {
    const error = (await handler({ ...EVENT, sourceInstanceIdentifier: 'Green DB' }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toContain('sourceInstanceIdentifier must be an RDS instance identifier');
    const mode = (await handler({ ...EVENT, mode: 'create' }).catch((e: unknown) => e)) as Error;
    expect(mode.name).toBe('InvalidInput');
    expect(rds.calls()).toHaveLength(0);
  });

  it('re-protects a promoted writer in the DR region with a replica in the home region, on its placement', async () => {
    withTopology({
      generation: 3,
      writer: {
        region: 'us-east-1',
        instanceIdentifier: 'pg-dr-replica',
        endpoint: 'r.us-east-1.rds.amazonaws.com',
      },
      replica: null,
      retired: [
        {
          region: 'us-west-2',
          instanceIdentifier: 'pg-dr-primary',
          endpoint: 'p.us-west-2.rds.amazonaws.com',
        },
      ],
      changedBy: 'arn:aws:states:us-east-1:111122223333:execution:pg-dr-region-failover:f1',
    });
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'home-1' }).rejects(notFound());
    rds.on(CreateDBInstanceReadReplicaCommand).resolves({ DBInstance: { DBInstanceStatus: 'creating' } });
    const state = await handler({
      ...EVENT,
      sourceInstanceIdentifier: 'pg-dr-replica',
      replicaInstanceIdentifier: 'home-1',
    });
    expect(state).toMatchObject({ instanceIdentifier: 'home-1', region: 'us-west-2', action: 'created' });
    expect(rds.commandCalls(CreateDBInstanceReadReplicaCommand)[0]?.args[0].input).toMatchObject({
      DBInstanceIdentifier: 'home-1',
      SourceDBInstanceIdentifier: 'arn:aws:rds:us-east-1:111122223333:db:pg-dr-replica',
      KmsKeyId: 'arn:aws:kms:us-west-2:111122223333:key/3333-4444',
      DBSubnetGroupName: 'pg-dr-primary-subnets',
      VpcSecurityGroupIds: ['sg-0456'],
    });
    // The call went to the home region's RDS (the replica's region).
    const client = rds.commandCalls(CreateDBInstanceReadReplicaCommand)[0]?.thisValue as RDSClient;
    expect(await client.config.region()).toBe('us-west-2');
  });

  it.each([
    [
      'the topology names another writer',
      { ...AFTER_CUTOVER, writer: { ...AFTER_CUTOVER.writer, instanceIdentifier: 'blue' } },
      'TopologyChanged',
      "the topology's writer is blue",
    ],
    [
      'the writer already has another replica',
      {
        ...AFTER_CUTOVER,
        replica: {
          region: 'us-east-1',
          instanceIdentifier: 'other-dr',
          endpoint: 'o.us-east-1.rds.amazonaws.com',
        },
      },
      'DrReplicaConflict',
      'already has a replica, other-dr',
    ],
    [
      'the writer is in neither deployed region',
      { ...AFTER_CUTOVER, writer: { ...AFTER_CUTOVER.writer, region: 'eu-west-1' } },
      'DrReplicaConflict',
      'not one of the deployed regions',
    ],
  ])('creates nothing when %s', async (_what, topology, name, message) => {
    withTopology(topology);
    const error = (await handler(EVENT).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe(name);
    expect(error.message).toContain(message);
    expect(rds.calls()).toHaveLength(0);
  });

  it('carries on with the replica the topology already names (a rebuild retried after recording it)', async () => {
    withTopology({
      ...AFTER_CUTOVER,
      replica: {
        region: 'us-east-1',
        instanceIdentifier: 'green-dr',
        endpoint: 'green-dr.xyz.us-east-1.rds.amazonaws.com',
      },
    });
    describes(replica({ group: 'pg-dr-replica-params', apply: 'in-sync' }));
    expect(await handler(EVENT)).toMatchObject({ phase: 'ready', region: 'us-east-1' });
  });

  it('refuses to run with a placement missing (StepMisconfigured), naming the variable', async () => {
    const saved = process.env.REPLICA_PLACEMENTS;
    process.env.REPLICA_PLACEMENTS = JSON.stringify((JSON.parse(saved ?? '[]') as unknown[]).slice(0, 1));
    try {
      const error = (await handler(EVENT).catch((e: unknown) => e)) as Error;
      expect(error.name).toBe('StepMisconfigured');
      expect(error.message).toContain('REPLICA_PLACEMENTS');
    } finally {
      process.env.REPLICA_PLACEMENTS = saved;
    }
    expect(rds.calls()).toHaveLength(0);
  });

  it('fails at once, creating nothing, when the source keeps no automated backups (RDS would refuse it every round)', async () => {
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'green-dr' }).rejects(notFound());
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'green' })
      .resolves({ DBInstances: [{ DBInstanceIdentifier: 'green', BackupRetentionPeriod: 0 }] });
    const error = (await handler(EVENT).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('DrReplicaFailed');
    expect(error.message).toContain('green in us-west-2 keeps no automated backups');
    expect(rds.commandCalls(CreateDBInstanceReadReplicaCommand)).toHaveLength(0);
  });

  it('replicates the new writer’s automated backups to its replica’s region, with that region’s key, once', async () => {
    withTopology({
      ...AFTER_CUTOVER,
      replica: { region: 'us-east-1', instanceIdentifier: 'green-dr', endpoint: 'green-dr.example' },
    });
    rds.on(StartDBInstanceAutomatedBackupsReplicationCommand).resolves({});
    const replicate = { ...EVENT, mode: 'replicate-backups' };
    expect(await handler(replicate)).toEqual({
      source: 'green',
      sourceRegion: 'us-west-2',
      destinationRegion: 'us-east-1',
      outcome: 'started',
    });
    expect(rds.commandCalls(StartDBInstanceAutomatedBackupsReplicationCommand)[0]?.args[0].input).toEqual({
      SourceDBInstanceArn: GREEN_ARN,
      KmsKeyId: KEY,
      BackupRetentionPeriod: 7,
    });
    // Already replicating there (a retried step, or a writer the first deploy made): nothing more.
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'green' }).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'green',
          BackupRetentionPeriod: 7,
          DBInstanceAutomatedBackupsReplications: [
            { DBInstanceAutomatedBackupsArn: 'arn:aws:rds:us-east-1:111122223333:auto-backup:ab-green' },
          ],
        },
      ],
    });
    expect(await handler(replicate)).toMatchObject({ outcome: 'already-replicating' });
    expect(rds.commandCalls(StartDBInstanceAutomatedBackupsReplicationCommand)).toHaveLength(1);
    // A source without backups: said plainly, nothing asked.
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'green' })
      .resolves({ DBInstances: [{ DBInstanceIdentifier: 'green', BackupRetentionPeriod: 0 }] });
    await expect(handler(replicate)).rejects.toMatchObject({ name: 'DrReplicaFailed' });
    expect(rds.commandCalls(StartDBInstanceAutomatedBackupsReplicationCommand)).toHaveLength(1);
  });

  it('leaves a throttled topology read to the next round instead of failing the rebuild', async () => {
    parameterStoreThrottles();
    const error = (await handler(EVENT).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('RdsRetryable');
    expect(rds.calls()).toHaveLength(0);
  });
});
