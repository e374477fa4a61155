import { StartDBInstanceAutomatedBackupsReplicationCommand, type RDSClient } from '@aws-sdk/client-rds';
import { describeInstance } from '../shared/rds-instance';
import { DrReplicaError, type ReplicaPlacement } from './replica';

export interface BackupReplicationResult {
  /** The writer whose automated backups are replicated, and where they go (its replica's region). */
  readonly source: string;
  readonly sourceRegion: string;
  readonly destinationRegion: string;
  readonly outcome: 'started' | 'already-replicating';
}

/**
 * Replicates the writer's automated backups to the other region (its replica's), as the first deploy does for
 * the primary it creates: a writer made later (a cutover's green, a promoted replica) starts without. Called in
 * the destination region, encrypted with that region's key, kept `retentionDays`. Idempotent: a writer whose
 * backups already replicate there is left as it is.
 */
export async function replicateWriterBackups(
  clients: { readonly source: Pick<RDSClient, 'send'>; readonly destination: Pick<RDSClient, 'send'> },
  placement: ReplicaPlacement,
  source: string,
  retentionDays: number,
): Promise<BackupReplicationResult> {
  const result = (outcome: BackupReplicationResult['outcome']): BackupReplicationResult => ({
    source,
    sourceRegion: placement.sourceRegion,
    destinationRegion: placement.replicaRegion,
    outcome,
  });
  const writer = await describeInstance(clients.source, source);
  if (writer === undefined)
    throw new DrReplicaError(
      'DrReplicaFailed',
      `${source} does not exist in ${placement.sourceRegion}: no backups to replicate`,
    );
  if (writer.BackupRetentionPeriod === 0)
    throw new DrReplicaError(
      'DrReplicaFailed',
      `${source} in ${placement.sourceRegion} keeps no automated backups (BackupRetentionPeriod 0): set a backup retention, then start the rebuild again`,
    );
  const there = (writer.DBInstanceAutomatedBackupsReplications ?? []).some((r) =>
    (r.DBInstanceAutomatedBackupsArn ?? '').startsWith(
      `arn:${placement.partition}:rds:${placement.replicaRegion}:`,
    ),
  );
  if (there) return result('already-replicating');
  await clients.destination.send(
    new StartDBInstanceAutomatedBackupsReplicationCommand({
      SourceDBInstanceArn: `arn:${placement.partition}:rds:${placement.sourceRegion}:${placement.account}:db:${source}`,
      KmsKeyId: placement.kmsKeyArn,
      BackupRetentionPeriod: retentionDays,
    }),
  );
  return result('started');
}
