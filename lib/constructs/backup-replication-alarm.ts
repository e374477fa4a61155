import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { PagingAlarm } from './paging-alarm';

export interface BackupReplicationAlarmProps {
  readonly topic: sns.ITopic;
  readonly alarmName: string;
  readonly sourceBucketName: string;
  readonly destinationBucketName: string;
  /** The replication rule's id (BackupBucket's `replicate-backups`). */
  readonly ruleId: string;
}

/**
 * Objects of the backup bucket that failed to replicate to the DR region, between drills: S3 publishes
 * `OperationsFailedReplication` per rule in the source bucket's region when the rule has replication metrics
 * (BackupBucket turns them on with Replication Time Control).
 */
export class BackupReplicationAlarm extends Construct {
  readonly failed: cloudwatch.IMetric;

  constructor(scope: Construct, id: string, props: BackupReplicationAlarmProps) {
    super(scope, id);
    this.failed = new cloudwatch.Metric({
      namespace: 'AWS/S3',
      metricName: 'OperationsFailedReplication',
      dimensionsMap: {
        SourceBucket: props.sourceBucketName,
        DestinationBucket: props.destinationBucketName,
        RuleId: props.ruleId,
      },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
    });
    new PagingAlarm(this, 'Failing', {
      topic: props.topic,
      alarmName: props.alarmName,
      alarmDescription:
        `Objects written to ${props.sourceBucketName} failed to replicate to ${props.destinationBucketName} ` +
        '(the DR copy of the backups is incomplete). Usual causes: the replication role lost access to a key or ' +
        'bucket, or the DR bucket was changed by hand. First: aws s3api get-bucket-replication --bucket ' +
        `${props.sourceBucketName}, then the replication failure reasons in the S3 console. Runbook: ` +
        'docs/runbooks.md, Backup replication failing.',
      metric: this.failed,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // S3 publishes the metric only while replication has something to report.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
