import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface PagingAlarmProps extends cloudwatch.AlarmProps {
  /** On-call topic in the alarm's region (CloudWatch cannot notify a topic in another region). */
  readonly topic: sns.ITopic;
}

/** A CloudWatch alarm that pages on-call when it fires and tells them again when it clears. */
export class PagingAlarm extends Construct {
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PagingAlarmProps) {
    super(scope, id);
    const { topic, ...alarmProps } = props;
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', alarmProps);
    this.alarm.addAlarmAction(new actions.SnsAction(topic));
    this.alarm.addOkAction(new actions.SnsAction(topic));
  }
}
