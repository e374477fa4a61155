import {
  CreateDBInstanceReadReplicaCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  RebootDBInstanceCommand,
  type DBInstance,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { DR_REPLICA_ROLE } from '../shared/provisioning-tags';
import { TERMINAL_DB_STATUSES } from '../shared/rds-status';
import { RoutableError } from '../shared/routable-error';
import { TopologyError, type Topology } from '../shared/topology-schema';

/** Where a new replica may go in one region: the deployed subnet group, security group, parameters and key. */
export interface RegionPlacement {
  readonly region: string;
  readonly subnetGroupName: string;
  readonly securityGroupIds: readonly string[];
  readonly parameterGroupName: string;
  readonly kmsKeyArn: string;
}

/** Where a new cross-region replica goes, and of which source. */
export interface ReplicaPlacement extends Omit<RegionPlacement, 'region'> {
  /** The ARN partition (`aws`, `aws-cn`, `aws-us-gov`). */
  readonly partition: string;
  readonly account: string;
  readonly sourceRegion: string;
  readonly replicaRegion: string;
  readonly multiAz: boolean;
  readonly port: number;
  /** Storage autoscaling's ceiling, as the deployed instances have it: a replica that cannot grow stops. */
  readonly maxAllocatedStorageGiB: number;
  /** The deployed instances' maintenance window (UTC): a replica that becomes the writer keeps it. */
  readonly maintenanceWindow: string;
}

export type ReplicaPhase = 'creating' | 'waiting' | 'attaching-parameters' | 'rebooting' | 'ready';

export interface ReplicaProgress {
  readonly instanceIdentifier: string;
  /** The region it is built in (the other region than its writer's). */
  readonly region: string;
  readonly status: string;
  readonly phase: ReplicaPhase;
  /** The replica is available, on the DR parameter group, with its parameters in effect. */
  readonly done: boolean;
  /** What this call did: nothing (only waiting), or the one action it took. */
  readonly action: 'none' | 'created' | 'attached-parameters' | 'rebooted';
  readonly endpoint: string | null;
  /** Its endpoint's port (RDS `Endpoint.Port`), once it has an endpoint. */
  readonly port: number | null;
  readonly parameterGroup: string | null;
  readonly parameterApplyStatus: string | null;
}

export class DrReplicaError extends RoutableError<'DrReplicaConflict' | 'DrReplicaFailed'> {}

/**
 * Where the replica of `source` goes: the topology's writer must be `source` (a rebuild planned for a writer
 * that has since changed would protect the wrong database), and the replica goes in the other of the two
 * deployed regions, with that region's placement. So one rule serves the DR rebuild after a cutover (the
 * writer in the home region, the replica in the DR region) and the re-protect after a failover (the writer in
 * the DR region, the replica in the home region). Refused, before anything is created, when the writer
 * already has another replica.
 */
export function placementFor(
  topology: Topology,
  regions: readonly RegionPlacement[],
  shared: Pick<
    ReplicaPlacement,
    'partition' | 'account' | 'multiAz' | 'port' | 'maxAllocatedStorageGiB' | 'maintenanceWindow'
  >,
  source: string,
  replica: string,
): ReplicaPlacement {
  const { writer } = topology;
  if (writer.instanceIdentifier !== source)
    throw new TopologyError(
      'TopologyChanged',
      `the topology's writer is ${writer.instanceIdentifier} in ${writer.region} (generation ${topology.generation}, ${topology.changedBy}), not ${source}: this step created nothing (a replica an earlier round made stays: delete it if nothing needs it); re-protect the writer it names (dr status, dr reprotect)`,
    );
  if (topology.replica !== null && topology.replica.instanceIdentifier !== replica)
    throw new DrReplicaError(
      'DrReplicaConflict',
      `${source} already has a replica, ${topology.replica.instanceIdentifier} in ${topology.replica.region}: this step created nothing (a second one is not DR the topology knows; one an earlier round made stays: delete it if nothing needs it)`,
    );
  const others = regions.filter((r) => r.region !== writer.region);
  const other = others[0];
  if (other === undefined || others.length !== 1)
    throw new DrReplicaError(
      'DrReplicaConflict',
      `the writer ${source} is in ${writer.region}, which is not one of the deployed regions (${regions.map((r) => r.region).join(', ')}): this step created nothing`,
    );
  const { region, ...where } = other;
  return { ...shared, ...where, sourceRegion: writer.region, replicaRegion: region };
}

function progress(
  instance: DBInstance | undefined,
  where: { instanceIdentifier: string; region: string },
  phase: ReplicaPhase,
  action: ReplicaProgress['action'],
): ReplicaProgress {
  const group = instance?.DBParameterGroups?.[0];
  return {
    ...where,
    status: instance?.DBInstanceStatus ?? (action === 'created' ? 'creating' : 'unknown'),
    phase,
    done: phase === 'ready',
    action,
    endpoint: instance?.Endpoint?.Address ?? null,
    port: instance?.Endpoint?.Port ?? null,
    parameterGroup: group?.DBParameterGroupName ?? null,
    parameterApplyStatus: group?.ParameterApplyStatus ?? null,
  };
}

async function describe(rds: Pick<RDSClient, 'send'>, replica: string): Promise<DBInstance | undefined> {
  try {
    const { DBInstances } = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: replica }));
    return DBInstances?.[0];
  } catch (error) {
    if ((error as { name?: string }).name === 'DBInstanceNotFoundFault') return undefined;
    throw error;
  }
}

/**
 * RDS refuses a replica of a source without automated backups (InvalidDBInstanceState, the same error as a
 * source that is only busy): fail at once, naming the fix, rather than wait out two days of rounds. A source
 * taking its first backup after a promotion has a retention already, and is only waited for.
 */
async function refuseSourceWithoutBackups(
  rds: Pick<RDSClient, 'send'>,
  source: string,
  region: string,
): Promise<void> {
  const found = await describe(rds, source);
  if (found === undefined)
    throw new DrReplicaError(
      'DrReplicaFailed',
      `${source} does not exist in ${region}: nothing to replicate`,
    );
  if (found.BackupRetentionPeriod === 0)
    throw new DrReplicaError(
      'DrReplicaFailed',
      `${source} in ${region} keeps no automated backups (BackupRetentionPeriod 0), and RDS makes no replica of such a source: set a backup retention (ModifyDBInstance), then start the rebuild again`,
    );
}

/**
 * Moves the DR rebuild one step forward, idempotently, so a workflow can call it until it reports `done`:
 * creates an encrypted cross-region replica of `source` (the writer) in the other region when there is none; waits while
 * RDS works on it; attaches that region's parameter group (RDS refuses a parameter group when it creates a cross-region
 * PostgreSQL replica: it starts on the engine's default group, as CloudFormation's own handler works around);
 * reboots it so those parameters (rds.force_ssl, rds.logical_replication) take effect; then reports it ready.
 */
export async function advanceDrReplica(
  clients: { readonly source: Pick<RDSClient, 'send'>; readonly replica: Pick<RDSClient, 'send'> },
  placement: ReplicaPlacement,
  source: string,
  replica: string,
): Promise<ReplicaProgress> {
  const rds = clients.replica;
  const sourceArn = `arn:${placement.partition}:rds:${placement.sourceRegion}:${placement.account}:db:${source}`;
  const where = { instanceIdentifier: replica, region: placement.replicaRegion };
  const existing = await describe(rds, replica);
  if (existing === undefined) {
    await refuseSourceWithoutBackups(clients.source, source, placement.sourceRegion);
    try {
      const { DBInstance: created } = await rds.send(
        new CreateDBInstanceReadReplicaCommand({
          DBInstanceIdentifier: replica,
          // An ARN in another region: the SDK derives the source region from it and pre-signs the request.
          SourceDBInstanceIdentifier: sourceArn,
          KmsKeyId: placement.kmsKeyArn,
          DBSubnetGroupName: placement.subnetGroupName,
          VpcSecurityGroupIds: [...placement.securityGroupIds],
          MultiAZ: placement.multiAz,
          Port: placement.port,
          MaxAllocatedStorage: placement.maxAllocatedStorageGiB,
          PubliclyAccessible: false,
          DeletionProtection: true,
          CopyTagsToSnapshot: true,
          EnableIAMDatabaseAuthentication: true,
          EnablePerformanceInsights: true,
          PerformanceInsightsKMSKeyId: placement.kmsKeyArn,
          EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
          Tags: [{ Key: DR_REPLICA_ROLE.key, Value: DR_REPLICA_ROLE.value }],
        }),
      );
      return progress(created, where, 'creating', 'created');
    } catch (error) {
      // A retried step whose first create went through: carry on from what exists.
      if ((error as { name?: string }).name !== 'DBInstanceAlreadyExistsFault') throw error;
      return progress(await describe(rds, replica), where, 'creating', 'none');
    }
  }
  const replicaOf = existing.ReadReplicaSourceDBInstanceIdentifier;
  if (replicaOf !== undefined && replicaOf !== sourceArn && replicaOf !== source)
    throw new DrReplicaError(
      'DrReplicaConflict',
      `${replica} exists in ${placement.replicaRegion} as a replica of ${replicaOf}, not of ${source}: choose another identifier`,
    );
  if (replicaOf === undefined)
    throw new DrReplicaError(
      'DrReplicaConflict',
      `${replica} exists in ${placement.replicaRegion} and is not a read replica: choose another identifier`,
    );
  if (TERMINAL_DB_STATUSES.has(existing.DBInstanceStatus ?? ''))
    throw new DrReplicaError(
      'DrReplicaFailed',
      `${replica} is ${existing.DBInstanceStatus ?? '?'} in ${placement.replicaRegion}: RDS will not recover it by itself (see its events; fix, or delete it and start the DR rebuild again)`,
    );
  if (existing.DBInstanceStatus !== 'available') return progress(existing, where, 'waiting', 'none');
  const group = existing.DBParameterGroups?.[0];
  if (group?.DBParameterGroupName !== placement.parameterGroupName) {
    const { DBInstance: modified } = await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: replica,
        DBParameterGroupName: placement.parameterGroupName,
        // Not a CreateDBInstanceReadReplica parameter: set with the parameter group, in the same call.
        PreferredMaintenanceWindow: placement.maintenanceWindow,
        ApplyImmediately: true,
      }),
    );
    return progress(modified, where, 'attaching-parameters', 'attached-parameters');
  }
  if (group.ParameterApplyStatus === 'pending-reboot') {
    const { DBInstance: rebooting } = await rds.send(
      new RebootDBInstanceCommand({ DBInstanceIdentifier: replica }),
    );
    return progress(rebooting, where, 'rebooting', 'rebooted');
  }
  if (group.ParameterApplyStatus !== 'in-sync') return progress(existing, where, 'waiting', 'none');
  // Replicating, not only available: a replica whose replication broke reports it in StatusInfos.
  if ((existing.StatusInfos ?? []).some((i) => i.StatusType === 'read replication' && i.Normal === false))
    return progress(existing, where, 'waiting', 'none');
  return progress(existing, where, 'ready', 'none');
}
