import { readFileSync } from 'node:fs';
import { parse } from 'pg-connection-string';
import { plaintextRefusal, type ConnectionSettings } from '../../lambdas/shared/database';
import { identifier } from './option-values';
import { UsageError } from './usage-error';

export { UsageError } from './usage-error';

/** The sslmode values libpq knows; every one but `disable` means verified TLS here (see settingsFromUrl). */
const SSL_MODES = new Set(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']);

/** A host name, an IPv4 or IPv6 address (bracketed or not): no spaces, no URL syntax. */
const HOST = /^([A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})|\[?[0-9A-Fa-f:.]{2,45}\]?)$/;

const urlSchema = identifier('the schema parameter of --database-url');

function invalidUrl(error: unknown, url: string): UsageError {
  return new UsageError(
    '--database-url is not a valid PostgreSQL connection URL (no spaces; percent-encode special characters)',
    // A parser's message may quote the URL: the cause is kept only without it.
    error instanceof Error && !error.message.includes(url) ? { cause: error } : undefined,
  );
}

export interface UrlSettings {
  readonly settings: ConnectionSettings;
  readonly schema: string | undefined;
  /** Set when plain text to a host that is not loopback was allowed: print it. */
  readonly warning?: string;
}

/**
 * Connection settings from a postgres:// URL, for local use only (the workflows take secret references).
 * TLS with certificate verification is always used, whatever sslmode says (`allow`, `prefer`, `require` and
 * `verify-ca` never fall back to plain text or skip a check), except `sslmode=disable`: plain text, accepted for
 * a loopback host, refused for any other unless `allowPlaintext` (then with a warning). `sslrootcert=<file>` adds
 * a CA, `schema=<name>` picks the schema (an identifier, as --schema). The URL itself is never printed.
 */
export function settingsFromUrl(url: string, options: { allowPlaintext?: boolean } = {}): UrlSettings {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new UsageError('--database-url must be a postgresql:// URL');
  }
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch (error) {
    throw invalidUrl(error, url);
  }
  const sslmode = params.get('sslmode');
  const rootCert = params.get('sslrootcert');
  const schema = params.get('schema') ?? undefined;
  if (sslmode !== null && !SSL_MODES.has(sslmode)) {
    throw new UsageError(
      `the sslmode parameter of --database-url must be one of ${[...SSL_MODES].join(', ')}`,
    );
  }
  if (schema !== undefined) urlSchema(schema);
  let ca: string | undefined;
  if (rootCert !== null) {
    try {
      ca = readFileSync(rootCert, 'utf8');
    } catch (error) {
      throw new UsageError('the sslrootcert file of --database-url cannot be read', { cause: error });
    }
  }
  let parsed;
  try {
    parsed = parse(url);
  } catch (error) {
    throw invalidUrl(error, url);
  }
  if (parsed.host === null || parsed.host === '') {
    throw new UsageError('--database-url has no host');
  }
  if (!HOST.test(parsed.host)) throw new UsageError('--database-url has an invalid host');
  if (parsed.user === undefined || parsed.user === '') throw new UsageError('--database-url has no user');
  const settings: ConnectionSettings = {
    host: parsed.host,
    port: parsed.port === undefined || parsed.port === null ? 5432 : Number(parsed.port),
    database: parsed.database ?? 'postgres',
    user: parsed.user,
    password: parsed.password ?? '',
    ...(ca === undefined ? {} : { ca }),
    ...(sslmode === 'disable' ? { tls: false as const } : {}),
  };
  const refusal = plaintextRefusal(settings);
  if (refusal === undefined) return { settings, schema };
  if (options.allowPlaintext !== true) {
    throw new UsageError(
      `--database-url asks for ${refusal} (sslmode disable); give --allow-plaintext to accept that`,
    );
  }
  return {
    settings: { ...settings, allowPlaintext: true },
    schema,
    warning: `warning: --allow-plaintext: the password and every query travel unencrypted to ${settings.host}`,
  };
}
