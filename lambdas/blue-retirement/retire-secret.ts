import {
  DeleteSecretCommand,
  DescribeSecretCommand,
  RemoveRegionsFromReplicationCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

/** How long a retired blue's secret can still be restored (RestoreSecret): Secrets Manager's longest window. */
export const SECRET_RECOVERY_DAYS = 30;

/**
 * A deleted blue's own secret (the one green provisioning made, named after it) goes too, one step a round:
 * its replicas first (Secrets Manager deletes no primary secret that has any), then the secret itself,
 * scheduled for deletion with a recovery window. Idempotent: gone or scheduled already is done.
 */
export async function retireSecret(
  secrets: Pick<SecretsManagerClient, 'send'>,
  name: string,
): Promise<'gone' | 'replicas removed' | 'scheduled'> {
  let described;
  try {
    described = await secrets.send(new DescribeSecretCommand({ SecretId: name }));
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return 'gone';
    throw error;
  }
  if (described.DeletedDate !== undefined) return 'scheduled';
  const replicas = (described.ReplicationStatus ?? []).flatMap((r) =>
    r.Region === undefined ? [] : [r.Region],
  );
  if (replicas.length > 0) {
    await secrets.send(
      new RemoveRegionsFromReplicationCommand({ SecretId: name, RemoveReplicaRegions: replicas }),
    );
    return 'replicas removed';
  }
  await secrets.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: SECRET_RECOVERY_DAYS }));
  return 'scheduled';
}
