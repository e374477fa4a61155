import {
  CreateDBInstanceReadReplicaCommand,
  DescribeDBInstancesCommand,
  type DBInstance,
  type RDSClient,
} from '@aws-sdk/client-rds';

/** Where a new cross-region replica goes: the DR region's existing subnet group, security group, parameters, key. */
export interface ReplicaPlacement {
  readonly account: string;
  readonly sourceRegion: string;
  readonly replicaRegion: string;
  readonly subnetGroupName: string;
  readonly securityGroupIds: readonly string[];
  readonly parameterGroupName: string;
  readonly kmsKeyArn: string;
  readonly multiAz: boolean;
  readonly port: number;
}

export interface ReplicaState {
  readonly instanceIdentifier: string;
  readonly status: string;
  readonly available: boolean;
  readonly endpoint: string | null;
}

function stateOf(instance: DBInstance | undefined, instanceIdentifier: string): ReplicaState {
  const status = instance?.DBInstanceStatus ?? 'unknown';
  return {
    instanceIdentifier,
    status,
    available: status === 'available',
    endpoint: instance?.Endpoint?.Address ?? null,
  };
}

/**
 * Starts an encrypted cross-region read replica of `source` (green) in the DR region, deletion-protected and
 * private like the one CDK made. Idempotent: if it already exists, reports its state.
 */
export async function createDrReplica(
  rds: Pick<RDSClient, 'send'>,
  placement: ReplicaPlacement,
  source: string,
  replica: string,
): Promise<ReplicaState> {
  try {
    const { DBInstance: created } = await rds.send(
      new CreateDBInstanceReadReplicaCommand({
        DBInstanceIdentifier: replica,
        // An ARN in another region: the SDK derives the source region from it and pre-signs the request.
        SourceDBInstanceIdentifier: `arn:aws:rds:${placement.sourceRegion}:${placement.account}:db:${source}`,
        KmsKeyId: placement.kmsKeyArn,
        DBSubnetGroupName: placement.subnetGroupName,
        VpcSecurityGroupIds: [...placement.securityGroupIds],
        DBParameterGroupName: placement.parameterGroupName,
        MultiAZ: placement.multiAz,
        Port: placement.port,
        PubliclyAccessible: false,
        DeletionProtection: true,
        CopyTagsToSnapshot: true,
        EnableIAMDatabaseAuthentication: true,
        EnablePerformanceInsights: true,
        PerformanceInsightsKMSKeyId: placement.kmsKeyArn,
        EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
        Tags: [{ Key: 'pg-dr:role', Value: 'dr-replica' }],
      }),
    );
    return stateOf(created, replica);
  } catch (error) {
    if ((error as { name?: string }).name !== 'DBInstanceAlreadyExistsFault') throw error;
    return describeDrReplica(rds, replica);
  }
}

export async function describeDrReplica(
  rds: Pick<RDSClient, 'send'>,
  replica: string,
): Promise<ReplicaState> {
  const { DBInstances } = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: replica }));
  return stateOf(DBInstances?.[0], replica);
}
