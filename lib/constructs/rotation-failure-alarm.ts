import { Arn, ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { PagingAlarm } from './paging-alarm';

export interface RotationFailureAlarmProps {
  readonly topic: sns.ITopic;
  readonly alarmName: string;
  /** The secret whose rotation is watched, by name (in this stack's region, where it rotates). */
  readonly secretName: string;
}

/**
 * A failed rotation of the master secret. Secrets Manager records `RotationFailed` in CloudTrail, which
 * EventBridge delivers as an `AWS Service Event via CloudTrail` naming the secret's ARN in
 * `additionalEventData.SecretId`. The rule matches it for this secret only, and EventBridge counts the matches
 * (`AWS/Events MatchedEvents`, per rule), which the alarm pages on.
 */
export class RotationFailureAlarm extends Construct {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: RotationFailureAlarmProps) {
    super(scope, id);
    const secretArnPrefix = Arn.format(
      {
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${props.secretName}-`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      Stack.of(this),
    );
    this.rule = new events.Rule(this, 'RotationFailed', {
      description: `Matches failed rotations of ${props.secretName} (counted by AWS/Events MatchedEvents)`,
      eventPattern: {
        source: ['aws.secretsmanager'],
        detailType: ['AWS Service Event via CloudTrail'],
        detail: {
          eventSource: ['secretsmanager.amazonaws.com'],
          eventName: ['RotationFailed'],
          additionalEventData: { SecretId: events.Match.prefix(secretArnPrefix) },
        },
      },
    });
    new PagingAlarm(this, 'Failing', {
      topic: props.topic,
      alarmName: props.alarmName,
      alarmDescription:
        `Rotation of ${props.secretName} failed: the password may differ between the secret and the database ` +
        '(probes then page with probe errors), and the next rotation retries. First: aws secretsmanager ' +
        `describe-secret --secret-id ${props.secretName} (RotationEnabled, LastRotatedDate, the AWSPENDING ` +
        "version), then the rotation function's log. Runbook: docs/runbooks.md, Secret rotation failing.",
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: 'MatchedEvents',
        dimensionsMap: { RuleName: this.rule.ruleName },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
