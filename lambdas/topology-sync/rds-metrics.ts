/**
 * Reading an RDS instance's own CloudWatch metrics, in the instance's region, as datapoints to publish again
 * under a role (the replica-lag and storage relays of the topology sync). The datapoints keep RDS's own
 * timestamps; nothing is made up for a minute RDS did not publish.
 */
import {
  GetMetricDataCommand,
  type CloudWatchClient,
  type Dimension,
  type MetricDatum,
  type StandardUnit,
} from '@aws-sdk/client-cloudwatch';

/** How far back each run reads (RDS publishes every minute; a late datapoint is still relayed). */
const LOOKBACK_MS = 5 * 60_000;

export interface RelayedMetric {
  /** RDS's metric name, kept when published again. */
  readonly name: string;
  readonly stat: 'Minimum' | 'Maximum';
  readonly unit: StandardUnit;
}

/**
 * The last five minutes of `metrics` of one instance, as MetricDatum under `dimensions`. Throws what CloudWatch
 * throws (the caller decides what a metric it could not read means).
 */
export async function readRdsMetrics(
  cloudwatch: Pick<CloudWatchClient, 'send'>,
  now: number,
  instanceIdentifier: string,
  metrics: readonly RelayedMetric[],
  dimensions: Dimension[],
): Promise<MetricDatum[]> {
  const { MetricDataResults } = await cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(now - LOOKBACK_MS),
      EndTime: new Date(now),
      MetricDataQueries: metrics.map((metric, i) => ({
        Id: `m${i}`,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/RDS',
            MetricName: metric.name,
            Dimensions: [{ Name: 'DBInstanceIdentifier', Value: instanceIdentifier }],
          },
          Period: 60,
          Stat: metric.stat,
        },
      })),
    }),
  );
  return metrics.flatMap((metric, i) => {
    const series = MetricDataResults?.find((r) => r.Id === `m${i}`);
    return (series?.Timestamps ?? []).flatMap((timestamp, j) => {
      const value = series?.Values?.[j];
      return value === undefined
        ? []
        : [
            {
              MetricName: metric.name,
              Dimensions: dimensions,
              Timestamp: timestamp,
              Value: value,
              Unit: metric.unit,
            },
          ];
    });
  });
}
