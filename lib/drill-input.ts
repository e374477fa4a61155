import type { DrConfig } from './config';
import { drNames, failoverSetIdentifier } from './names';

export interface DrillInputRefs {
  /** The CALCULATED check on the PRIMARY record the drill fails over (the drill record's, if configured). */
  readonly invertHealthCheckId: string;
  readonly watch: readonly { readonly healthCheckId: string; readonly label: string }[];
  readonly drillStateMachineArn: string;
  readonly migrationStateMachineArn: string;
  /** A drill must not run while a region failover does. */
  readonly regionFailoverStateMachineArn: string;
}

/**
 * The drill's input, from the configuration and the deployed identifiers: what the schedule sends and what
 * `dr drill` reads back from the schedule. Secret names only, never a password.
 */
export function drillInput(config: DrConfig, refs: DrillInputRefs): Record<string, unknown> {
  const names = drNames(config);
  const d = config.drill;
  // The hosts are the topology's, read when the drill starts: the drill follows every role change.
  const database = {
    secretId: config.database.secretName,
    port: config.database.port,
    database: config.database.databaseName,
  };
  return {
    database,
    dns: {
      hostedZoneId: config.hostedZoneId,
      recordName: d.recordName,
      production: d.record === 'production',
    },
    healthChecks: { invert: refs.invertHealthCheckId, watch: refs.watch },
    backups: {
      sourceBucket: names.backupBucket(config.primaryRegion),
      sourceRegion: config.primaryRegion,
      replicaBucket: names.backupBucket(config.secondaryRegion),
      replicaRegion: config.secondaryRegion,
    },
    budgets: d.budgets,
    limits: {
      maxReplicaLagSeconds: d.maxReplicaLagSeconds,
      failbackTimeoutSeconds: d.failbackTimeoutSeconds,
      heartbeatTimeoutSeconds: d.heartbeatTimeoutSeconds,
      s3TimeoutSeconds: d.s3TimeoutSeconds,
      pollMs: d.pollIntervalMs,
    },
    exclusiveWith: [
      refs.drillStateMachineArn,
      refs.migrationStateMachineArn,
      refs.regionFailoverStateMachineArn,
    ],
    ...(d.migrationDryRun
      ? {
          // Plans what a migration would apply to production; blue and green are both the topology's writer,
          // filled in by the preflight.
          migrationDryRun: {
            dryRun: true,
            blue: database,
            green: database,
            blueEndpoint: '',
            greenEndpoint: '',
            dns: {
              hostedZoneId: config.hostedZoneId,
              recordName: config.recordName,
              setIdentifier: failoverSetIdentifier(config.recordName, 'primary'),
              secondarySetIdentifier: failoverSetIdentifier(config.recordName, 'secondary'),
            },
            subscription: 'dr_drill_dry_run',
            catchUpTimeoutMs: 5000,
          },
        }
      : {}),
  };
}
