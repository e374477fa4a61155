/**
 * Opening an instance restored from backups: it keeps its source's master password as it was at the restore
 * point, so a rotation since then is met by the secret's previous version (AWSPREVIOUS). Shared by the restore
 * test's checks and the failover's adoption of a restored instance.
 */
import type { Client } from 'pg';
import { readFileSync } from 'node:fs';
import {
  lambdaResolver,
  secretsManagerResolver,
  withConnection,
  type ConnectionSettings,
  type ConnectOptions,
  type DatabaseRef,
  type ResolveDatabase,
} from './database';
import { DatabaseError } from './postgres-errors';

/** The secret's versions to try, newest first: AWSCURRENT, then AWSPREVIOUS. */
export interface SecretVersions {
  readonly current: ResolveDatabase;
  readonly previous: ResolveDatabase;
}

export type SecretVersion = 'AWSCURRENT' | 'AWSPREVIOUS';

/**
 * Runs `work` connected by the secret's current version, else (a password refused) by its previous one. What
 * neither version opens throws the previous version's refusal (or the current one's, when there is no previous
 * version), as `auth_failed`.
 */
export async function withEitherSecretVersion<T>(
  secrets: SecretVersions,
  ref: DatabaseRef,
  options: ConnectOptions,
  work: (client: Client, version: SecretVersion, current: ConnectionSettings) => Promise<T>,
): Promise<T> {
  const current = await secrets.current(ref);
  try {
    return await withConnection(current, options, (client) => work(client, 'AWSCURRENT', current));
  } catch (error) {
    if (!(error instanceof DatabaseError) || error.kind !== 'auth_failed') throw error;
    let previous: ConnectionSettings;
    try {
      previous = await secrets.previous(ref);
    } catch (missing) {
      // A secret never rotated has no AWSPREVIOUS: the current version's refusal is the answer.
      throw new DatabaseError(
        'auth_failed',
        `${error.message}; secret ${ref.secretId} has no previous version to try`,
        { cause: missing },
      );
    }
    return withConnection(previous, options, (client) => work(client, 'AWSPREVIOUS', current));
  }
}

let previousInstance: ResolveDatabase | undefined;

/** Both versions as the Lambda steps resolve them (Powertools' cache, and the CA bundle DB_CA_FILE names). */
export function lambdaSecretVersions(): SecretVersions {
  if (previousInstance === undefined) {
    const caFile = process.env.DB_CA_FILE;
    previousInstance = secretsManagerResolver({
      versionStage: 'AWSPREVIOUS',
      ...(caFile === undefined ? {} : { ca: readFileSync(caFile, 'utf8') }),
    });
  }
  return { current: lambdaResolver(), previous: previousInstance };
}
