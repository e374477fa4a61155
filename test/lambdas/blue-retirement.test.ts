import {
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import {
  DeleteSecretCommand,
  DescribeSecretCommand,
  RemoveRegionsFromReplicationCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import {
  advanceRetirement,
  finalSnapshotIdentifier,
  planRetirement,
} from '../../lambdas/blue-retirement/retire-instance';
import type { Topology } from '../../lambdas/shared/topology';

const rds = mockClient(RDSClient);
const secrets = mockClient(SecretsManagerClient);
const TOPOLOGY: Topology = {
  generation: 4,
  writer: { region: 'us-west-2', instanceIdentifier: 'pg-dr-green-new', endpoint: 'new.example' },
  replica: null,
  retired: [],
  changedBy: 'blue-green migration',
};
const STARTED = new Date('2026-12-01T11:30:45.123Z');
const provisioned = (extra: Record<string, unknown> = {}) => ({
  DBInstanceIdentifier: 'pg-dr-green-old',
  DBInstanceStatus: 'available',
  DeletionProtection: false,
  TagList: [{ Key: 'pg-dr:provisioned-by', Value: 'pg-dr' }],
  ReadReplicaDBInstanceIdentifiers: [],
  ...extra,
});
const request = {
  instance: 'pg-dr-green-old',
  topology: TOPOLOGY,
  prefix: 'pg-dr',
  action: 'delete' as const,
};

/** Blue's retirement, the instance side, against a mocked RDS: the plan, and one round at a time. */
describe('blue retirement (instance step)', () => {
  beforeEach(() => {
    rds.reset();
    secrets.reset();
  });

  it('closes the window the configured hours after it started, or at once, with a stable snapshot name', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [provisioned()] });
    const later = await planRetirement(() => new RDSClient({}), {
      region: 'us-west-2',
      ...request,
      windowHours: 72,
      startedAt: STARTED,
      now: false,
    });
    expect(later).toEqual({
      retireAt: '2026-12-04T11:30:45.123Z',
      action: 'delete',
      windowHours: 72,
      snapshotIdentifier: 'pg-dr-green-old-retired-20261201t1130',
      retireable: true,
      keptBecause: null,
    });
    const now = await planRetirement(() => new RDSClient({}), {
      region: 'us-west-2',
      ...request,
      windowHours: 72,
      startedAt: STARTED,
      now: true,
    });
    expect(now.retireAt).toBe(STARTED.toISOString());
    expect(finalSnapshotIdentifier('pg-dr-green-old', STARTED)).toBe(later.snapshotIdentifier);
  });

  it('keeps a blue that green provisioning did not make (the first deploy’s primary), saying why', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [{ DBInstanceIdentifier: 'pg-dr-primary', DBInstanceStatus: 'available', TagList: [] }],
    });
    const plan = await planRetirement(() => new RDSClient({}), {
      region: 'us-west-2',
      ...request,
      instance: 'pg-dr-primary',
      windowHours: 1,
      startedAt: STARTED,
      now: false,
    });
    expect(plan.retireable).toBe(false);
    expect(plan.keptBecause).toContain('pg-dr-primary was not made by green provisioning');
  });

  it('refuses the writer the topology names, before asking RDS anything', async () => {
    const topology = { ...TOPOLOGY, writer: { ...TOPOLOGY.writer, instanceIdentifier: 'pg-dr-green-old' } };
    await expect(
      advanceRetirement(() => new RDSClient({}), {
        ...request,
        topology,
        region: 'us-west-2',
        snapshotIdentifier: 's',
      }),
    ).rejects.toMatchObject({ name: 'RetirementRefused' });
    expect(rds.calls()).toHaveLength(0);
  });

  it('turns deletion protection off in one round and deletes in the next; a gone instance is retired', async () => {
    const advance = () =>
      advanceRetirement(() => new RDSClient({}), {
        ...request,
        region: 'us-west-2',
        snapshotIdentifier: 'snap',
      });
    rds
      .on(DescribeDBInstancesCommand)
      .resolvesOnce({ DBInstances: [provisioned({ DeletionProtection: true })] })
      .resolvesOnce({ DBInstances: [provisioned()] })
      .rejectsOnce(Object.assign(new Error('gone'), { name: 'DBInstanceNotFoundFault' }));
    expect(await advance()).toMatchObject({ retired: false, action: 'deletion protection turned off' });
    expect(rds.commandCalls(ModifyDBInstanceCommand)[0]?.args[0].input).toEqual({
      DBInstanceIdentifier: 'pg-dr-green-old',
      DeletionProtection: false,
      ApplyImmediately: true,
    });
    expect(await advance()).toMatchObject({ retired: false, status: 'deleting' });
    expect(rds.commandCalls(DeleteDBInstanceCommand)[0]?.args[0].input).toEqual({
      DBInstanceIdentifier: 'pg-dr-green-old',
      SkipFinalSnapshot: false,
      FinalDBSnapshotIdentifier: 'snap',
      DeleteAutomatedBackups: false,
    });
    expect(await advance()).toMatchObject({ retired: true, status: 'deleted' });
    expect(rds.commandCalls(StopDBInstanceCommand)).toHaveLength(0);
  });

  it('deletes a stopped blue (delete configured) without waiting for it to be available', async () => {
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [provisioned({ DBInstanceStatus: 'stopped' })] });
    const progress = await advanceRetirement(() => new RDSClient({}), {
      ...request,
      region: 'us-west-2',
      snapshotIdentifier: 'snap',
    });
    expect(progress).toMatchObject({ status: 'deleting', action: 'final snapshot and delete started' });
  });

  it('once blue is gone, removes its secret’s replicas, then schedules the secret for deletion (30 days)', async () => {
    rds
      .on(DescribeDBInstancesCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'DBInstanceNotFoundFault' }));
    secrets
      .on(DescribeSecretCommand)
      .resolvesOnce({
        Name: 'pg-dr/pg-dr-green-old',
        ReplicationStatus: [{ Region: 'us-west-2', Status: 'InSync' }],
      })
      .resolvesOnce({ Name: 'pg-dr/pg-dr-green-old', ReplicationStatus: [] })
      .resolves({ Name: 'pg-dr/pg-dr-green-old', DeletedDate: new Date() });
    const advance = () =>
      advanceRetirement(() => new RDSClient({}), {
        ...request,
        region: 'us-west-2',
        snapshotIdentifier: 'snap',
        secret: { client: new SecretsManagerClient({}), name: 'pg-dr/pg-dr-green-old' },
      });
    expect(await advance()).toMatchObject({
      retired: false,
      action: 'replicas of the secret pg-dr/pg-dr-green-old removed',
    });
    expect(secrets.commandCalls(RemoveRegionsFromReplicationCommand)[0]?.args[0].input).toEqual({
      SecretId: 'pg-dr/pg-dr-green-old',
      RemoveReplicaRegions: ['us-west-2'],
    });
    expect(await advance()).toMatchObject({ retired: true });
    expect(secrets.commandCalls(DeleteSecretCommand)[0]?.args[0].input).toEqual({
      SecretId: 'pg-dr/pg-dr-green-old',
      RecoveryWindowInDays: 30,
    });
    expect(await advance()).toMatchObject({ retired: true });
    expect(secrets.commandCalls(DeleteSecretCommand)).toHaveLength(1);
  });
});
