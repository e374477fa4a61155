import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { DRILL_METRICS, DUMP_METRICS, RESTORE_TEST_METRICS } from '../../lambdas/shared/metric-names';
import { restoreTestMetric } from './backup-restore-test';
import { dumpMetric } from './dump-status';
import { ROUTE53_METRICS_REGION } from '../names';
import { drillMetric, type DrillBudgetsProps } from './failover-drill';

export interface DrDashboardProps {
  readonly dashboardName: string;
  readonly budgets: DrillBudgetsProps;
  readonly staleAfterDays: number;
  /** The lag of the replica the topology names (relayed by the topology sync: ReplicaLagAlarm). */
  readonly replicaLag: cloudwatch.IMetric;
  /** The primary database's child health check (what pages on-call). */
  readonly primaryDatabaseHealthCheckId: string;
  /** The backups' figures: published in the DR region by its restore test and backup status. */
  readonly backups: {
    readonly region: string;
    readonly staleAfterDays: number;
    readonly maxBackupAgeMinutes: number;
  };
  /** The logical dumps' figures: the runs in the primary region, the age of the newest dump in each region. */
  readonly dumps: {
    readonly primaryRegion: string;
    readonly drRegion: string;
    readonly maxAgeHours: number;
  };
}

const budgetLine = (label: string, value: number): cloudwatch.HorizontalAnnotation => ({
  label: `${label} budget ${value} s`,
  value,
  color: cloudwatch.Color.RED,
});

/** The DR figures over time: each drill's measurements against its budgets, replication, and the alarms. */
export class DrDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: DrDashboardProps) {
    super(scope, id);
    const b = props.budgets;
    // One-day buckets: each drill (the weekly one, or one started by hand on another day) is its own point.
    const perDrill = Duration.days(1);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(90),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '# PostgreSQL disaster recovery\n' +
          'One point per failover drill (weekly). Red lines are the budgets; a drill over a budget pages on-call. ' +
          'Write outage is what the drill itself cost production: writes fail while DNS points at the read replica.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Failover (seconds per drill)',
        width: 12,
        left: [
          drillMetric(DRILL_METRICS.serviceDisruption, 'Service disruption', perDrill),
          drillMetric(DRILL_METRICS.dnsFailover, 'DNS failover', perDrill),
          drillMetric(DRILL_METRICS.detection, 'Route 53 stops answering the primary', perDrill),
        ],
        leftAnnotations: [
          budgetLine('Disruption', b.serviceDisruptionSeconds),
          budgetLine('DNS failover', b.dnsFailoverSeconds),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Recovery (seconds per drill)',
        width: 12,
        left: [
          drillMetric(DRILL_METRICS.dnsFailback, 'DNS failback', perDrill),
          drillMetric(DRILL_METRICS.writeOutage, 'Write outage caused by the drill', perDrill),
        ],
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Replication (seconds per drill)',
        width: 12,
        left: [
          drillMetric(DRILL_METRICS.s3Replication, 'S3 probe object', perDrill),
          drillMetric(DRILL_METRICS.databaseReplication, 'Database heartbeat (data-loss window)', perDrill),
        ],
        leftAnnotations: [budgetLine('S3 replication', b.s3ReplicationSeconds)],
      }),
      new cloudwatch.GraphWidget({
        title: 'Now: replica lag and primary health',
        width: 12,
        left: [props.replicaLag],
        right: [
          new cloudwatch.Metric({
            namespace: 'AWS/Route53',
            metricName: 'HealthCheckStatus',
            dimensionsMap: { HealthCheckId: props.primaryDatabaseHealthCheckId },
            region: ROUTE53_METRICS_REGION,
            statistic: cloudwatch.Stats.MINIMUM,
            period: Duration.minutes(1),
            label: 'Primary database healthy (1) / unhealthy (0)',
          }),
        ],
        rightYAxis: { min: 0, max: 1 },
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.SingleValueWidget({
        title: 'Drills',
        width: 8,
        metrics: [
          drillMetric(
            DRILL_METRICS.hoursSinceSuccess,
            `Hours since the last successful drill (alarm at ${props.staleAfterDays * 24})`,
          ),
          drillMetric(DRILL_METRICS.succeeded, 'Successful drills, last 30 days').with({
            statistic: cloudwatch.Stats.SUM,
            period: Duration.days(30),
          }),
        ],
      }),
    );
    this.addBackupWidgets(props.backups);
    this.addDumpWidgets(props.dumps);
  }

  /** The scheduled logical dumps: each run's size and duration, and the newest dump's age in each region. */
  private addDumpWidgets(dumps: DrDashboardProps['dumps']): void {
    const run = (metricName: string, label: string) =>
      dumpMetric(metricName, dumps.primaryRegion, Duration.days(1)).with({ label });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `Logical dumps: age of the newest, per region (seconds)`,
        width: 12,
        left: [dumps.primaryRegion, dumps.drRegion].map((region) =>
          dumpMetric(DUMP_METRICS.age, region).with({ label: `Newest dump in ${region}` }),
        ),
        leftAnnotations: [
          {
            label: `Dump age alarm ${dumps.maxAgeHours * 3600} s`,
            value: dumps.maxAgeHours * 3600,
            color: cloudwatch.Color.RED,
          },
        ],
      }),
      new cloudwatch.GraphWidget({
        title: `Scheduled dump runs in ${dumps.primaryRegion}`,
        width: 12,
        left: [run(DUMP_METRICS.bytes, 'Dump size (bytes)')],
        right: [
          run(DUMP_METRICS.duration, 'Run duration (seconds)'),
          run(DUMP_METRICS.succeeded, 'Passed (1) or failed (0)').with({
            statistic: cloudwatch.Stats.MINIMUM,
          }),
        ],
      }),
      new cloudwatch.SingleValueWidget({
        title: `Dump restore tests in ${dumps.drRegion}`,
        width: 12,
        metrics: [
          dumpMetric(DUMP_METRICS.restoreDuration, dumps.drRegion, Duration.days(35)).with({
            label: 'Restore duration, last test (seconds)',
          }),
          dumpMetric(DUMP_METRICS.hoursSinceRestoreTest, dumps.drRegion).with({
            label: 'Hours since a dump restore test passed',
          }),
          dumpMetric(DUMP_METRICS.restoreTestSucceeded, dumps.drRegion, Duration.days(90)).with({
            label: 'Passed dump restore tests, last 90 days',
            statistic: cloudwatch.Stats.SUM,
          }),
        ],
      }),
    );
  }

  /** Restore from backup, in the DR region: each restore test's duration (the RTO) and the backups' age. */
  private addBackupWidgets(backups: DrDashboardProps['backups']): void {
    const inDr = (metricName: string, label: string, period: Duration) =>
      restoreTestMetric(metricName, period).with({ region: backups.region, label });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `Restore from backup in ${backups.region} (seconds)`,
        width: 16,
        left: [inDr(RESTORE_TEST_METRICS.duration, 'Restore duration, per restore test', Duration.days(1))],
        right: [
          inDr(RESTORE_TEST_METRICS.backupAge, 'Age of the newest restorable point', Duration.hours(1)),
        ],
        rightAnnotations: [
          {
            label: `Backup age alarm ${backups.maxBackupAgeMinutes * 60} s`,
            value: backups.maxBackupAgeMinutes * 60,
            color: cloudwatch.Color.RED,
          },
        ],
      }),
      new cloudwatch.SingleValueWidget({
        title: 'Restore tests',
        width: 8,
        metrics: [
          inDr(
            RESTORE_TEST_METRICS.hoursSinceSuccess,
            `Hours since a restore test passed (alarm at ${backups.staleAfterDays * 24})`,
            Duration.hours(1),
          ),
          inDr(RESTORE_TEST_METRICS.succeeded, 'Passed restore tests, last 90 days', Duration.days(90)).with({
            statistic: cloudwatch.Stats.SUM,
          }),
        ],
      }),
    );
  }

  /**
   * Shows every paging alarm of the app (pagingAlarmsIn): those of the dashboard's region in an alarm status
   * widget, named by ARN (no reference between stacks), and those of other regions in a list with a link to
   * each, since an alarm status widget shows its own region's alarms. Called once, after every stack is built.
   */
  showPagingAlarms(alarms: readonly cloudwatch.Alarm[]): void {
    const here = Stack.of(this);
    const regionOf = (alarm: cloudwatch.Alarm) => Stack.of(alarm).region;
    const nameOf = (alarm: cloudwatch.Alarm) => {
      const name = (alarm.node.defaultChild as cloudwatch.CfnAlarm).alarmName;
      if (name === undefined) throw new Error(`paging alarm ${alarm.node.path} has no name of its own`);
      return name;
    };
    const local = alarms
      .filter((alarm) => regionOf(alarm) === here.region)
      .map((alarm) => nameOf(alarm))
      .sort()
      .map((name) =>
        cloudwatch.Alarm.fromAlarmArn(
          this,
          `Paging-${name}`,
          here.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: name,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ),
      );
    const elsewhere = alarms
      .filter((alarm) => regionOf(alarm) !== here.region)
      .map((alarm) => ({ name: nameOf(alarm), region: regionOf(alarm) }))
      .sort((a, b) => a.region.localeCompare(b.region) || a.name.localeCompare(b.name));
    const rows = Math.max(1, Math.ceil(local.length / 4));
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: `Paging alarms in ${here.region}`,
        width: 24,
        height: 1 + rows * 2,
        alarms: local,
      }),
    );
    if (elsewhere.length > 0) {
      this.dashboard.addWidgets(
        new cloudwatch.TextWidget({
          markdown:
            '### Paging alarms in other regions\n' +
            elsewhere
              .map(
                ({ name, region }) =>
                  `- [${name}](https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#alarmsV2:alarm/${encodeURIComponent(name)}) (${region})`,
              )
              .join('\n'),
          width: 24,
          height: 2 + elsewhere.length,
        }),
      );
    }
  }
}
