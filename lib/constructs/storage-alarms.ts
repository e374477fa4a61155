import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DATABASE_DIMENSION } from '../../lambdas/health-probe/metric';
import {
  FREE_STORAGE_METRIC,
  METRICS_NAMESPACE,
  SLOT_WAL_METRIC,
  WAL_DISK_METRIC,
} from '../../lambdas/shared/metric-names';
import { PagingAlarm } from './paging-alarm';

const GIB = 1024 ** 3;

export interface StorageAlarmsProps {
  readonly topic: sns.ITopic;
  readonly alarmNames: {
    readonly writerFreeStorageLow: string;
    readonly replicaFreeStorageLow: string;
    readonly replicationSlotWalHigh: string;
  };
  /** Free storage below this, on the writer or the replica, for 5 minutes pages. */
  readonly freeStorageLowGiB: number;
  /** WAL kept by the writer's most-behind replication slot above this, for 5 minutes, pages. */
  readonly replicationSlotWalHighGiB: number;
}

/** A metric the topology sync relays about a role's instance (lambdas/topology-sync/storage.ts). */
const roleMetric = (metricName: string, role: 'writer' | 'replica', statistic: string) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { [DATABASE_DIMENSION]: role },
    statistic,
    period: Duration.minutes(1),
  });

/**
 * The storage of the databases the topology names, whichever instances those are: free storage of the writer
 * and of the replica, and the WAL the writer keeps for its most-behind replication slot. A slot nobody reads
 * (a blue-green cutover that stopped before it dropped its subscription, a replica deleted by hand) keeps
 * every WAL segment from its position on, until the disk is full and the writer stops.
 */
export class StorageAlarms extends Construct {
  readonly writerFreeStorage: cloudwatch.IMetric;
  readonly replicaFreeStorage: cloudwatch.IMetric;
  readonly slotWal: cloudwatch.IMetric;

  constructor(scope: Construct, id: string, props: StorageAlarmsProps) {
    super(scope, id);
    const { topic, alarmNames } = props;
    this.writerFreeStorage = roleMetric(FREE_STORAGE_METRIC, 'writer', cloudwatch.Stats.MINIMUM);
    this.replicaFreeStorage = roleMetric(FREE_STORAGE_METRIC, 'replica', cloudwatch.Stats.MINIMUM);
    // The larger of what the most-behind slot keeps and all the WAL on disk: either grows without bound
    // behind a slot nobody reads.
    this.slotWal = new cloudwatch.MathExpression({
      expression: 'MAX([slot, disk])',
      usingMetrics: {
        slot: roleMetric(SLOT_WAL_METRIC, 'writer', cloudwatch.Stats.MAXIMUM),
        disk: roleMetric(WAL_DISK_METRIC, 'writer', cloudwatch.Stats.MAXIMUM),
      },
      period: Duration.minutes(1),
      label: "WAL kept on the writer's disk (bytes)",
    });
    const common = {
      topic,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      // No data: the topology sync did not relay it (its own alarm pages) or RDS published none.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    } as const;
    const freeStorage = (id: string, alarmName: string, metric: cloudwatch.IMetric, meaning: string) =>
      new PagingAlarm(this, id, {
        ...common,
        alarmName,
        alarmDescription: `The ${meaning} Runbook: docs/runbooks.md, Free storage low.`,
        metric,
        threshold: props.freeStorageLowGiB * GIB,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      });
    freeStorage(
      'WriterFreeStorageLow',
      alarmNames.writerFreeStorageLow,
      this.writerFreeStorage,
      `writer the topology names has had less than ${props.freeStorageLowGiB} GiB of free storage for 5 ` +
        'minutes: when it runs out, PostgreSQL stops taking writes. Storage autoscaling may be at its ceiling or ' +
        'in its 6-hour cool-down, or a replication slot keeps WAL. First: dr status (which instance), then the ' +
        `${alarmNames.replicationSlotWalHigh} alarm.`,
    );
    freeStorage(
      'ReplicaFreeStorageLow',
      alarmNames.replicaFreeStorageLow,
      this.replicaFreeStorage,
      `DR replica the topology names has had less than ${props.freeStorageLowGiB} GiB of free storage for 5 ` +
        'minutes: a full replica stops replaying, and a failover would then lose everything since. First: dr ' +
        'status (which instance).',
    );
    new PagingAlarm(this, 'ReplicationSlotWalHigh', {
      ...common,
      alarmName: alarmNames.replicationSlotWalHigh,
      alarmDescription:
        `The writer has kept more than ${props.replicationSlotWalHighGiB} GiB of WAL (behind its most-behind slot, or on its disk) for 5 ` +
        'minutes: a slot nobody reads (a stopped blue-green cutover, a deleted replica) keeps WAL until the disk ' +
        'is full. First: SELECT slot_name, slot_type, active, pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), ' +
        'restart_lsn)) FROM pg_replication_slots on the writer. Runbook: docs/runbooks.md, Replication slot WAL high.',
      metric: this.slotWal,
      threshold: props.replicationSlotWalHighGiB * GIB,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
  }
}
