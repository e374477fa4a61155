import type { Stack } from 'aws-cdk-lib';
import type { DatabaseRole } from '../lambdas/health-probe/metric';
import type { DrConfig } from './config';

/**
 * Physical names derived from the config in one place. Names that other regions or services refer to (bucket,
 * secret, alarms Route 53 reads, instance identifiers) are fixed, so no lookup is needed at deploy time.
 */
export function drNames(config: DrConfig) {
  const p = config.resourcePrefix;
  return {
    stacks: {
      secondaryFoundation: `${p}-secondary-foundation`,
      primary: `${p}-primary`,
      secondary: `${p}-secondary`,
      failoverDns: `${p}-failover-dns`,
      orchestration: `${p}-orchestration`,
      onCall: (region: string) => `${p}-on-call-${region}`,
    },
    keyAlias: (role: 'primary' | 'secondary') => `alias/${p}-${role}-data`,
    backupBucket: (region: string) => `${p}-backups-${config.account}-${region}`,
    onCallTopic: `${p}-on-call`,
    blueGreenStateMachine: `${p}-blue-green-migration`,
    drRebuildStateMachine: `${p}-dr-rebuild`,
    greenProvisioningStateMachine: `${p}-green-provisioning`,
    blueRetirementStateMachine: `${p}-blue-retirement`,
    migrationSafetyNetStateMachine: `${p}-blue-green-safety-net`,
    drillStateMachine: `${p}-failover-drill`,
    regionFailoverStateMachine: `${p}-region-failover`,
    /** The activity the region failover's approval waits on (`dr failover approve` answers it). */
    failoverApprovalActivity: `${p}-failover-approval`,
    retiredWriterGuardStateMachine: `${p}-retired-writer-guard`,
    retiredWriterGuardSchedule: `${p}-retired-writer-guard`,
    /** Each health probe's function: the topology sync changes what it watches, by name, across regions. */
    healthProbeFunction: (role: DatabaseRole) => `${p}-${role}-health-probe`,
    /** Every health probe: its role, the region its stack deploys it in, its function. */
    healthProbes: (['primary', 'primary-remote', 'replica'] as const).map((role) => ({
      role,
      region: role === 'primary' ? config.primaryRegion : config.secondaryRegion,
      functionName: `${p}-${role}-health-probe`,
    })),
    topologySyncFunction: `${p}-topology-sync`,
    /** The master secret's hosted rotation function (created primary only). */
    rotationFunction: `${p}-master-secret-rotation`,
    drillSchedule: `${p}-weekly-failover-drill`,
    /** The physical restore test, in the DR region, and its schedule. */
    restoreTestStateMachine: `${p}-restore-test`,
    restoreTestSchedule: `${p}-restore-test`,
    /** The scheduled logical dump, in the primary region: its workflow, schedule, cluster and image repository. */
    dumpStateMachine: `${p}-scheduled-dump`,
    dumpSchedule: `${p}-scheduled-dump`,
    dumpCluster: `${p}-dumps`,
    dumpImageRepository: `${p}-dump-images`,
    /** The monthly restore test of the dumps, in the DR region: its workflow, schedule, cluster and images. */
    dumpRestoreTestStateMachine: `${p}-dump-restore-test`,
    dumpRestoreTestSchedule: `${p}-dump-restore-test`,
    dumpCheckCluster: `${p}-dump-checks`,
    dumpCheckImageRepository: `${p}-dump-check-images`,
    dashboard: `${p}-disaster-recovery`,
    alarms: {
      /**
       * The alarm a probe's Route 53 health check follows. Its name carries its rule (majority of a minute's
       * probes failed, N of N minutes): Route 53 reads an alarm's settings when the check is created or its
       * AlarmIdentifier updated, never again, so a changed rule must be a new alarm the check is pointed at.
       */
      unreachable: (observer: 'primary' | 'replica' | 'primary-remote', periods: number) =>
        `${p}-${observer === 'primary-remote' ? 'primary' : observer}-db-unreachable${observer === 'primary-remote' ? '-from-secondary' : ''}-maj-${periods}of${periods}`,
      /** A probe that publishes nothing (cannot fail production over; pages instead). */
      probeBlind: (role: string) => `${p}-${role}-probe-blind`,
      /** A database that answers, but its probe cannot complete (secret, password, TLS). */
      probeErrors: (role: string) => `${p}-${role}-probe-errors`,
      primaryHealthCheckUnhealthy: `${p}-primary-health-check-unhealthy`,
      replicaLagHigh: `${p}-replica-lag-high`,
      migrationFailed: `${p}-migration-failed`,
      drRebuildFailed: `${p}-dr-rebuild-failed`,
      greenProvisioningFailed: `${p}-green-provisioning-failed`,
      blueRetirementFailed: `${p}-blue-retirement-failed`,
      regionFailoverFailed: `${p}-region-failover-failed`,
      retiredWriterGuardFailing: `${p}-retired-writer-guard-failing`,
      topologySyncFailing: `${p}-topology-sync-failing`,
      migrationSafetyNetFailed: `${p}-migration-safety-net-failed`,
      drillFailed: `${p}-drill-failed`,
      drillStale: `${p}-no-successful-drill`,
      drillFreshnessUnknown: `${p}-drill-freshness-check-failing`,
      disruptionOverBudget: `${p}-drill-disruption-over-budget`,
      dnsFailoverOverBudget: `${p}-drill-dns-failover-over-budget`,
      s3ReplicationOverBudget: `${p}-drill-s3-replication-over-budget`,
      writerFreeStorageLow: `${p}-writer-free-storage-low`,
      replicaFreeStorageLow: `${p}-replica-free-storage-low`,
      replicationSlotWalHigh: `${p}-replication-slot-wal-high`,
      backupReplicationFailing: `${p}-backup-replication-failing`,
      secretRotationFailing: `${p}-secret-rotation-failing`,
      restoreTestFailed: `${p}-restore-test-failed`,
      restoreTestStale: `${p}-no-successful-restore-test`,
      backupStale: `${p}-dr-region-backup-stale`,
      backupStatusUnknown: `${p}-backup-status-check-failing`,
      restoreTestInstanceLeft: `${p}-restore-test-instance-left`,
      dumpFailed: `${p}-scheduled-dump-failed`,
      /** The newest dump in a region's backup bucket is too old (one alarm per region, named by its role). */
      dumpStale: (where: DumpBucketRole) => `${p}-${where}-dump-stale`,
      dumpStatusUnknown: (where: DumpBucketRole) => `${p}-${where}-dump-status-check-failing`,
      dumpRestoreTestFailed: `${p}-dump-restore-test-failed`,
      dumpRestoreTestStale: `${p}-no-successful-dump-restore-test`,
    },
  };
}

/** The two backup buckets, by the region they are in: the primary's, and the DR region's replicated copy. */
export type DumpBucketRole = 'primary' | 'dr-region';

/** Route 53 publishes health-check metrics only in us-east-1, so that alarm (and a topic for it) lives there. */
export const ROUTE53_METRICS_REGION = 'us-east-1';

/** Regions that raise alarms and therefore need an on-call topic of their own (every region here does). */
export function onCallRegions(config: DrConfig): string[] {
  return [
    ...new Set([
      config.primaryRegion,
      config.secondaryRegion,
      ROUTE53_METRICS_REGION,
      config.orchestrationRegion,
    ]),
  ];
}

/** The set identifier of a failover record of `recordName` (each record name has one PRIMARY, one SECONDARY). */
export const failoverSetIdentifier = (recordName: string, role: 'primary' | 'secondary'): string =>
  `${recordName}-${role}`;

/** A state machine's ARN in a stack's region, from its name (known at synth: no reference between stacks). */
export function stateMachineArnIn(stack: Stack, name: string): string {
  return `arn:${stack.partition}:states:${stack.region}:${stack.account}:stateMachine:${name}`;
}

/**
 * The tag a region failover puts on the weekly drill's schedule when it disables it (its value: the
 * execution's name). The failback's re-protect (the DR rebuild that gives a writer in the home region its
 * replica) enables the schedule again only when the tag is there, then removes it: a schedule a person
 * disabled stays disabled. `dr doctor` reads it to say why the schedule is off.
 */
export const DRILL_PAUSED_TAG_KEY = 'pg-dr:drill-paused-by';

/** The DR region stack's output that names the restore test (`dr backups` reads it). */
export const RESTORE_TEST_OUTPUT = 'RestoreTestStateMachineArn';

/** The DR region stack's output that names the dump restore test (`dr backups`, `dr backups restore-test --dump`). */
export const DUMP_RESTORE_TEST_OUTPUT = 'DumpRestoreTestStateMachineArn';

/**
 * The DR region stack's output that says where the logical dumps are (`dr backups` reads it): JSON, the
 * prefix and each region's backup bucket (dumpLocations).
 */
export const DUMP_LOCATIONS_OUTPUT = 'DumpLocations';

export interface DumpLocations {
  readonly prefix: string;
  readonly buckets: readonly { readonly region: string; readonly bucket: string }[];
}

/** Where the dumps are: the primary region's bucket (where they are taken), then the DR region's copy. */
export function dumpLocations(config: DrConfig): DumpLocations {
  const names = drNames(config);
  return {
    prefix: config.backups.dumps.prefix,
    buckets: [config.primaryRegion, config.secondaryRegion].map((region) => ({
      region,
      bucket: names.backupBucket(region),
    })),
  };
}
