import {
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  RestoreDBInstanceToPointInTimeCommand,
} from '@aws-sdk/client-rds';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { runCli } from '../../lib/cli/program';
import type { RestoreIo } from '../../lib/cli/restore-command';
import type { Topology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { followingIo } from '../support/cli';
import { parameterStore } from '../support/parameter-store';

const rds = mockClient(RDSClient);
const DR = 'us-east-1';
const TOPOLOGY: Topology = {
  generation: 1,
  writer: { region: 'us-west-2', instanceIdentifier: 'pg-dr-primary', endpoint: 'p.example' },
  replica: { region: DR, instanceIdentifier: 'pg-dr-replica', endpoint: 'r.example' },
  retired: [],
  changedBy: 'first deploy',
};
const notFound = () => Object.assign(new Error('not found'), { name: 'DBInstanceNotFoundFault' });

async function dr(argv: string[]) {
  parameterStore({ [topologyParameterNames('pg-dr').document]: JSON.stringify(TOPOLOGY) });
  const { io, written, cli } = followingIo('2026-12-01T06:00:00Z');
  const restoreIo: RestoreIo = {
    out: io.out,
    now: io.now,
    sleep: io.sleep,
    rds: new RDSClient({ region: DR }),
    ssm: new SSMClient({ region: 'us-east-1' }),
  };
  const code = await runCli(['restore', '--region', DR, ...argv], cli({ restoreIo: () => restoreIo }));
  return { code, ...written };
}

beforeEach(() => {
  rds.reset();
  rds
    .on(DescribeDBInstanceAutomatedBackupsCommand)
    .resolves({
      DBInstanceAutomatedBackups: [
        {
          DBInstanceIdentifier: 'pg-dr-primary',
          Region: 'us-west-2',
          Status: 'replicating',
          BackupRetentionPeriod: 14,
          DBInstanceAutomatedBackupsArn: `arn:aws:rds:${DR}:111122223333:auto-backup:ab-primary`,
          RestoreWindow: {
            EarliestTime: new Date('2026-11-24T04:00:00Z'),
            LatestTime: new Date('2026-12-01T05:55:00Z'),
          },
        },
      ],
    })
    .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'pg-dr-replica' })
    .resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'pg-dr-replica',
          DBInstanceClass: 'db.r6g.large',
          DBSubnetGroup: { DBSubnetGroupName: 'dr-data' },
          VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0123456789abcdef0', Status: 'active' }],
          DBParameterGroups: [{ DBParameterGroupName: 'dr-params' }],
          Endpoint: { Address: 'r.example', Port: 5432 },
          MultiAZ: true,
          // RDS keeps no automated backups of a PostgreSQL read replica.
          BackupRetentionPeriod: 0,
        },
      ],
    })
    .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'pg-dr-restored' })
    .rejectsOnce(notFound())
    .resolvesOnce({ DBInstances: [{ DBInstanceIdentifier: 'pg-dr-restored', DBInstanceStatus: 'creating' }] })
    .resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'pg-dr-restored',
          DBInstanceStatus: 'available',
          Endpoint: { Address: 'restored.example', Port: 5432 },
        },
      ],
    })
    .on(RestoreDBInstanceToPointInTimeCommand)
    .resolves({});
});

describe('dr restore', () => {
  it('restores the writer’s replicated backups to a time into a new, protected instance placed like the DR replica, and follows it', async () => {
    const { code, out } = await dr([
      '--to-point-in-time',
      '2026-12-01T04:30:00Z',
      '--target-id',
      'pg-dr-restored',
    ]);
    expect(code).toBe(0);
    expect(rds.commandCalls(RestoreDBInstanceToPointInTimeCommand)[0]?.args[0].input).toEqual({
      TargetDBInstanceIdentifier: 'pg-dr-restored',
      SourceDBInstanceAutomatedBackupsArn: `arn:aws:rds:${DR}:111122223333:auto-backup:ab-primary`,
      RestoreTime: new Date('2026-12-01T04:30:00Z'),
      DBInstanceClass: 'db.r6g.large',
      DBSubnetGroupName: 'dr-data',
      VpcSecurityGroupIds: ['sg-0123456789abcdef0'],
      DBParameterGroupName: 'dr-params',
      Port: 5432,
      MultiAZ: true,
      PubliclyAccessible: false,
      DeletionProtection: true,
      // As long as the source's backups are kept (the replica placed like keeps none).
      BackupRetentionPeriod: 14,
      CopyTagsToSnapshot: true,
      EnableIAMDatabaseAuthentication: true,
      Tags: [
        { Key: 'pg-dr:restored-from', Value: 'pg-dr-primary' },
        { Key: 'pg-dr:restore-point', Value: '2026-12-01T04:30:00.000Z' },
      ],
    });
    expect(out).toContain('pg-dr-restored: creating');
    expect(out).toContain('pg-dr-restored: available');
    expect(out).toContain('pg-dr-restored is available at restored.example:5432.');
    expect(out).toContain('docs/runbooks.md, Restore from backup');
  });

  it('says what it would do and restores nothing on a dry run; `latest` is the latest restorable time', async () => {
    const { code, out } = await dr([
      '--to-point-in-time',
      'latest',
      '--target-id',
      'pg-dr-restored',
      '--dry-run',
    ]);
    expect(code).toBe(0);
    expect(rds.commandCalls(RestoreDBInstanceToPointInTimeCommand)).toHaveLength(0);
    expect(out).toBe(
      'Would restore pg-dr-primary in us-east-1 (backups replicated from its region, window 2026-11-24T04:00:00.000Z to 2026-12-01T05:55:00.000Z) to latest into pg-dr-restored, placed like pg-dr-replica. Nothing was restored.\n',
    );
  });

  it('takes the backups of the topology’s instance, not those of another instance of its name in the region', async () => {
    // A pg-dr-primary of the DR region (not the topology's, which is of us-west-2) with a newer window.
    rds.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({
      DBInstanceAutomatedBackups: [
        {
          DBInstanceIdentifier: 'pg-dr-primary',
          Region: DR,
          Status: 'active',
          DbiResourceId: 'db-NOTTHEWRITER',
          RestoreWindow: {
            EarliestTime: new Date('2026-11-30T00:00:00Z'),
            LatestTime: new Date('2026-12-01T05:59:00Z'),
          },
        },
        {
          DBInstanceIdentifier: 'pg-dr-primary',
          Region: 'us-west-2',
          Status: 'replicating',
          DBInstanceAutomatedBackupsArn: `arn:aws:rds:${DR}:111122223333:auto-backup:ab-primary`,
          RestoreWindow: {
            EarliestTime: new Date('2026-11-24T04:00:00Z'),
            LatestTime: new Date('2026-12-01T05:55:00Z'),
          },
        },
        ...[DR, 'us-west-2'].map((origin) => ({
          DBInstanceIdentifier: 'pg-dr-old',
          Region: origin,
          Status: 'retained',
          RestoreWindow: {
            EarliestTime: new Date('2026-11-24T04:00:00Z'),
            LatestTime: new Date('2026-12-01T05:55:00Z'),
          },
        })),
      ],
    });
    const { code, out } = await dr([
      '--to-point-in-time',
      'latest',
      '--target-id',
      'pg-dr-restored',
      '--dry-run',
    ]);
    expect(code).toBe(0);
    expect(out).toContain(
      '(backups replicated from its region, window 2026-11-24T04:00:00.000Z to 2026-12-01T05:55:00.000Z)',
    );
    // An instance the topology does not know, whose name has backups from both regions, is not guessed.
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'pg-dr-other' }).rejects(notFound());
    const unknown = await dr([
      '--to-point-in-time',
      'latest',
      '--target-id',
      'pg-dr-other',
      '--source-instance',
      'pg-dr-old',
      '--dry-run',
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain(
      `pg-dr-old names instances of ${DR} and us-west-2 whose backups are both in ${DR}, and the topology knows neither`,
    );
  });

  it('refuses a time outside the restore window, naming the window, before restoring anything', async () => {
    const { code, err } = await dr([
      '--to-point-in-time',
      '2026-11-01T00:00:00Z',
      '--target-id',
      'pg-dr-restored',
    ]);
    expect(code).toBe(2);
    expect(err).toContain(
      'outside the restore window of pg-dr-primary in us-east-1: 2026-11-24T04:00:00.000Z to',
    );
    expect(rds.commandCalls(RestoreDBInstanceToPointInTimeCommand)).toHaveLength(0);
  });

  it('refuses a target that exists or names a database of the topology, and a time without its zone', async () => {
    expect((await dr(['--to-point-in-time', 'latest', '--target-id', 'pg-dr-replica'])).code).toBe(2);
    const local = await dr(['--to-point-in-time', '2026-12-01T04:30:00', '--target-id', 'pg-dr-restored']);
    expect(local.code).toBe(2);
    expect(local.err).toContain('ISO 8601 time with its zone');
    expect(rds.commandCalls(RestoreDBInstanceToPointInTimeCommand)).toHaveLength(0);
  });
});
