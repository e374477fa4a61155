import { RdsSimulator } from '../../lib/local-aws/rds';
import { LocalAws, type Authorizer } from '../../lib/local-aws/world';
import { failure } from '../support/aws-failure';

/** The simulated RDS's backups and restores: what the restore test relies on (catalogue rows in brackets). */

const ACCOUNT = '111122223333';
const DR = 'us-west-2';
const HOME = 'us-east-1';

function restoreWorld(authorizer?: Authorizer) {
  const c = { t: 1_000_000, now: () => c.t };
  const rds = new RdsSimulator(ACCOUNT, { createMs: 1000, modifyMs: 100, rebootMs: 0 }, { now: c.now });
  const backup = rds.addAutomatedBackup({
    region: DR,
    arn: `arn:aws:rds:${DR}:${ACCOUNT}:auto-backup:ab-primary`,
    dbiResourceId: 'db-PRIMARY',
    instanceIdentifier: 'pg-dr-primary',
    sourceRegion: HOME,
    status: 'replicating',
    earliestTime: new Date('2026-11-24T00:00:00Z'),
    latestTime: new Date('2026-12-01T05:55:00Z'),
  });
  const aws = new LocalAws({
    account: ACCOUNT,
    simulators: [rds],
    ...(authorizer === undefined ? {} : { authorizer }),
  });
  return { c, rds, aws, backup };
}

const restoreRequest = (arn: string) => ({
  TargetDBInstanceIdentifier: 'pg-dr-restore-test-20261201t0500',
  SourceDBInstanceAutomatedBackupsArn: arn,
  UseLatestRestorableTime: true,
  DBSubnetGroupName: 'dr-data',
  VpcSecurityGroupIds: ['sg-0123456789abcdef0'],
  DBParameterGroupName: 'dr-params',
  Tags: [{ Key: 'pg-dr:role', Value: 'restore-test' }],
});

describe('simulated RDS backups and restores', () => {
  it('[rds.DescribeDBInstanceAutomatedBackups.window] [rds.DescribeDBInstanceAutomatedBackups.replicated-arn] lists the backups kept in the region, with their window and ARN, in pages', async () => {
    const { rds, aws } = restoreWorld();
    for (let i = 0; i < 24; i++)
      rds.addAutomatedBackup({
        region: DR,
        arn: `arn:aws:rds:${DR}:${ACCOUNT}:auto-backup:ab-other-${i}`,
        dbiResourceId: `db-OTHER${i}`,
        instanceIdentifier: `other-${i}`,
        sourceRegion: HOME,
        status: 'replicating',
        earliestTime: new Date('2026-11-30T00:00:00Z'),
        latestTime: new Date('2026-12-01T00:00:00Z'),
      });
    const first = (await aws.call('rds', 'DescribeDBInstanceAutomatedBackups', { MaxRecords: 20 }, DR)) as {
      DBInstanceAutomatedBackups: {
        DBInstanceIdentifier: string;
        RestoreWindow: { LatestTime: Date };
        DBInstanceAutomatedBackupsArn: string;
        Region: string;
      }[];
      Marker?: string;
    };
    expect(first.DBInstanceAutomatedBackups).toHaveLength(20);
    expect(first.DBInstanceAutomatedBackups[0]).toMatchObject({
      DBInstanceIdentifier: 'pg-dr-primary',
      Region: HOME,
      DBInstanceAutomatedBackupsArn: `arn:aws:rds:${DR}:${ACCOUNT}:auto-backup:ab-primary`,
      RestoreWindow: { LatestTime: new Date('2026-12-01T05:55:00Z') },
    });
    const second = (await aws.call(
      'rds',
      'DescribeDBInstanceAutomatedBackups',
      { MaxRecords: 20, Marker: first.Marker },
      DR,
    )) as { DBInstanceAutomatedBackups: unknown[]; Marker?: string };
    expect(second.DBInstanceAutomatedBackups).toHaveLength(5);
    expect(second.Marker).toBeUndefined();
    // Another region keeps none of them.
    expect(await aws.call('rds', 'DescribeDBInstanceAutomatedBackups', {}, HOME)).toEqual({
      DBInstanceAutomatedBackups: [],
    });
  });

  it('[rds.RestoreDBInstanceToPointInTime.replicated-backup] restores a replicated backup into a new instance that is creating, then available, on the groups named', async () => {
    const { c, aws, backup } = restoreWorld();
    const answer = (await aws.call(
      'rds',
      'RestoreDBInstanceToPointInTime',
      restoreRequest(backup.arn),
      DR,
    )) as {
      DBInstance: { DBInstanceStatus: string; Endpoint?: unknown };
    };
    expect(answer.DBInstance.DBInstanceStatus).toBe('creating');
    expect(answer.DBInstance.Endpoint).toBeUndefined();
    c.t += 1000;
    const described = (await aws.call(
      'rds',
      'DescribeDBInstances',
      { DBInstanceIdentifier: 'pg-dr-restore-test-20261201t0500' },
      DR,
    )) as { DBInstances: Record<string, unknown>[] };
    expect(described.DBInstances[0]).toMatchObject({
      DBInstanceStatus: 'available',
      Endpoint: { Port: 5432 },
      DBParameterGroups: [{ DBParameterGroupName: 'dr-params' }],
      DBSubnetGroup: { DBSubnetGroupName: 'dr-data' },
      TagList: [{ Key: 'pg-dr:role', Value: 'restore-test' }],
      DeletionProtection: false,
    });
  });

  it('[rds.RestoreDBInstanceToPointInTime.already-exists] [rds.RestoreDBInstanceToPointInTime.backup-not-found] refuses an existing target and backups the region does not keep', async () => {
    const { aws, backup } = restoreWorld();
    await aws.call('rds', 'RestoreDBInstanceToPointInTime', restoreRequest(backup.arn), DR);
    expect(
      await failure(aws.call('rds', 'RestoreDBInstanceToPointInTime', restoreRequest(backup.arn), DR)),
    ).toMatchObject({ name: 'DBInstanceAlreadyExistsFault', status: 400 });
    expect(
      await failure(
        aws.call(
          'rds',
          'RestoreDBInstanceToPointInTime',
          {
            ...restoreRequest(`arn:aws:rds:${DR}:${ACCOUNT}:auto-backup:ab-gone`),
            TargetDBInstanceIdentifier: 'other',
          },
          DR,
        ),
      ),
    ).toMatchObject({ name: 'DBInstanceAutomatedBackupNotFoundFault', status: 404 });
    // The backups are kept in the DR region only.
    expect(
      await failure(aws.call('rds', 'RestoreDBInstanceToPointInTime', restoreRequest(backup.arn), HOME)),
    ).toMatchObject({ name: 'DBInstanceAutomatedBackupNotFoundFault' });
  });

  it('[rds.RestoreDBInstanceToPointInTime.tags] authorizes the tags as AddTagsToResource, with the request tags in the context', async () => {
    const seen: { action: string; resources: readonly string[]; context?: unknown }[] = [];
    const { aws, backup } = restoreWorld({
      principalArn: () => `arn:aws:sts::${ACCOUNT}:assumed-role/r/f`,
      allows: (_p, req) => {
        seen.push({ action: req.action, resources: req.resources, context: req.context });
        return Promise.resolve(req.action !== 'rds:AddTagsToResource');
      },
    });
    const e = await failure(
      aws.call('rds', 'RestoreDBInstanceToPointInTime', restoreRequest(backup.arn), DR, 'step'),
    );
    expect(e).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(e.message).toContain('rds:AddTagsToResource');
    // Each resource the restore names is authorized, every one with the request tags in the context.
    const restore = seen.filter((r) => r.action === 'rds:RestoreDBInstanceToPointInTime');
    expect(restore.flatMap((r) => r.resources)).toEqual([
      `arn:aws:rds:${DR}:${ACCOUNT}:db:pg-dr-restore-test-20261201t0500`,
      backup.arn,
      `arn:aws:rds:${DR}:${ACCOUNT}:subgrp:dr-data`,
      `arn:aws:rds:${DR}:${ACCOUNT}:pg:dr-params`,
    ]);
    for (const r of restore)
      expect(r.context).toEqual({
        'aws:RequestTag/pg-dr:role': 'restore-test',
        'aws:TagKeys': ['pg-dr:role'],
      });
  });
});

describe('simulated RDS backup replication', () => {
  it('[rds.StartDBInstanceAutomatedBackupsReplication.destination] [rds.StartDBInstanceAutomatedBackupsReplication.not-found] [rds.StartDBInstanceAutomatedBackupsReplication.invalid-state] keeps a source’s backups in the destination region, listed on the source; refuses a missing source or one without backups', async () => {
    const { rds, aws } = restoreWorld();
    rds.addInstance({ id: 'green', region: HOME });
    rds.addInstance({ id: 'nobackups', region: HOME, backupRetentionPeriod: 0 });
    const sourceArn = `arn:aws:rds:${HOME}:${ACCOUNT}:db:green`;
    await aws.call(
      'rds',
      'StartDBInstanceAutomatedBackupsReplication',
      {
        SourceDBInstanceArn: sourceArn,
        KmsKeyId: 'arn:aws:kms:us-west-2:111122223333:key/k',
        BackupRetentionPeriod: 7,
      },
      DR,
    );
    const listed = (await aws.call('rds', 'DescribeDBInstanceAutomatedBackups', {}, DR)) as {
      DBInstanceAutomatedBackups: { DBInstanceIdentifier: string; Region: string; Status: string }[];
    };
    expect(listed.DBInstanceAutomatedBackups.find((b) => b.DBInstanceIdentifier === 'green')).toMatchObject({
      Region: HOME,
      Status: 'replicating',
    });
    const source = (await aws.call(
      'rds',
      'DescribeDBInstances',
      { DBInstanceIdentifier: 'green' },
      HOME,
    )) as {
      DBInstances: { DBInstanceAutomatedBackupsReplications?: { DBInstanceAutomatedBackupsArn: string }[] }[];
    };
    expect(source.DBInstances[0]?.DBInstanceAutomatedBackupsReplications).toEqual([
      { DBInstanceAutomatedBackupsArn: `arn:aws:rds:${DR}:${ACCOUNT}:auto-backup:ab-green` },
    ]);
    expect(
      await failure(
        aws.call(
          'rds',
          'StartDBInstanceAutomatedBackupsReplication',
          { SourceDBInstanceArn: `arn:aws:rds:${HOME}:${ACCOUNT}:db:gone` },
          DR,
        ),
      ),
    ).toMatchObject({ name: 'DBInstanceNotFoundFault', status: 404 });
    expect(
      await failure(
        aws.call(
          'rds',
          'StartDBInstanceAutomatedBackupsReplication',
          { SourceDBInstanceArn: `arn:aws:rds:${HOME}:${ACCOUNT}:db:nobackups` },
          DR,
        ),
      ),
    ).toMatchObject({ name: 'InvalidDBInstanceStateFault', status: 400 });
  });
});
