/**
 * The physical restore test's RDS side, in the DR region: restore the writer's latest backup there into a
 * throwaway instance, follow it until it is available, and delete it. Throwaway instances are named
 * `<prefix>-restore-test-<UTC minute>` and tagged `pg-dr:role = restore-test`; IAM lets the workflow restore and
 * delete only those, and this code deletes nothing without both the name and the tag.
 */
import {
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  RestoreDBInstanceToPointInTimeCommand,
  type DBInstance,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { RESTORE_TEST_ROLE, restoreTestNamePrefix } from '../shared/provisioning-tags';
import { backupSourceRegion, latestBackup, RestoreTestError } from './backups';
import { RDS_INSTANCE_IDENTIFIER } from '../shared/patterns';
import { describeInstance } from '../shared/rds-instance';
import { TERMINAL_DB_STATUSES } from '../shared/rds-status';
import type { Topology, TopologyMember } from '../shared/topology-schema';

type Rds = Pick<RDSClient, 'send'>;

export { RestoreTestError } from './backups';

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
  /** Throwaway instances an earlier test left (stopped or timed out) that this one deletes. */
  readonly sweptLeftovers: readonly string[];
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

export interface RestoreDeletion {
  readonly instanceIdentifier: string;
  /** `deleting`: asked now or already; `gone`: there was nothing to delete. */
  readonly outcome: 'deleting' | 'gone';
}

/**
 * The throwaway instance of a test started at `startedAt`: `<prefix>-restore-test-yyyymmddthhmm` (UTC), so a
 * retried step names the same instance, and two tests a minute apart do not.
 */
export function restoreTestIdentifier(resourcePrefix: string, startedAt: string): string {
  const when = new Date(startedAt);
  if (Number.isNaN(when.getTime())) throw new RangeError(`startedAt: not a time (${startedAt.slice(0, 40)})`);
  const stamp = when.toISOString().slice(0, 16).replace(/[-:]/g, '').toLowerCase();
  const identifier = `${restoreTestNamePrefix(resourcePrefix)}${stamp}`;
  if (!RDS_INSTANCE_IDENTIFIER.test(identifier))
    throw new RangeError(`${identifier} is not an RDS instance identifier: check the resource prefix`);
  return identifier;
}

const isRestoreTest = (instance: DBInstance, resourcePrefix: string): boolean =>
  (instance.DBInstanceIdentifier ?? '').startsWith(restoreTestNamePrefix(resourcePrefix)) &&
  (instance.TagList ?? []).some(
    (tag) => tag.Key === RESTORE_TEST_ROLE.key && tag.Value === RESTORE_TEST_ROLE.value,
  );

async function allInstances(rds: Rds): Promise<DBInstance[]> {
  const found: DBInstance[] = [];
  let marker: string | undefined;
  for (let page = 0; page < 50; page++) {
    const answer = await rds.send(
      new DescribeDBInstancesCommand({
        ...(marker === undefined ? {} : { Marker: marker }),
        MaxRecords: 100,
      }),
    );
    found.push(...(answer.DBInstances ?? []));
    marker = answer.Marker;
    if (marker === undefined) break;
  }
  return found;
}

/** The throwaway instances of restore tests in the region (name and tag both), whatever their status. */
export async function restoreTestInstances(rds: Rds, resourcePrefix: string): Promise<DBInstance[]> {
  return (await allInstances(rds)).filter((i) => isRestoreTest(i, resourcePrefix));
}

/** Deletes the throwaway instances earlier tests left (a stopped or timed-out execution runs no cleanup). */
async function sweepLeftovers(rds: Rds, resourcePrefix: string, keep: string): Promise<string[]> {
  const leftovers = (await restoreTestInstances(rds, resourcePrefix)).filter(
    (i) => i.DBInstanceIdentifier !== keep,
  );
  const swept: string[] = [];
  for (const instance of leftovers) {
    const id = instance.DBInstanceIdentifier ?? '';
    if (instance.DBInstanceStatus !== 'deleting') await deleteInstance(rds, id);
    swept.push(id);
  }
  return swept;
}

async function deleteInstance(rds: Rds, identifier: string): Promise<void> {
  try {
    // A throwaway: no final snapshot, and its own automated backups go with it.
    await rds.send(
      new DeleteDBInstanceCommand({
        DBInstanceIdentifier: identifier,
        SkipFinalSnapshot: true,
        DeleteAutomatedBackups: true,
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name !== 'DBInstanceNotFoundFault') throw error;
  }
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
  request: { readonly writer: string; readonly identifier: string; readonly resourcePrefix: string },
  now: () => Date = () => new Date(),
): Promise<RestoreStarted> {
  const sweptLeftovers = await sweepLeftovers(rds, request.resourcePrefix, request.identifier);
  const backup = await latestBackup(rds, request.writer, placement.region);
  const restorePoint = (backup.RestoreWindow?.LatestTime as Date).toISOString();
  const started = (restoreStartedAt: string): RestoreStarted => ({
    instanceIdentifier: request.identifier,
    sourceInstance: request.writer,
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

/**
 * Deletes the throwaway instance, whatever the test's outcome: only an instance with the throwaway name and
 * tag (anything else is refused, untouched), without a final snapshot. Idempotent: a deleting or missing
 * instance is reported as it is.
 */
export async function deleteRestoreTest(
  rds: Rds,
  identifier: string,
  resourcePrefix: string,
): Promise<RestoreDeletion> {
  const instance = await describeInstance(rds, identifier);
  if (instance === undefined) return { instanceIdentifier: identifier, outcome: 'gone' };
  if (!isRestoreTest(instance, resourcePrefix))
    throw new RestoreTestError(
      'NotARestoreTest',
      `${identifier} is not a restore test's throwaway instance (name ${restoreTestNamePrefix(resourcePrefix)}* and tag ${RESTORE_TEST_ROLE.key}=${RESTORE_TEST_ROLE.value}): not deleted`,
    );
  if (instance.DBInstanceStatus !== 'deleting') await deleteInstance(rds, identifier);
  return { instanceIdentifier: identifier, outcome: 'deleting' };
}

/** What a restore test restores, and what its check opens it with and compares it with. */
export interface RestoreTestSubject {
  /** The topology's writer: whose backup is restored. */
  readonly writer: string;
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
    writer: writer.instanceIdentifier,
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
