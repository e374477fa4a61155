/**
 * Opening a promoted replica as the writer, and proving it takes writes: the failover's smoke test of the
 * database itself. Its former writer's retirement (or a switchover's fence) is database settings, replayed by
 * the physical replica (openWriter undoes them); then every application database must accept a new session
 * that is read-write on a server out of recovery.
 */
import {
  withConnection,
  type ConnectionSettings,
  type ConnectOptions,
  type DatabaseRef,
} from '../shared/database';
import { scramVerifier } from '../shared/scram-verifier';
import { withEitherSecretVersion, type SecretVersions } from '../shared/secret-versions';
import { FailoverError } from './replication-position';
import { openWriter } from './retire-writer';

export interface OpenedWriter {
  /** Application databases opened and checked read-write. */
  readonly databases: readonly string[];
  readonly writable: true;
  /** When the checks passed: the writer takes writes from here (the failover's RTO ends here). */
  readonly openedAt: string;
}

const OPTIONS: ConnectOptions = {
  connectTimeoutMs: 10_000,
  statementTimeoutMs: 30_000,
  applicationName: 'pg-dr-failover',
};

/** Opens the promoted writer (connected to its maintenance database) and checks each application database. */
export async function openPromoted(settings: ConnectionSettings): Promise<OpenedWriter> {
  const { databases } = await withConnection(
    { ...settings, database: 'postgres' },
    OPTIONS,
    async (client) => {
      const { rows } = await client.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
      if (rows[0]?.recovery !== false)
        throw new FailoverError(
          'NotWritable',
          `${settings.host} is still in recovery: RDS reports it promoted, PostgreSQL does not (yet)`,
        );
      return openWriter(client);
    },
  );
  for (const database of databases) {
    const readOnly = await withConnection({ ...settings, database }, OPTIONS, async (client) => {
      const { rows } = await client.query<{ read_only: string; recovery: boolean }>(
        "SELECT current_setting('transaction_read_only') AS read_only, pg_is_in_recovery() AS recovery",
      );
      return rows[0]?.read_only !== 'off' || rows[0].recovery;
    });
    if (readOnly)
      throw new FailoverError(
        'NotWritable',
        `${settings.host}: a new session on database ${database} is read-only after opening it`,
      );
  }
  return { databases, writable: true, openedAt: new Date().toISOString() };
}

/**
 * An adopted restored instance takes its secret's current password: it has its source's as of the restore
 * point, and everything (the probes, the steps, the application) opens the writer by the current one. Set as
 * a SCRAM verifier by the master user itself (a role may change its own password), so no statement holds it.
 * Returns whether it had to be reset (only the previous version opened it).
 */
export async function takeCurrentPassword(secrets: SecretVersions, ref: DatabaseRef): Promise<boolean> {
  return withEitherSecretVersion(secrets, ref, OPTIONS, async (client, version, current) => {
    if (version === 'AWSCURRENT') return false;
    await client.query(
      `ALTER ROLE CURRENT_USER WITH PASSWORD ${client.escapeLiteral(scramVerifier(current.password))}`,
    );
    return true;
  });
}
