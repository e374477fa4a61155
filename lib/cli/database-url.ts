import { readFileSync } from 'node:fs';
import { parse } from 'pg-connection-string';
import type { ConnectionSettings } from '../../lambdas/shared/database';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Connection settings from a postgres:// URL, for local use only (the workflows take secret references).
 * TLS with certificate verification is the default; `sslmode=disable` turns it off for a local plaintext
 * server and `sslrootcert=<file>` adds a CA. The URL itself is never printed.
 */
export function settingsFromUrl(url: string): { settings: ConnectionSettings; schema: string | undefined } {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new UsageError('--database-url must be a postgresql:// URL');
  }
  let parsed;
  try {
    parsed = parse(url);
  } catch {
    throw new UsageError('--database-url is not a valid PostgreSQL connection URL');
  }
  const params = new URL(url).searchParams;
  const sslmode = params.get('sslmode');
  const rootCert = params.get('sslrootcert');
  if (parsed.host === null || parsed.host === '') {
    throw new UsageError('--database-url has no host');
  }
  if (parsed.user === undefined || parsed.user === '') throw new UsageError('--database-url has no user');
  let ca: string | undefined;
  if (rootCert !== null) {
    try {
      ca = readFileSync(rootCert, 'utf8');
    } catch {
      throw new UsageError(`sslrootcert file ${rootCert} cannot be read`);
    }
  }
  return {
    settings: {
      host: parsed.host,
      port: parsed.port === undefined || parsed.port === null ? 5432 : Number(parsed.port),
      database: parsed.database ?? 'postgres',
      user: parsed.user,
      password: parsed.password ?? '',
      ...(ca === undefined ? {} : { ca }),
      ...(sslmode === 'disable' ? { tls: false as const } : {}),
    },
    schema: params.get('schema') ?? undefined,
  };
}
