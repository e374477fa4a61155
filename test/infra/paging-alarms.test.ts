import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { pagingAlarmsIn } from '../../lib/constructs/paging-alarm';
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

const ADOPTED = {
  database: { primaryInstanceIdentifier: 'orders-prod' },
  adoptPrimary: {
    endpointAddress: 'orders-prod.abcdefghijkl.us-west-2.rds.amazonaws.com',
    securityGroupId: 'sg-0123456789abcdef0',
    subnetGroupName: 'orders-db-subnets',
    parameterGroupBeforeAdoption: 'default.postgres17',
    vpc: {
      vpcId: 'vpc-0123456789abcdef0',
      cidr: '172.31.0.0/16',
      subnets: [
        {
          subnetId: 'subnet-0aaaaaaaaaaaaaaa1',
          availabilityZone: 'us-west-2a',
          routeTableId: 'rtb-0aaaaaaaaaaaaaaa1',
        },
      ],
      peeringRouteTableIds: ['rtb-0aaaaaaaaaaaaaaa1'],
      secretsManagerEndpoint: 'existing',
    },
  },
};

describe.each([
  ['the default app with a sidecar', { sidecarHealthUrl: 'https://sidecar.provability-fabric.org/health' }],
  ['an adopted primary', ADOPTED],
])('every paging alarm of %s', (_what, overrides) => {
  const alarms = pagingAlarmsIn(synthApp(overrides).app).map(described);

  it('includes the storage, slot, backup replication and rotation alarms', () => {
    expect(alarms.map((a) => a.name)).toEqual(
      expect.arrayContaining([
        'pg-dr-writer-free-storage-low',
        'pg-dr-replica-free-storage-low',
        'pg-dr-replication-slot-wal-high',
        'pg-dr-backup-replication-failing',
        'pg-dr-secret-rotation-failing',
        'pg-dr-primary-probe-errors',
      ]),
    );
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
    expect(byName('pg-dr-replication-slot-wal-high')).toMatchObject({
      MetricName: 'OldestReplicationSlotLag',
      Dimensions: [{ Name: 'Database', Value: 'writer' }],
      Statistic: 'Maximum',
      Threshold: 8 * 1024 ** 3,
      ComparisonOperator: 'GreaterThanThreshold',
    });
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
    const rules = Object.values(
      t.findResources('AWS::Events::Rule', {
        Properties: { EventPattern: { source: ['aws.secretsmanager'] } },
      }) as Record<string, { Properties: { EventPattern: Record<string, unknown> } }>,
    );
    expect(rules).toHaveLength(1);
    const pattern = rules[0]?.Properties.EventPattern;
    expect(pattern).toMatchObject({
      'detail-type': ['AWS Service Event via CloudTrail'],
      detail: { eventSource: ['secretsmanager.amazonaws.com'], eventName: ['RotationFailed'] },
    });
    // Only this secret's rotations: a prefix of its ARN (Secrets Manager appends six characters).
    expect(JSON.stringify(pattern)).toContain(
      ':secretsmanager:us-west-2:111122223333:secret:pg-dr/postgres-master-',
    );
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pg-dr-secret-rotation-failing',
      Namespace: 'AWS/Events',
      MetricName: 'MatchedEvents',
    });
  });

  it('refuses a threshold out of range, naming the key', () => {
    expect(() => synthApp({ alarms: { freeStorageLowGiB: 0 } })).toThrow(
      'dr.alarms.freeStorageLowGiB must be a whole number from 1 to 1024',
    );
  });
});
