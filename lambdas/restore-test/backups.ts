/**
 * The automated backups RDS keeps in a region, as the restore test and the backup status read them: the
 * writer's newest restorable point there, and how old it is.
 */
import {
  DescribeDBInstanceAutomatedBackupsCommand,
  type DBInstanceAutomatedBackup,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { RoutableError } from '../shared/routable-error';

type Rds = Pick<RDSClient, 'send'>;

/** An instance and its region: the writer whose backups are looked for. */
export interface WriterRef {
  readonly instanceIdentifier: string;
  readonly region: string;
}

export class RestoreTestError extends RoutableError<
  'NoBackupToRestore' | 'RestoreFailed' | 'RestoreTestInstanceMissing' | 'NotARestoreTest'
> {}

/** Every automated backup RDS keeps in this region (replicated here, or of this region's instances). */
export async function allAutomatedBackups(rds: Rds): Promise<DBInstanceAutomatedBackup[]> {
  const found: DBInstanceAutomatedBackup[] = [];
  let marker: string | undefined;
  for (let page = 0; page < 50; page++) {
    const answer = await rds.send(
      new DescribeDBInstanceAutomatedBackupsCommand({
        ...(marker === undefined ? {} : { Marker: marker }),
        MaxRecords: 100,
      }),
    );
    found.push(...(answer.DBInstanceAutomatedBackups ?? []));
    marker = answer.Marker;
    if (marker === undefined) break;
  }
  return found;
}

/** The region of the instance a backup is of: `Region`, else its source ARN's region. */
export const backupSourceRegion = (backup: DBInstanceAutomatedBackup): string | undefined =>
  backup.Region ?? /^arn:[^:]+:rds:([^:]+):/.exec(backup.DBInstanceArn ?? '')?.[1];

/**
 * The writer's newest restorable backup in this region: its automated backups replicated here (or, after a
 * failover made a writer of this region, its own). The whole list is read and filtered here: a
 * DBInstanceIdentifier parameter must name an instance of the region the call is made in, and the writer's
 * replicated backups are of an instance of another region. RDS has spelled the statuses in both cases over
 * the years, so they compare without case; a backup without a restore window yet is not restorable.
 */
export async function latestBackup(
  rds: Rds,
  writer: WriterRef,
  region: string,
): Promise<DBInstanceAutomatedBackup> {
  // The writer's backups: its identifier in its own region (another instance of that name, in this region,
  // has backups of its own, which would hide a replication that stopped).
  const backups = (await allAutomatedBackups(rds)).filter(
    (b) =>
      b.DBInstanceIdentifier === writer.instanceIdentifier &&
      (backupSourceRegion(b) ?? region) === writer.region,
  );
  const restorable = backups
    .filter((b) => ['active', 'replicating'].includes((b.Status ?? '').toLowerCase()))
    .filter((b) => b.RestoreWindow?.LatestTime !== undefined)
    .sort(
      (a, b) => (b.RestoreWindow?.LatestTime?.getTime() ?? 0) - (a.RestoreWindow?.LatestTime?.getTime() ?? 0),
    );
  const newest = restorable[0];
  if (newest === undefined)
    throw new RestoreTestError(
      'NoBackupToRestore',
      `no restorable automated backup of ${writer.instanceIdentifier} (of ${writer.region}) in ${region} (${backups.length} of it found, none active or replicating with a restore window): is its backup replication to ${region} on? (dr backups)`,
    );
  return newest;
}

export interface BackupAge {
  readonly writer: string;
  /** The newest point the writer can be restored to in this region (ISO 8601), and how long ago that is. */
  readonly latestRestorableTime: string;
  readonly seconds: number;
  /** Replicated from the writer's region, or the writer's own (a writer of this region). */
  readonly replicated: boolean;
}

/** How old the newest restorable point of the writer is in this region: the RPO of a restore from backup. */
export async function backupAge(
  rds: Rds,
  writer: WriterRef,
  region: string,
  now: number,
): Promise<BackupAge> {
  const backup = await latestBackup(rds, writer, region);
  const latest = backup.RestoreWindow?.LatestTime as Date;
  return {
    writer: writer.instanceIdentifier,
    latestRestorableTime: latest.toISOString(),
    seconds: Math.max(0, Math.round((now - latest.getTime()) / 1000)),
    replicated: (backupSourceRegion(backup) ?? region) !== region,
  };
}
