import {
  DeleteDBInstanceCommand,
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  RestoreDBInstanceToPointInTimeCommand,
  type DBInstance,
  type DBInstanceAutomatedBackup,
} from '@aws-sdk/client-rds';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { backupAge, latestBackup } from '../../lambdas/restore-test/backups';
import { restoreSeconds } from '../../lambdas/restore-test/handler';
import { restoreTestStartedAt } from '../../lambdas/restore-test/throwaways';
import {
  advanceRestoreTest,
  deleteRestoreTest,
  restoreTestIdentifier,
  restoreTestSubject,
  startRestoreTest,
  type RestorePlacement,
} from '../../lambdas/restore-test/restore';
import { handler as statusHandler } from '../../lambdas/restore-test/status-handler';
import type { Topology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { parameterStore } from '../support/parameter-store';

const rds = mockClient(RDSClient);
const client = new RDSClient({ region: 'us-east-1' });
const DR = 'us-east-1';
const HOME = 'us-west-2';
const PLACEMENT: RestorePlacement = {
  region: DR,
  subnetGroupName: 'dr-data',
  securityGroupIds: ['sg-0123456789abcdef0'],
  parameterGroupName: 'dr-params',
  port: 5432,
};
const EXECUTION = 'monthly-2026-12';
const TARGET = restoreTestIdentifier('pg-dr', '2026-12-01T05:00:42.123Z', EXECUTION);
const WRITER = { instanceIdentifier: 'pg-dr-primary', region: HOME };
const TAG = { Key: 'pg-dr:role', Value: 'restore-test' };

const backup = (over: Partial<DBInstanceAutomatedBackup> = {}): DBInstanceAutomatedBackup => ({
  DBInstanceIdentifier: 'pg-dr-primary',
  DBInstanceArn: `arn:aws:rds:${HOME}:111122223333:db:pg-dr-primary`,
  Region: HOME,
  DbiResourceId: 'db-PRIMARY',
  Status: 'replicating',
  RestoreWindow: {
    EarliestTime: new Date('2026-11-24T00:00:00Z'),
    LatestTime: new Date('2026-12-01T04:50:00Z'),
  },
  DBInstanceAutomatedBackupsArn: 'arn:aws:rds:us-east-1:111122223333:auto-backup:ab-primary',
  ...over,
});
const instance = (id: string, over: Partial<DBInstance> = {}): DBInstance => ({
  DBInstanceIdentifier: id,
  DBInstanceStatus: 'available',
  TagList: [TAG],
  ...over,
});
const notFound = () => Object.assign(new Error('not found'), { name: 'DBInstanceNotFoundFault' });

beforeEach(() => rds.reset());

describe('the restore test, its RDS side', () => {
  it('names the throwaway by the execution’s start minute and name (a retried step names the same one, another execution another) and refuses a prefix RDS would refuse', () => {
    expect(TARGET).toMatch(/^pg-dr-restore-test-20261201t0500-[0-9a-f]{6}$/);
    expect(restoreTestIdentifier('pg-dr', '2026-12-01T05:00:59Z', EXECUTION)).toBe(TARGET);
    expect(restoreTestIdentifier('pg-dr', '2026-12-01T05:00:59Z', 'manual-1')).not.toBe(TARGET);
    expect(restoreTestStartedAt(TARGET, 'pg-dr')).toBe(Date.parse('2026-12-01T05:00:00Z'));
    expect(restoreTestStartedAt('pg-dr-restore-test-handmade', 'pg-dr')).toBeUndefined();
    expect(() => restoreTestIdentifier('pg-dr-', '2026-12-01T05:00:00Z', EXECUTION)).toThrow(
      /not an RDS instance identifier/,
    );
    expect(() => restoreTestIdentifier('pg-dr', 'yesterday', EXECUTION)).toThrow(/startedAt: not a time/);
  });

  it('finds the writer’s newest restorable backup across pages, whatever case RDS spells its status in', async () => {
    rds
      .on(DescribeDBInstanceAutomatedBackupsCommand, { Marker: undefined })
      .resolves({
        DBInstanceAutomatedBackups: [
          backup({ Status: 'REPLICATING', RestoreWindow: { LatestTime: new Date('2026-12-01T03:00:00Z') } }),
          backup({
            DBInstanceIdentifier: 'someone-else',
            RestoreWindow: { LatestTime: new Date('2026-12-01T05:00:00Z') },
          }),
        ],
        Marker: 'page-2',
      })
      .on(DescribeDBInstanceAutomatedBackupsCommand, { Marker: 'page-2' })
      .resolves({
        DBInstanceAutomatedBackups: [
          backup(),
          // Retained (replication stopped) and creating (no window yet) are not restorable.
          backup({ Status: 'retained', RestoreWindow: { LatestTime: new Date('2026-12-01T05:10:00Z') } }),
          backup({ Status: 'creating', RestoreWindow: undefined }),
        ],
      });
    const newest = await latestBackup(client, WRITER, DR);
    expect(newest.RestoreWindow?.LatestTime).toEqual(new Date('2026-12-01T04:50:00Z'));
    expect(await backupAge(client, WRITER, DR, Date.parse('2026-12-01T05:00:00Z'))).toEqual({
      writer: 'pg-dr-primary',
      latestRestorableTime: '2026-12-01T04:50:00.000Z',
      seconds: 600,
      replicated: true,
    });
  });

  it('says there is nothing to restore, and why to look, when the writer has no restorable backup in the region', async () => {
    rds.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({
      DBInstanceAutomatedBackups: [
        backup({ Status: 'retained' }),
        // An instance of the same name in the DR region has its own backups: not the writer's.
        backup({
          Region: DR,
          Status: 'active',
          DBInstanceArn: `arn:aws:rds:${DR}:111122223333:db:pg-dr-primary`,
        }),
      ],
    });
    await expect(latestBackup(client, WRITER, DR)).rejects.toMatchObject({
      name: 'NoBackupToRestore',
      message: expect.stringContaining('is its backup replication to us-east-1 on?') as string,
    });
  });

  it('deletes the throwaways of ended tests (older than the workflow can run, name and tag both), never a running test’s, then restores the replicated backup into the DR placement, tagged, single-AZ, private, without backups or deletion protection', async () => {
    const ended = 'pg-dr-restore-test-20261101t0500-aaaaaa';
    const stuck = 'pg-dr-restore-test-20261001t0500-bbbbbb';
    rds
      .on(DescribeDBInstancesCommand, { MaxRecords: 100 })
      .resolves({
        DBInstances: [
          instance(ended),
          instance('pg-dr-restore-test-20261002t0500-cccccc', { DBInstanceStatus: 'deleting' }),
          instance(stuck, { DBInstanceStatus: 'creating' }),
          // Another test, started an hour ago, still running: not touched.
          instance('pg-dr-restore-test-20261201t0400-dddddd', { DBInstanceStatus: 'creating' }),
          // The prefix without the tag, and the tag without the prefix: not a throwaway, never touched.
          instance('pg-dr-restore-test-handmade', { TagList: [] }),
          instance('pg-dr-replica', { TagList: [TAG] }),
        ],
      })
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: TARGET })
      .rejects(notFound())
      .on(DescribeDBInstanceAutomatedBackupsCommand)
      .resolves({ DBInstanceAutomatedBackups: [backup()] })
      .on(DeleteDBInstanceCommand, { DBInstanceIdentifier: ended })
      .resolves({})
      .on(DeleteDBInstanceCommand, { DBInstanceIdentifier: stuck })
      .rejects(
        Object.assign(new Error('not in a state to be deleted'), { name: 'InvalidDBInstanceStateFault' }),
      )
      .on(RestoreDBInstanceToPointInTimeCommand)
      .resolves({});
    const started = await startRestoreTest(
      client,
      PLACEMENT,
      { writer: WRITER, identifier: TARGET, resourcePrefix: 'pg-dr' },
      () => new Date('2026-12-01T05:00:05Z'),
    );
    expect(started).toEqual({
      instanceIdentifier: TARGET,
      sourceInstance: 'pg-dr-primary',
      restorePoint: '2026-12-01T04:50:00.000Z',
      restoreStartedAt: '2026-12-01T05:00:05.000Z',
      // A leftover RDS will not delete yet does not stop the test: it is reported, and swept again later.
      sweptLeftovers: {
        deleted: [ended, 'pg-dr-restore-test-20261002t0500-cccccc'],
        failed: [
          { instanceIdentifier: stuck, error: 'InvalidDBInstanceStateFault: not in a state to be deleted' },
        ],
      },
    });
    expect(
      rds.commandCalls(DeleteDBInstanceCommand).map((c) => c.args[0].input.DBInstanceIdentifier),
    ).toEqual([ended, stuck]);
    expect(rds.commandCalls(RestoreDBInstanceToPointInTimeCommand)[0]?.args[0].input).toEqual({
      TargetDBInstanceIdentifier: TARGET,
      SourceDBInstanceAutomatedBackupsArn: 'arn:aws:rds:us-east-1:111122223333:auto-backup:ab-primary',
      UseLatestRestorableTime: true,
      DBSubnetGroupName: 'dr-data',
      VpcSecurityGroupIds: ['sg-0123456789abcdef0'],
      DBParameterGroupName: 'dr-params',
      Port: 5432,
      MultiAZ: false,
      PubliclyAccessible: false,
      BackupRetentionPeriod: 0,
      DeletionProtection: false,
      CopyTagsToSnapshot: false,
      Tags: [TAG],
    });
  });

  it('restores a writer of the DR region (after a failover) from its own backups, by resource id', async () => {
    rds
      .on(DescribeDBInstancesCommand, { MaxRecords: 100 })
      .resolves({ DBInstances: [] })
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: TARGET })
      .rejects(notFound())
      .on(DescribeDBInstanceAutomatedBackupsCommand)
      .resolves({
        DBInstanceAutomatedBackups: [
          backup({
            DBInstanceIdentifier: 'pg-dr-replica',
            Region: DR,
            Status: 'active',
            DbiResourceId: 'db-REPLICA',
          }),
        ],
      })
      .on(RestoreDBInstanceToPointInTimeCommand)
      .resolves({});
    await startRestoreTest(client, PLACEMENT, {
      writer: { instanceIdentifier: 'pg-dr-replica', region: DR },
      identifier: TARGET,
      resourcePrefix: 'pg-dr',
    });
    const input = rds.commandCalls(RestoreDBInstanceToPointInTimeCommand)[0]?.args[0].input;
    expect(input?.SourceDbiResourceId).toBe('db-REPLICA');
    expect(input?.SourceDBInstanceAutomatedBackupsArn).toBeUndefined();
  });

  it('carries on from the instance a retried start already asked for, restoring nothing twice', async () => {
    rds
      .on(DescribeDBInstancesCommand, { MaxRecords: 100 })
      .resolves({ DBInstances: [instance(TARGET, { DBInstanceStatus: 'creating' })] })
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: TARGET })
      .resolves({
        DBInstances: [
          instance(TARGET, {
            DBInstanceStatus: 'creating',
            InstanceCreateTime: new Date('2026-12-01T05:00:07Z'),
          }),
        ],
      })
      .on(DescribeDBInstanceAutomatedBackupsCommand)
      .resolves({ DBInstanceAutomatedBackups: [backup()] });
    const started = await startRestoreTest(client, PLACEMENT, {
      writer: WRITER,
      identifier: TARGET,
      resourcePrefix: 'pg-dr',
    });
    expect(started).toMatchObject({
      restoreStartedAt: '2026-12-01T05:00:07.000Z',
      sweptLeftovers: { deleted: [], failed: [] },
    });
    expect(rds.commandCalls(RestoreDBInstanceToPointInTimeCommand)).toHaveLength(0);
    expect(rds.commandCalls(DeleteDBInstanceCommand)).toHaveLength(0);
  });

  it('follows the restore until available, and fails at once when RDS gives up on it or it is gone', async () => {
    const at = () => new Date('2026-12-01T05:42:00Z');
    rds
      .on(DescribeDBInstancesCommand)
      .resolvesOnce({ DBInstances: [instance(TARGET, { DBInstanceStatus: 'creating' })] })
      .resolvesOnce({
        DBInstances: [instance(TARGET, { Endpoint: { Address: 'throwaway.example', Port: 5432 } })],
      })
      .resolvesOnce({ DBInstances: [instance(TARGET, { DBInstanceStatus: 'incompatible-restore' })] })
      .rejectsOnce(notFound());
    expect(await advanceRestoreTest(client, TARGET, at)).toMatchObject({
      done: false,
      status: 'creating',
      endpoint: null,
    });
    expect(await advanceRestoreTest(client, TARGET, at)).toEqual({
      instanceIdentifier: TARGET,
      status: 'available',
      done: true,
      endpoint: 'throwaway.example',
      port: 5432,
      observedAt: '2026-12-01T05:42:00.000Z',
    });
    await expect(advanceRestoreTest(client, TARGET)).rejects.toMatchObject({ name: 'RestoreFailed' });
    await expect(advanceRestoreTest(client, TARGET)).rejects.toMatchObject({
      name: 'RestoreTestInstanceMissing',
    });
  });

  it('deletes only a throwaway instance (name and tag), without a final snapshot, and is done when it is gone or going', async () => {
    rds
      .on(DeleteDBInstanceCommand)
      .resolves({})
      .on(DescribeDBInstancesCommand)
      .resolvesOnce({ DBInstances: [instance(TARGET)] })
      .resolvesOnce({ DBInstances: [instance(TARGET, { DBInstanceStatus: 'deleting' })] })
      .rejectsOnce(notFound())
      // Its name without the tag (someone made it by hand): refused, untouched.
      .resolvesOnce({ DBInstances: [instance(TARGET, { TagList: [] })] });
    const deleting = { instanceIdentifier: TARGET, outcome: 'deleting' };
    expect(await deleteRestoreTest(client, TARGET, 'pg-dr')).toEqual(deleting);
    expect(await deleteRestoreTest(client, TARGET, 'pg-dr')).toEqual(deleting);
    expect(await deleteRestoreTest(client, TARGET, 'pg-dr')).toEqual({
      instanceIdentifier: TARGET,
      outcome: 'gone',
    });
    await expect(deleteRestoreTest(client, TARGET, 'pg-dr')).rejects.toMatchObject({
      name: 'NotARestoreTest',
    });
    expect(rds.commandCalls(DeleteDBInstanceCommand).map((c) => c.args[0].input)).toEqual([
      { DBInstanceIdentifier: TARGET, SkipFinalSnapshot: true, DeleteAutomatedBackups: true },
    ]);
  });

  it('measures the restore from the accepted request to the first round that saw it available', () => {
    expect(restoreSeconds('2026-12-01T05:00:05.000Z', '2026-12-01T05:42:00.000Z')).toBe(2515);
    expect(restoreSeconds(undefined, '2026-12-01T05:42:00.000Z')).toBeNull();
  });
});

describe('what a restore test restores and compares with', () => {
  const writer = { region: HOME, instanceIdentifier: 'pg-dr-primary', endpoint: 'primary.example' };
  const replica = {
    region: DR,
    instanceIdentifier: 'pg-dr-replica',
    endpoint: 'replica.example',
    port: 5433,
  };
  const topology = (over: Partial<Topology>): Topology => ({
    generation: 1,
    writer,
    replica,
    retired: [],
    changedBy: 'first deploy',
    ...over,
  });
  const defaults = { port: 5432, secretId: 'pg-dr/postgres-master' };

  it('restores the writer’s backup and compares with the DR replica, opened by the writer’s secret', () => {
    expect(restoreTestSubject(topology({}), DR, defaults)).toEqual({
      writer: { instanceIdentifier: 'pg-dr-primary', region: HOME },
      secretId: 'pg-dr/postgres-master',
      live: {
        name: 'the DR replica pg-dr-replica',
        host: 'replica.example',
        port: 5433,
        secretId: 'pg-dr/postgres-master',
      },
    });
  });

  it('after a failover compares with the writer itself in the DR region; a green writer’s own secret opens its copy', () => {
    const promoted = { ...replica, secretId: 'pg-dr/green-1' };
    expect(restoreTestSubject(topology({ writer: promoted, replica: null }), DR, defaults)).toEqual({
      writer: { instanceIdentifier: 'pg-dr-replica', region: DR },
      secretId: 'pg-dr/green-1',
      live: {
        name: 'the writer pg-dr-replica',
        host: 'replica.example',
        port: 5433,
        secretId: 'pg-dr/green-1',
      },
    });
  });

  it('has nothing to compare with while DR is degraded and the writer is in the other region', () => {
    expect(restoreTestSubject(topology({ replica: null }), DR, defaults).live).toBeNull();
  });
});

describe('the hourly backup status', () => {
  const sfn = mockClient(SFNClient);
  const ENV = {
    RESTORE_TEST_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-restore-test',
    RESTORE_REGION: DR,
    TOPOLOGY_REGION: 'us-east-1',
    RESOURCE_PREFIX: 'pg-dr',
  };
  const before = { ...process.env };
  beforeEach(() => {
    sfn.reset();
    Object.assign(process.env, ENV);
    parameterStore({
      [topologyParameterNames('pg-dr').document]: JSON.stringify({
        generation: 1,
        writer: { region: HOME, instanceIdentifier: 'pg-dr-primary', endpoint: 'p.example' },
        replica: null,
        retired: [],
        changedBy: 'first deploy',
      }),
    });
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: 'x',
          stateMachineArn: ENV.RESTORE_TEST_STATE_MACHINE_ARN,
          name: 'monthly',
          status: 'SUCCEEDED',
          startDate: new Date(Date.now() - 3 * 86_400_000),
          stopDate: new Date(Date.now() - 3 * 86_400_000),
        },
      ],
    });
  });
  afterAll(() => {
    process.env = before;
  });

  it('deletes the throwaway a stopped test left, and publishes the hours since a test passed and the age of the writer’s newest restorable point', async () => {
    const left = restoreTestIdentifier(
      'pg-dr',
      new Date(Date.now() - 40 * 3_600_000).toISOString(),
      'stopped',
    );
    const running = restoreTestIdentifier('pg-dr', new Date(Date.now() - 3_600_000).toISOString(), 'running');
    rds
      .on(DescribeDBInstanceAutomatedBackupsCommand)
      .resolves({
        DBInstanceAutomatedBackups: [
          backup({ RestoreWindow: { LatestTime: new Date(Date.now() - 900_000) } }),
        ],
      })
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [instance(left), instance(running, { DBInstanceStatus: 'creating' })] })
      .on(DeleteDBInstanceCommand)
      .resolves({});
    const status = await statusHandler();
    expect(status.throwaways).toEqual({ deleted: [left], failed: [] });
    expect(
      rds.commandCalls(DeleteDBInstanceCommand).map((c) => c.args[0].input.DBInstanceIdentifier),
    ).toEqual([left]);
    expect(status.restoreTest).toMatchObject({ hours: 72, basis: 'last-success' });
    expect(status.backup).toMatchObject({ writer: 'pg-dr-primary', replicated: true });
    expect(Math.abs(status.backup.seconds - 900)).toBeLessThan(60);
  });

  it('fails (its errors alarm pages; BackupAge goes missing, which its alarm counts) when the writer has no backup there', async () => {
    rds
      .on(DescribeDBInstanceAutomatedBackupsCommand)
      .resolves({ DBInstanceAutomatedBackups: [] })
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [] });
    await expect(statusHandler()).rejects.toMatchObject({ name: 'NoBackupToRestore' });
  });
});
