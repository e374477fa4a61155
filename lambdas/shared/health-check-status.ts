import { GetMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';

export type CheckHealth = 'healthy' | 'unhealthy' | 'no data';

/** Route 53 publishes health-check metrics in us-east-1 only. */
export const ROUTE53_METRICS_REGION = 'us-east-1';

/**
 * What Route 53 concluded about each health check, from its documented CloudWatch metric (AWS/Route53
 * HealthCheckStatus: 1 healthy, 0 unhealthy, statistic Minimum), the latest minute of the last `lookbackMs`.
 * GetHealthCheckStatus is not used: AWS calls it a development aid (burst 4, 1 per second) and does not
 * document what it returns for alarm-based checks. One call for every check.
 */
export async function healthCheckStatuses(
  cloudwatch: Pick<CloudWatchClient, 'send'>,
  healthCheckIds: readonly string[],
  options: {
    now: number;
    lookbackMs?: number;
    /** Only a status from this time on counts (earlier ones are about what the checks watched before). */
    since?: number;
  },
): Promise<Map<string, CheckHealth>> {
  const result = new Map<string, CheckHealth>(healthCheckIds.map((id) => [id, 'no data']));
  if (healthCheckIds.length === 0) return result;
  const { MetricDataResults } = await cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(options.now - (options.lookbackMs ?? 300_000)),
      EndTime: new Date(options.now),
      ScanBy: 'TimestampDescending',
      MetricDataQueries: healthCheckIds.map((id, i) => ({
        Id: `check${i}`,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/Route53',
            MetricName: 'HealthCheckStatus',
            Dimensions: [{ Name: 'HealthCheckId', Value: id }],
          },
          Period: 60,
          Stat: 'Minimum',
        },
      })),
    }),
  );
  for (const series of MetricDataResults ?? []) {
    const id = healthCheckIds[Number((series.Id ?? '').replace('check', ''))];
    const latest = series.Values?.[0];
    const at = series.Timestamps?.[0];
    const recent =
      options.since === undefined || (at !== undefined && new Date(at).getTime() >= options.since);
    if (id !== undefined && latest !== undefined && recent)
      result.set(id, latest >= 1 ? 'healthy' : 'unhealthy');
  }
  return result;
}
