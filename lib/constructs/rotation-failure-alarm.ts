import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { PagingAlarm } from './paging-alarm';

export interface RotationFailureAlarmProps {
  readonly topic: sns.ITopic;
  readonly alarmName: string;
  /** The secret whose rotation is watched (for the text). */
  readonly secretName: string;
  /** The hosted rotation function's physical name (HostedRotation `functionName`). */
  readonly rotationFunctionName: string;
}

/**
 * A failed rotation of the master secret. A rotation fails when its function raises or times out at one of
 * its steps, which Lambda counts in `AWS/Lambda Errors` for that function: the hosted rotation function has a
 * fixed name, so the alarm watches exactly it. (An adopted primary's secret rotates by its owner's
 * arrangement: the app does not know its function, and creates no alarm for it.)
 */
export class RotationFailureAlarm extends Construct {
  constructor(scope: Construct, id: string, props: RotationFailureAlarmProps) {
    super(scope, id);
    new PagingAlarm(this, 'Failing', {
      topic: props.topic,
      alarmName: props.alarmName,
      alarmDescription:
        `Rotation of ${props.secretName} failed (its function ${props.rotationFunctionName} raised or timed ` +
        'out): the password may differ between the secret and the database (probes then page with probe ' +
        `errors), and the next rotation retries. First: aws secretsmanager describe-secret --secret-id ` +
        `${props.secretName} (RotationEnabled, LastRotatedDate, an AWSPENDING version), then aws logs tail ` +
        `/aws/lambda/${props.rotationFunctionName}. Runbook: docs/runbooks.md, Secret rotation failing.`,
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName: 'Errors',
        dimensionsMap: { FunctionName: props.rotationFunctionName },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // Lambda publishes Errors only for minutes the function ran: no rotation, no data, nothing wrong.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
