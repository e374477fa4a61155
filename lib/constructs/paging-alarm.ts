import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, type IConstruct } from 'constructs';

export interface PagingAlarmProps extends cloudwatch.AlarmProps {
  /** A fixed name: the dashboard and the runbooks name the alarm by it. */
  readonly alarmName: string;
  /** On-call topic in the alarm's region (CloudWatch cannot notify a topic in another region). */
  readonly topic: sns.ITopic;
}

/** Every alarm that pages on-call, whichever construct made it: the dashboard shows exactly these. */
const paging = new WeakSet<cloudwatch.Alarm>();

/**
 * The one place an alarm is made to page on-call: it notifies the topic when it fires and again when it clears,
 * and is recorded as paging, so the `pg-dr-disaster-recovery` dashboard shows it (pagingAlarmsIn).
 */
export function pageOnCall(alarm: cloudwatch.Alarm, topic: sns.ITopic): cloudwatch.Alarm {
  alarm.addAlarmAction(new actions.SnsAction(topic));
  alarm.addOkAction(new actions.SnsAction(topic));
  paging.add(alarm);
  return alarm;
}

/** A paging alarm with its own name, as a construct: an Alarm that pageOnCall wires to the topic. */
export class PagingAlarm extends Construct {
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PagingAlarmProps) {
    super(scope, id);
    const { topic, ...alarmProps } = props;
    this.alarm = pageOnCall(new cloudwatch.Alarm(this, 'Alarm', alarmProps), topic);
  }
}

/** Every paging alarm under `scope` (an app: all of them, in every stack). */
export function pagingAlarmsIn(scope: IConstruct): cloudwatch.Alarm[] {
  return scope.node
    .findAll()
    .filter((c): c is cloudwatch.Alarm => c instanceof cloudwatch.Alarm && paging.has(c));
}

/**
 * The usual page, for the alarms of one construct: `metric` above `threshold` in one period, missing data not
 * breaching; `extra` changes any of it (more periods, missing data breaching).
 */
export function pagerAbove(scope: Construct, topic: sns.ITopic) {
  return (
    id: string,
    alarmName: string,
    alarmDescription: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    extra: Partial<cloudwatch.AlarmProps> = {},
  ): cloudwatch.Alarm =>
    new PagingAlarm(scope, id, {
      topic,
      alarmName,
      alarmDescription,
      metric,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...extra,
    }).alarm;
}
