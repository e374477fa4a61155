/**
 * The physical restore test's RDS side, in the DR region: restore the writer's latest backup there into a
 * throwaway instance (throwaways.ts names it, tags it and deletes it) and follow it until it is available.
 */
import { RestoreDBInstanceToPointInTimeCommand, type RDSClient } from '@aws-sdk/client-rds';
import { RESTORE_TEST_ROLE } from '../shared/provisioning-tags';
import { backupSourceRegion, latestBackup, RestoreTestError, type WriterRef } from './backups';
import { sweepStaleRestoreTests, type ThrowawaySweep } from './throwaways';
import { describeInstance } from '../shared/rds-instance';
import { TERMINAL_DB_STATUSES } from '../shared/rds-status';
import type { Topology, TopologyMember } from '../shared/topology-schema';

type Rds = Pick<RDSClient, 'send'>;

export { RestoreTestError } from './backups';
export {
  deleteRestoreTest,
  restoreTestIdentifier,
  restoreTestInstances,
  type RestoreDeletion,
} from './throwaways';

/** Where the throwaway instance goes in the DR region: the DR replica's subnets, security group and parameters. */
export interface RestorePlacement {
  readonly region: string;
  readonly subnetGroupName: string;
  readonly securityGroupIds: readonly string[];
  readonly parameterGroupName: string;
  readonly port: number;
}

/** What the first step did, and what the workflow carries to the next ones. */
export interface RestoreStarted {
  readonly instanceIdentifier: string;
  /** The instance the backup is of (the topology's writer when the test started). */
  readonly sourceInstance: string;
  /** The backup's latest restorable time: the point restored (ISO 8601). */
  readonly restorePoint: string;
  /** When RDS accepted the restore (ISO 8601): the restore's duration counts from here. */
  readonly restoreStartedAt: string;
  /** Throwaways of ended executions (stopped, timed out) this start deleted or could not delete. */
  readonly sweptLeftovers: ThrowawaySweep;
}

export interface RestoreProgress {
  readonly instanceIdentifier: string;
  readonly status: string;
  readonly done: boolean;
  readonly endpoint: string | null;
  readonly port: number | null;
  /** When this step saw it (ISO 8601): the first `done` round's is when the restore ended, to the round. */
  readonly observedAt: string;
}

/**
 * Starts a restore test, idempotently: deletes what earlier tests left, then restores the writer's latest
 * backup in this region to its latest restorable time into `identifier`, in the DR replica's subnets and
 * security group, on the DR parameter group, single-AZ, private, without deletion protection, tagged as a
 * throwaway. A retried step whose restore went through reports the instance that exists.
 */
export async function startRestoreTest(
  rds: Rds,
  placement: RestorePlacement,
  request: { readonly writer: WriterRef; readonly identifier: string; readonly resourcePrefix: string },
  now: () => Date = () => new Date(),
): Promise<RestoreStarted> {
  const sweptLeftovers = await sweepStaleRestoreTests(rds, request.resourcePrefix, now().getTime());
  const backup = await latestBackup(rds, request.writer, placement.region);
  const restorePoint = (backup.RestoreWindow?.LatestTime as Date).toISOString();
  const started = (restoreStartedAt: string): RestoreStarted => ({
    instanceIdentifier: request.identifier,
    sourceInstance: request.writer.instanceIdentifier,
    restorePoint,
    restoreStartedAt,
    sweptLeftovers,
  });
  const existing = await describeInstance(rds, request.identifier);
  if (existing !== undefined) return started((existing.InstanceCreateTime ?? now()).toISOString());
  const source = backupSourceRegion(backup);
  const replicated = source !== undefined && source !== placement.region;
  try {
    await rds.send(
      new RestoreDBInstanceToPointInTimeCommand({
        TargetDBInstanceIdentifier: request.identifier,
        // A backup replicated from another region is named by its ARN; a writer of this region by its resource id.
        ...(replicated
          ? { SourceDBInstanceAutomatedBackupsArn: backup.DBInstanceAutomatedBackupsArn }
          : { SourceDbiResourceId: backup.DbiResourceId }),
        UseLatestRestorableTime: true,
        // Without them RDS would use the default subnet group, security group and parameter group.
        DBSubnetGroupName: placement.subnetGroupName,
        VpcSecurityGroupIds: [...placement.securityGroupIds],
        DBParameterGroupName: placement.parameterGroupName,
        Port: placement.port,
        MultiAZ: false,
        PubliclyAccessible: false,
        // A throwaway keeps no backups of its own: no backing-up after the restore, nothing left when deleted.
        BackupRetentionPeriod: 0,
        DeletionProtection: false,
        CopyTagsToSnapshot: false,
        Tags: [{ Key: RESTORE_TEST_ROLE.key, Value: RESTORE_TEST_ROLE.value }],
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name !== 'DBInstanceAlreadyExistsFault') throw error;
  }
  return started(now().toISOString());
}

/** Where the restore is: done once the instance is available, a failure once RDS gives up on it. */
export async function advanceRestoreTest(
  rds: Rds,
  identifier: string,
  now: () => Date = () => new Date(),
): Promise<RestoreProgress> {
  const instance = await describeInstance(rds, identifier);
  if (instance === undefined)
    throw new RestoreTestError(
      'RestoreTestInstanceMissing',
      `${identifier} does not exist: it was deleted while the restore test ran`,
    );
  const status = instance.DBInstanceStatus ?? 'unknown';
  if (TERMINAL_DB_STATUSES.has(status))
    throw new RestoreTestError(
      'RestoreFailed',
      `${identifier} is ${status}: RDS could not restore the backup (see the instance's events)`,
    );
  const done = status === 'available';
  return {
    instanceIdentifier: identifier,
    status,
    done,
    endpoint: instance.Endpoint?.Address ?? null,
    port: instance.Endpoint?.Port ?? null,
    observedAt: now().toISOString(),
  };
}

/** What a restore test restores, and what its check opens it with and compares it with. */
export interface RestoreTestSubject {
  /** The topology's writer: whose backup is restored. */
  readonly writer: WriterRef;
  /** The secret that opens the writer, and so its restored copy. */
  readonly secretId: string;
  /** A live copy of the writer in the DR region to compare with: the replica there, or the writer itself. */
  readonly live: {
    readonly name: string;
    readonly host: string;
    readonly port: number;
    readonly secretId: string;
  } | null;
}

/** The subject of a test in `region`, from the topology; members without a port or secret take `defaults`. */
export function restoreTestSubject(
  topology: Topology,
  region: string,
  defaults: { readonly port: number; readonly secretId: string },
): RestoreTestSubject {
  const { writer, replica } = topology;
  const secretId = writer.secretId ?? defaults.secretId;
  const here = [writer, replica].find(
    (member): member is TopologyMember => member !== null && member.region === region,
  );
  return {
    writer: { instanceIdentifier: writer.instanceIdentifier, region: writer.region },
    secretId,
    live:
      here === undefined
        ? null
        : {
            name: `${here === writer ? 'the writer' : 'the DR replica'} ${here.instanceIdentifier}`,
            host: here.endpoint,
            port: here.port ?? writer.port ?? defaults.port,
            secretId: here.secretId ?? secretId,
          },
  };
}
