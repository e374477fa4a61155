/**
 * The storage half of the topology sync's relay: RDS publishes FreeStorageSpace and OldestReplicationSlotLag
 * per instance in the instance's own region, so an alarm on them would watch the instances of the first deploy
 * forever. Every minute the sync reads them for the writer and the replica the topology names and publishes
 * them under the role (`PostgresDR FreeStorageSpace`, `Database=writer|replica`; `OldestReplicationSlotLag`,
 * `Database=writer`), so the storage alarms follow every role change (lib/constructs/storage-alarms.ts).
 */
import { PutMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DATABASE_DIMENSION } from '../health-probe/metric';
import {
  FREE_STORAGE_METRIC,
  METRICS_NAMESPACE,
  SLOT_WAL_METRIC,
  WAL_DISK_METRIC,
} from '../shared/metric-names';
import type { Topology } from '../shared/topology';
import { readRdsMetrics, type RelayedMetric } from './rds-metrics';

/** The RDS metrics relayed for each role, with the statistic that makes the alarm's case. */
const RELAYED: Record<'writer' | 'replica', readonly RelayedMetric[]> = {
  writer: [
    { name: FREE_STORAGE_METRIC, stat: 'Minimum', unit: 'Bytes' },
    { name: SLOT_WAL_METRIC, stat: 'Maximum', unit: 'Bytes' },
    { name: WAL_DISK_METRIC, stat: 'Maximum', unit: 'Bytes' },
  ],
  replica: [{ name: FREE_STORAGE_METRIC, stat: 'Minimum', unit: 'Bytes' }],
};

export interface StorageRelay {
  /** Per role the topology names: the instance and the datapoints relayed, or why none could be read. */
  readonly members: readonly {
    readonly role: 'writer' | 'replica';
    readonly instanceIdentifier: string;
    readonly datapoints: number;
    readonly error?: string;
  }[];
}

/** Relays the storage metrics of the writer and replica the topology names. Nothing is made up. */
export async function relayStorage(
  deps: {
    /** CloudWatch in a member's region (RDS metrics are regional). */
    readonly cloudwatchIn: (region: string) => Pick<CloudWatchClient, 'send'>;
    /** CloudWatch where the alarms live (the sync's own region). */
    readonly local: Pick<CloudWatchClient, 'send'>;
    readonly now: number;
  },
  topology: Topology,
): Promise<StorageRelay> {
  const members = [
    { role: 'writer' as const, member: topology.writer },
    ...(topology.replica === null ? [] : [{ role: 'replica' as const, member: topology.replica }]),
  ];
  const read = await Promise.all(
    members.map(async ({ role, member }) => {
      const dimensions = [{ Name: DATABASE_DIMENSION, Value: role }];
      try {
        const data = await readRdsMetrics(
          deps.cloudwatchIn(member.region),
          deps.now,
          member.instanceIdentifier,
          RELAYED[role],
          dimensions,
        );
        return { role, instanceIdentifier: member.instanceIdentifier, data };
      } catch (e) {
        return {
          role,
          instanceIdentifier: member.instanceIdentifier,
          data: [],
          error: `${(e as Error).name}: ${(e as Error).message}`,
        };
      }
    }),
  );
  const all = read.flatMap((r) => r.data);
  // PutMetricData takes at most 1,000 datapoints a call: 5 minutes × 4 series is far below.
  if (all.length > 0)
    await deps.local.send(new PutMetricDataCommand({ Namespace: METRICS_NAMESPACE, MetricData: all }));
  return {
    members: read.map(({ role, instanceIdentifier, data, ...rest }) => ({
      role,
      instanceIdentifier,
      datapoints: data.length,
      ...('error' in rest && rest.error !== undefined ? { error: rest.error } : {}),
    })),
  };
}
