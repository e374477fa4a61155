import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DATABASE_DIMENSION } from '../../lambdas/health-probe/metric';
import {
  METRICS_NAMESPACE,
  REPLICA_EXPECTED_METRIC,
  REPLICA_LAG_METRIC,
} from '../../lambdas/shared/metric-names';
import { PagingAlarm } from './paging-alarm';

export interface ReplicaLagAlarmProps {
  readonly topic: sns.ITopic;
  readonly alarmName: string;
  /** Lag above this, for 3 minutes, pages. */
  readonly thresholdSeconds: number;
}

/** A metric the topology sync publishes about the topology's replica (lambdas/topology-sync/replica-lag.ts). */
const replicaMetric = (metricName: string, label: string) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { [DATABASE_DIMENSION]: 'replica' },
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.minutes(1),
    label,
  });

/**
 * The DR replica's lag, whichever instance the topology names (the topology sync relays RDS's `ReplicaLag` of
 * that instance under the role): over the threshold for 3 minutes pages, and so does a replica the topology
 * names that reports no lag (FILL makes a missing minute count as over). While the topology names no replica
 * (DR degraded after a failover, a switchover or a cutover, until re-protect) it is quiet: those workflows say
 * so themselves. When the sync does not run at all, its own alarm pages.
 */
export class ReplicaLagAlarm extends Construct {
  /** The replica's lag as the alarm judges it (for the dashboard). */
  readonly lag: cloudwatch.IMetric;

  constructor(scope: Construct, id: string, props: ReplicaLagAlarmProps) {
    super(scope, id);
    this.lag = replicaMetric(REPLICA_LAG_METRIC, "Replica lag (s): the topology's replica");
    const judged = new cloudwatch.MathExpression({
      expression: `IF(expected > 0, FILL(lag, ${props.thresholdSeconds + 1}), 0)`,
      usingMetrics: {
        expected: replicaMetric(REPLICA_EXPECTED_METRIC, 'The topology names a replica'),
        lag: this.lag,
      },
      period: Duration.minutes(1),
      label: 'Replica lag (s), a missing minute counted as over, while the topology names a replica',
    });
    new PagingAlarm(this, 'High', {
      topic: props.topic,
      alarmName: props.alarmName,
      alarmDescription:
        `The DR replica the topology names is more than ${props.thresholdSeconds} s behind its writer for 3 ` +
        'minutes, or reports no lag (not replicating, or its region unreachable): a failover now would lose ' +
        "that much. First: dr status (which replica), then its RDS events and the writer's write load. Runbook: " +
        'docs/runbooks.md, Replica lag high.',
      metric: judged,
      threshold: props.thresholdSeconds,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      // No data at all: the topology sync is not running (pg-dr-topology-sync-failing pages for that).
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
