import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { pagingAlarmsIn } from '../../lib/constructs/paging-alarm';
import { ADOPTED } from '../support/adopted-config';
import { synthApp } from './test-config';

const runbooks = readFileSync(join(__dirname, '..', '..', 'docs', 'runbooks.md'), 'utf8');
const headings = runbooks.split('\n').filter((line) => /^#{2,3} /.test(line));

/** Name and description of a paging alarm, as CloudFormation will get them. */
function described(alarm: cloudwatch.Alarm): { name: string; description: string } {
  const cfn = alarm.node.defaultChild as cloudwatch.CfnAlarm;
  const stack = Stack.of(alarm);
  return {
    name: String(stack.resolve(cfn.alarmName)),
    description: String(stack.resolve(cfn.alarmDescription)),
  };
}

describe.each([
  [
    'the default app with a sidecar',
    { sidecarHealthUrl: 'https://sidecar.provability-fabric.org/health' },
    true,
  ],
  ['an adopted primary', ADOPTED, false],
])('every paging alarm of %s', (_what, overrides, rotates) => {
  const alarms = pagingAlarmsIn(synthApp(overrides).app).map(described);

  it('includes the storage, slot, backup replication and (where the app rotates the secret) rotation alarms', () => {
    const names = alarms.map((a) => a.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'pg-dr-writer-free-storage-low',
        'pg-dr-replica-free-storage-low',
        'pg-dr-replication-slot-wal-high',
        'pg-dr-backup-replication-failing',
        'pg-dr-primary-probe-errors',
      ]),
    );
    // An adopted primary's secret rotates by its owner's arrangement: the app knows no function to watch.
    expect(names.includes('pg-dr-secret-rotation-failing')).toBe(rotates);
  });

  it.each(alarms.map((a) => [a.name, a]))(
    '%s says what it means, the first command, and a runbook section that names it',
    (_name, { name, description }) => {
      expect(description.length).toBeLessThanOrEqual(1024);
      expect(description).toMatch(/First: \S/);
      const reference = /Runbook: docs\/runbooks\.md, ([^.]+)\.$/.exec(description);
      const title = reference?.[1] ?? 'none';
      const heading = headings.find((h) => h.replace(/^#+ /, '').startsWith(title));
      // The section the description names exists, and its heading names this alarm.
      expect({ name, title, namedByHeading: heading?.includes(`\`${name}\``) ?? false }).toEqual({
        name,
        title,
        namedByHeading: true,
      });
    },
  );
});

describe('alarm thresholds as configuration', () => {
  it('pages on free storage and slot WAL at the configured GiB, on the roles the topology sync relays', () => {
    const { stacks } = synthApp({ alarms: { freeStorageLowGiB: 20, replicationSlotWalHighGiB: 8 } });
    const t = Template.fromStack(stacks.orchestration);
    const byName = (name: string) =>
      Object.values(
        t.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: name } }) as Record<
          string,
          { Properties: Record<string, unknown> }
        >,
      )[0]?.Properties;
    expect(byName('pg-dr-writer-free-storage-low')).toMatchObject({
      Namespace: 'PostgresDR',
      MetricName: 'FreeStorageSpace',
      Dimensions: [{ Name: 'Database', Value: 'writer' }],
      Statistic: 'Minimum',
      Threshold: 20 * 1024 ** 3,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(byName('pg-dr-replica-free-storage-low')).toMatchObject({
      Dimensions: [{ Name: 'Database', Value: 'replica' }],
      Threshold: 20 * 1024 ** 3,
    });
    const slot = byName('pg-dr-replication-slot-wal-high');
    expect(slot).toMatchObject({ Threshold: 8 * 1024 ** 3, ComparisonOperator: 'GreaterThanThreshold' });
    // The larger of the most-behind slot's WAL and all the WAL on the writer's disk, both relayed for the writer.
    const queries = slot?.Metrics as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: unknown; Stat: string };
    }[];
    expect(queries.find((q) => q.Expression !== undefined)?.Expression).toBe('MAX([slot, disk])');
    expect(queries.filter((q) => q.MetricStat !== undefined).map((q) => q.MetricStat)).toEqual(
      expect.arrayContaining(
        ['OldestReplicationSlotLag', 'TransactionLogsDiskUsage'].map((name) => ({
          Metric: {
            Namespace: 'PostgresDR',
            MetricName: name,
            Dimensions: [{ Name: 'Database', Value: 'writer' }],
          },
          Period: 60,
          Stat: 'Maximum',
        })),
      ),
    );
    expect(slot).toMatchObject({});
  });

  it('watches the backup replication rule and the master secret rotation in the primary region', () => {
    const { stacks } = synthApp();
    const t = Template.fromStack(stacks.primary);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pg-dr-backup-replication-failing',
      Namespace: 'AWS/S3',
      MetricName: 'OperationsFailedReplication',
      Dimensions: [
        { Name: 'DestinationBucket', Value: 'pg-dr-backups-111122223333-us-east-1' },
        { Name: 'RuleId', Value: 'replicate-backups' },
        { Name: 'SourceBucket', Value: 'pg-dr-backups-111122223333-us-west-2' },
      ],
    });
    // The hosted rotation function has a fixed name, and the alarm counts its errors (failed or timed-out steps).
    t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      HostedRotationLambda: Match.objectLike({ RotationLambdaName: 'pg-dr-master-secret-rotation' }),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pg-dr-secret-rotation-failing',
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: 'pg-dr-master-secret-rotation' }],
    });
  });

  it('refuses a threshold out of range, naming the key', () => {
    expect(() => synthApp({ alarms: { freeStorageLowGiB: 0 } })).toThrow(
      'dr.alarms.freeStorageLowGiB must be a whole number from 1 to 1024',
    );
  });
});
