/**
 * The replica-lag half of the topology sync: RDS publishes `ReplicaLag` per instance, in the instance's own
 * region, so an alarm on it watches the replica the first deploy created. After a failover that instance is
 * the writer (and reports nothing), and after a re-protect the replica is a new instance, maybe in the other
 * region. Every minute the sync reads the lag of the replica the topology names and publishes it under the
 * role (`PostgresDR ReplicaLag`, `Database=replica`), with `ReplicaExpected` (1 while the topology names a
 * replica, 0 while DR is degraded), so one alarm follows every role change (lib/constructs/replica-lag-alarm.ts).
 */
import { PutMetricDataCommand, type CloudWatchClient, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { DATABASE_DIMENSION } from '../health-probe/metric';
import { METRICS_NAMESPACE, REPLICA_EXPECTED_METRIC, REPLICA_LAG_METRIC } from '../shared/metric-names';
import type { Topology } from '../shared/topology';
import { readRdsMetrics } from './rds-metrics';

export interface ReplicaLagRelay {
  /** The replica whose lag was relayed, or null while the topology names none. */
  readonly replica: string | null;
  /** The lag datapoints relayed (RDS's own timestamps; a repeated one changes no Maximum). */
  readonly datapoints: number;
  /** Why none could be read (the replica's region unreachable, access denied); the alarm then sees no lag. */
  readonly error?: string;
}

const dimensions = [{ Name: DATABASE_DIMENSION, Value: 'replica' }];

/**
 * Relays the topology's replica's `ReplicaLag` under the role. A lag that cannot be read is not made up:
 * `ReplicaExpected` 1 with no lag is what the alarm counts as not replicating.
 */
export async function relayReplicaLag(
  deps: {
    /** CloudWatch in the replica's region (RDS metrics are regional). */
    readonly cloudwatchIn: (region: string) => Pick<CloudWatchClient, 'send'>;
    /** CloudWatch where the alarm lives (the sync's own region). */
    readonly local: Pick<CloudWatchClient, 'send'>;
    readonly now: number;
  },
  topology: Topology,
): Promise<ReplicaLagRelay> {
  const at = new Date(deps.now);
  const expected = (value: number): MetricDatum => ({
    MetricName: REPLICA_EXPECTED_METRIC,
    Dimensions: dimensions,
    Timestamp: at,
    Value: value,
    Unit: 'Count',
  });
  const { replica } = topology;
  if (replica === null) {
    await deps.local.send(
      new PutMetricDataCommand({ Namespace: METRICS_NAMESPACE, MetricData: [expected(0)] }),
    );
    return { replica: null, datapoints: 0 };
  }
  let lag: MetricDatum[] = [];
  let error: string | undefined;
  try {
    lag = await readRdsMetrics(
      deps.cloudwatchIn(replica.region),
      deps.now,
      replica.instanceIdentifier,
      [{ name: REPLICA_LAG_METRIC, stat: 'Maximum', unit: 'Seconds' }],
      dimensions,
    );
  } catch (e) {
    error = `${(e as Error).name}: ${(e as Error).message}`;
  }
  await deps.local.send(
    new PutMetricDataCommand({ Namespace: METRICS_NAMESPACE, MetricData: [expected(1), ...lag] }),
  );
  return {
    replica: replica.instanceIdentifier,
    datapoints: lag.length,
    ...(error === undefined ? {} : { error }),
  };
}
