/**
 * Names shared by the Lambdas (which emit metrics and write objects) and the CDK app (which alarms, graphs and
 * grants on them). Constants only: the CDK app imports this without loading any Lambda runtime library.
 */

/** The one CloudWatch namespace of every metric the toolkit publishes. */
export const METRICS_NAMESPACE = 'PostgresDR';

/** The blue-green steps' service dimension. */
export const STEPS_SERVICE = 'dr-blue-green';

/** Published by every step (dimension service): one per invocation, and its duration. */
export const STEP_METRICS = {
  succeeded: 'StepSucceeded',
  failed: 'StepFailed',
  duration: 'StepDuration',
} as const;

/** The drill's service dimension. */
export const DRILL_SERVICE = 'dr-drill';

/** Metric names the drill publishes (dimension service=dr-drill); alarms and the dashboard use these. */
export const DRILL_METRICS = {
  serviceDisruption: 'ServiceDisruption',
  detection: 'FailoverDetection',
  dnsFailover: 'DnsFailover',
  dnsFailback: 'DnsFailback',
  writeOutage: 'WriteOutage',
  s3Replication: 'S3ReplicationLatency',
  databaseReplication: 'DatabaseReplicationLag',
  succeeded: 'DrillSucceeded',
  hoursSinceSuccess: 'HoursSinceLastSuccessfulDrill',
} as const;

/** The drill's figures carry only the service dimension, so alarms and the dashboard can name them exactly. */
export const DRILL_METRIC_DIMENSIONS = { service: DRILL_SERVICE } as const;

/** Where the drill's S3 replication probe objects go in the primary bucket. */
export const DRILL_PROBE_PREFIX = 'dr-drill/';

/**
 * What the topology sync publishes about the replica the topology names (lambdas/topology-sync/replica-lag.ts),
 * under the `Database=replica` dimension: RDS's ReplicaLag of that instance, and 1 or 0 for whether the topology
 * names a replica at all. The replica-lag alarm and the dashboard watch these.
 */
export const REPLICA_LAG_METRIC = 'ReplicaLag';
export const REPLICA_EXPECTED_METRIC = 'ReplicaExpected';

/**
 * What the topology sync publishes about the storage of the databases the topology names
 * (lambdas/topology-sync/storage.ts), under `Database=writer` or `Database=replica`: RDS's FreeStorageSpace of
 * each, and of the writer its OldestReplicationSlotLag (the WAL its most-behind replication slot keeps) and
 * TransactionLogsDiskUsage (all the WAL on its disk, which a slot nobody reads makes grow).
 */
export const FREE_STORAGE_METRIC = 'FreeStorageSpace';
export const SLOT_WAL_METRIC = 'OldestReplicationSlotLag';
export const WAL_DISK_METRIC = 'TransactionLogsDiskUsage';

/** The restore tests' service dimension (lambdas/restore-test). */
export const RESTORE_TEST_SERVICE = 'dr-restore-test';

/**
 * What the restore test and the hourly backup status publish (dimension service=dr-restore-test): whether a
 * test passed (1) or failed (0) and how long its restore took, the hours since one last passed, and the age of
 * the writer's newest restorable backup in the DR region.
 */
export const RESTORE_TEST_METRICS = {
  succeeded: 'RestoreTestSucceeded',
  duration: 'RestoreDuration',
  hoursSinceSuccess: 'HoursSinceLastSuccessfulRestoreTest',
  backupAge: 'BackupAge',
  /** Throwaway instances of ended tests the hourly status could not delete. */
  throwawaysLeft: 'RestoreTestInstancesLeft',
} as const;

/** The backup figures carry only the service dimension, so alarms and the dashboard can name them exactly. */
export const RESTORE_TEST_METRIC_DIMENSIONS = { service: RESTORE_TEST_SERVICE } as const;

/** The scheduled logical dumps' service dimension (lambdas/backups): the dump task's logs and the figures. */
export const DUMP_SERVICE = 'dr-dump';

/**
 * What the dump workflow and the hourly dump status publish (dimension service=dr-dump), in the region of each:
 * whether a run left a whole dump (1) or not (0), its size and duration, and the age of the newest dump in this
 * region's backup bucket (the DR region's counts what S3 replication has copied).
 */
export const DUMP_METRICS = {
  succeeded: 'DumpSucceeded',
  bytes: 'DumpBytes',
  duration: 'DumpDuration',
  age: 'DumpAge',
  /** The monthly dump restore test in the DR region: passed (1) or not (0), how long pg_restore took. */
  restoreTestSucceeded: 'DumpRestoreTestSucceeded',
  restoreDuration: 'DumpRestoreDuration',
  hoursSinceRestoreTest: 'HoursSinceLastSuccessfulDumpRestoreTest',
} as const;

export const DUMP_METRIC_DIMENSIONS = { service: DUMP_SERVICE } as const;
