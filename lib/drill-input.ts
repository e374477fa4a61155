import type { DrConfig } from './config';
import { drNames, failoverSetIdentifier } from './names';

export interface DrillInputRefs {
  readonly primaryEndpoint: string;
  readonly replicaEndpoint: string;
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
  const database = (host: string) => ({
    secretId: config.database.secretName,
    host,
    port: config.database.port,
    database: config.database.databaseName,
  });
  const recordName = d.recordName;
  return {
    primary: database(refs.primaryEndpoint),
    replica: database(refs.replicaEndpoint),
    dns: {
      hostedZoneId: config.hostedZoneId,
      recordName,
      primaryTarget: refs.primaryEndpoint,
      secondaryTarget: refs.replicaEndpoint,
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
          // Plans what a migration would apply to production; blue and green are both the primary.
          migrationDryRun: {
            dryRun: true,
            blue: database(refs.primaryEndpoint),
            green: database(refs.primaryEndpoint),
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
