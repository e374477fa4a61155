/** The environment CDK gives the DR replica step: where a rebuilt replica of green goes. */
export const REPLICA_PLACEMENT_ENV = {
  ACCOUNT_ID: '111122223333',
  SOURCE_REGION: 'us-west-2',
  REPLICA_REGION: 'us-east-1',
  REPLICA_SUBNET_GROUP: 'pg-dr-replica-subnets',
  REPLICA_SECURITY_GROUP_IDS: 'sg-0123',
  REPLICA_PARAMETER_GROUP: 'pg-dr-replica-params',
  REPLICA_KMS_KEY_ARN: 'arn:aws:kms:us-east-1:111122223333:key/1111-2222',
  REPLICA_MULTI_AZ: 'true',
  REPLICA_PORT: '5432',
} as const;
