/** A valid drill input as the schedule would send it (secret references only), for tests to start from. */
export const EXAMPLE_DRILL_ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-failover-drill';
export const EXAMPLE_INVERT_CHECK = '11111111-1111-4111-8111-111111111111';

export function exampleDrillInput() {
  return {
    database: { secretId: 'pg-dr/postgres-master', port: 5432, database: 'app' },
    dns: { hostedZoneId: 'Z0EXAMPLE12345', recordName: 'db.provability-fabric.org', production: false },
    healthChecks: {
      invert: EXAMPLE_INVERT_CHECK,
      watch: [{ healthCheckId: '22222222-2222-4222-8222-222222222222', label: 'primary database' }],
    },
    backups: {
      sourceBucket: 'pg-dr-backups-111122223333-us-west-2',
      sourceRegion: 'us-west-2',
      replicaBucket: 'pg-dr-backups-111122223333-us-east-1',
      replicaRegion: 'us-east-1',
    },
    budgets: { serviceDisruptionSeconds: 90, dnsFailoverSeconds: 60, s3ReplicationSeconds: 60 },
    limits: {
      maxReplicaLagSeconds: 30,
      failbackTimeoutSeconds: 180,
      heartbeatTimeoutSeconds: 60,
      s3TimeoutSeconds: 300,
      pollMs: 2000,
    },
    exclusiveWith: [EXAMPLE_DRILL_ARN],
  };
}
