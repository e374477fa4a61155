/** The environment CDK gives the DR replica step: where a new replica goes, in either region. */
export const REPLICA_PLACEMENT_ENV = {
  PARTITION: 'aws',
  ACCOUNT_ID: '111122223333',
  REPLICA_PLACEMENTS: JSON.stringify([
    {
      region: 'us-west-2',
      subnetGroupName: 'pg-dr-primary-subnets',
      securityGroupIds: ['sg-0456'],
      parameterGroupName: 'pg-dr-primary-params',
      kmsKeyArn: 'arn:aws:kms:us-west-2:111122223333:key/3333-4444',
    },
    {
      region: 'us-east-1',
      subnetGroupName: 'pg-dr-replica-subnets',
      securityGroupIds: ['sg-0123'],
      parameterGroupName: 'pg-dr-replica-params',
      kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/1111-2222',
    },
  ]),
  REPLICA_MULTI_AZ: 'true',
  REPLICA_PORT: '5432',
  REPLICA_MAX_ALLOCATED_STORAGE_GIB: '1000',
  REPLICA_MAINTENANCE_WINDOW: 'sat:03:00-sat:04:00',
  BACKUP_REPLICATION_RETENTION_DAYS: '7',
  TOPOLOGY_REGION: 'us-east-1',
  RESOURCE_PREFIX: 'pg-dr',
} as const;
