import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DUMP_METRIC_DIMENSIONS, DUMP_METRICS, METRICS_NAMESPACE } from '../../lambdas/shared/metric-names';
import { pagerAbove } from './paging-alarm';
import { stateMachineArnIn } from '../names';
import { stepLambda } from './step-lambda';

export interface DumpStatusProps {
  /** This region's backup bucket. */
  readonly bucketName: string;
  readonly prefix: string;
  readonly maxAgeHours: number;
  readonly onCallTopic: sns.ITopic;
  readonly alarmNames: { readonly stale: string; readonly statusUnknown: string };
  /** In the DR region: the dump restore test, paged on when none has passed for `staleAfterDays`. */
  readonly restoreTest?: {
    readonly stateMachineName: string;
    readonly staleAfterDays: number;
    readonly staleAlarm: string;
  };
}

/** A dump figure as CloudWatch has it, in `region` (each region publishes its own). */
export function dumpMetric(
  metricName: string,
  region: string,
  period = Duration.hours(1),
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { ...DUMP_METRIC_DIMENSIONS },
    statistic: cloudwatch.Stats.MAXIMUM,
    period,
    region,
  });
}

/**
 * The age of the newest logical dump in one region's backup bucket: an hourly function that publishes DumpAge,
 * the alarm that pages when it passes `maxAgeHours` (or when there is no dump at all), and the one that pages
 * when the status itself keeps failing. Deployed in both regions: the DR region's age also tells that S3
 * replication delivers the dumps.
 */
export class DumpStatus extends Construct {
  readonly status: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: DumpStatusProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.status = stepLambda(this, 'Status', {
      entry: [
        'backups',
        props.restoreTest === undefined ? 'dump-age-handler.ts' : 'dump-restore-test-status-handler.ts',
      ],
      handler: 'handler',
      description: "Backups: publish the age of the newest logical dump in this region's bucket (hourly)",
      timeout: Duration.seconds(60),
      memorySize: 256,
      service: DUMP_METRIC_DIMENSIONS.service,
      environment: {
        DUMP_BUCKET: props.bucketName,
        DUMP_PREFIX: props.prefix,
        ...(props.restoreTest === undefined
          ? {}
          : { RESTORE_TEST_STATE_MACHINE_ARN: stateMachineArnIn(stack, props.restoreTest.stateMachineName) }),
      },
    });
    if (props.restoreTest !== undefined)
      this.status.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['states:ListExecutions', 'states:DescribeStateMachine'],
          resources: [stateMachineArnIn(stack, props.restoreTest.stateMachineName)],
        }),
      );
    // Listing the dumps' prefix only: the names of the dumps, never their content.
    this.status.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [`arn:${stack.partition}:s3:::${props.bucketName}`],
        conditions: { StringLike: { 's3:prefix': [`${props.prefix}*`] } },
      }),
    );
    new events.Rule(this, 'Schedule', {
      description: "Publishes the age of the newest logical dump in this region's backup bucket",
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(this.status, { retryAttempts: 2 })],
    });
    const page = pagerAbove(this, props.onCallTopic);
    page(
      'Stale',
      props.alarmNames.stale,
      `The newest logical dump in ${props.bucketName} (${stack.region}) started more than ${props.maxAgeHours} ` +
        'hours ago, or there is none: a restore from a dump would lose more than that. In the primary region: ' +
        'the scheduled dump is failing or not running; in the DR region alone: S3 replication is not delivering. ' +
        'First: dr backups. Runbook: docs/runbooks.md, Dumps stale.',
      dumpMetric(DUMP_METRICS.age, stack.region),
      props.maxAgeHours * 3600,
      { evaluationPeriods: 2, datapointsToAlarm: 2, treatMissingData: cloudwatch.TreatMissingData.BREACHING },
    );
    page(
      'StatusUnknown',
      props.alarmNames.statusUnknown,
      `The hourly dump status in ${stack.region} has failed for 3 hours: the dump age alarm sees nothing. First: ` +
        'the status function logs. Runbook: docs/runbooks.md, Dumps stale.',
      this.status.metricErrors({ statistic: 'Sum', period: Duration.hours(1) }),
      0,
      { evaluationPeriods: 3, datapointsToAlarm: 3 },
    );
    if (props.restoreTest !== undefined)
      page(
        'RestoreTestStale',
        props.restoreTest.staleAlarm,
        `No restore test of the logical dumps has passed in ${stack.region} for ${props.restoreTest.staleAfterDays} ` +
          'days (or since it was deployed): a restore from a dump is unproven. First: dr backups. Runbook: ' +
          'docs/runbooks.md, Dump restore test failed.',
        dumpMetric(DUMP_METRICS.hoursSinceRestoreTest, stack.region),
        props.restoreTest.staleAfterDays * 24,
      );
  }
}
