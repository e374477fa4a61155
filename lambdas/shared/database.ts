import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { TransformParameterError } from '@aws-lambda-powertools/parameters/errors';
import { Client, DatabaseError as ServerError, type ClientConfig } from 'pg';
import { z } from 'zod';
import type { DatabaseRef } from './database-ref';
import { classifyPostgresError, DatabaseError } from './postgres-errors';
import { redact } from './redact';

export { databaseRefSchema, type DatabaseRef } from './database-ref';

/** Everything needed to open a connection. Holds a password: never log or return it. */
export interface ConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** Extra CA certificates (PEM); the platform trust store otherwise. */
  readonly ca?: string;
  /**
   * No TLS: plain text, refused unless the host is loopback (or a Unix socket) or `allowPlaintext` is set.
   * Only the CLI sets it (`sslmode=disable` in a URL); the Lambda steps always use verified TLS.
   */
  readonly tls?: false;
  /** Plain text to a host that is not loopback, explicitly asked for (`dr migrations --allow-plaintext`). */
  readonly allowPlaintext?: true;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** A host whose traffic never leaves the machine: localhost, 127.0.0.0/8, ::1, or a Unix socket directory. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host.startsWith('/')) return true;
  const address = host.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Why these settings may not connect in plain text, or undefined when they may: the rule for every connection
 * (the CLI checks it first to exit 2; clientConfig checks it again for every other caller).
 */
export function plaintextRefusal(settings: ConnectionSettings): string | undefined {
  if (settings.tls !== false || settings.allowPlaintext === true || isLoopbackHost(settings.host))
    return undefined;
  return `plain text (no TLS) to ${settings.host} is refused: it is not a loopback host`;
}

export type ResolveDatabase = (ref: DatabaseRef) => Promise<ConnectionSettings>;

const secretSchema = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  host: z.string().optional(),
  port: z.coerce.number().int().optional(),
  dbname: z.string().optional(),
});

/** Resolves references through Secrets Manager (Powertools, cached), as the Lambda steps do. */
export function secretsManagerResolver(
  options: {
    maxAgeSeconds?: number;
    ca?: string;
    /** The secret's version before its last rotation, for a database restored from before it. */
    versionStage?: 'AWSPREVIOUS';
  } = {},
): ResolveDatabase {
  return async (ref) => {
    let value: unknown;
    try {
      value = await getSecret(ref.secretId, {
        transform: 'json',
        // Powertools caches a secret by name alone: another version must neither read nor fill that cache.
        ...(options.versionStage === undefined
          ? { maxAge: options.maxAgeSeconds ?? 300 }
          : { maxAge: 0, forceFetch: true, sdkOptions: { VersionStage: options.versionStage } }),
      });
    } catch (error) {
      // The JSON parser quotes the start of the text it could not parse: a plain-text secret is the password
      // itself. Neither the message nor the cause may travel on.
      if (error instanceof TransformParameterError) {
        throw new DatabaseError(
          'auth_failed',
          `secret ${ref.secretId} is not JSON with username/password fields`,
        );
      }
      throw error;
    }
    const parsed = secretSchema.safeParse(value);
    if (!parsed.success) {
      throw new DatabaseError('auth_failed', `secret ${ref.secretId} has no username/password fields`);
    }
    const secret = parsed.data;
    const host = ref.host ?? secret.host;
    if (host === undefined) {
      throw new DatabaseError(
        'unreachable',
        `secret ${ref.secretId} has no host and the reference gives none`,
      );
    }
    return {
      host,
      port: ref.port ?? secret.port ?? 5432,
      database: ref.database ?? secret.dbname ?? 'postgres',
      user: secret.username,
      password: secret.password,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    };
  };
}

let lambdaResolverInstance: ResolveDatabase | undefined;

/**
 * The resolver the Lambda steps share: Secrets Manager through Powertools' cache, plus the extra CA bundle
 * named by DB_CA_FILE when set (on Lambda, NODE_EXTRA_CA_CERTS already trusts the RDS CAs).
 */
export function lambdaResolver(): ResolveDatabase {
  if (lambdaResolverInstance === undefined) {
    const caFile = process.env.DB_CA_FILE;
    lambdaResolverInstance = secretsManagerResolver(
      caFile === undefined ? {} : { ca: readFileSync(caFile, 'utf8') },
    );
  }
  return lambdaResolverInstance;
}

export interface ConnectOptions {
  /** Limit for connecting (TCP, TLS, auth). */
  readonly connectTimeoutMs: number;
  /** Limit for each statement; 0 disables it (long migrations). */
  readonly statementTimeoutMs: number;
  readonly applicationName: string;
}

/** The pg client configuration; throws DatabaseError (tls_failed) for plain text the rule refuses. */
export function clientConfig(settings: ConnectionSettings, options: ConnectOptions): ClientConfig {
  const refusal = plaintextRefusal(settings);
  if (refusal !== undefined) throw new DatabaseError('tls_failed', refusal);
  return {
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.user,
    password: settings.password,
    ssl:
      settings.tls === false
        ? false
        : { rejectUnauthorized: true, ...(settings.ca === undefined ? {} : { ca: settings.ca }) },
    connectionTimeoutMillis: options.connectTimeoutMs,
    ...(options.statementTimeoutMs > 0
      ? { statement_timeout: options.statementTimeoutMs, query_timeout: options.statementTimeoutMs + 1000 }
      : {}),
    application_name: options.applicationName,
  };
}

/** Turns any error into a classified DatabaseError whose message carries no secret. */
export function toDatabaseError(error: unknown, settings: ConnectionSettings): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DatabaseError(classifyPostgresError(error), redact(message, settings.password));
}

/** Errors from the server, the socket or the driver, as opposed to the caller's own typed errors. */
function isDriverError(error: unknown): boolean {
  if (error instanceof ServerError) return true;
  if (!(error instanceof Error)) return false;
  return 'syscall' in error || /Connection terminated|not queryable|timeout/i.test(error.message);
}

/** Opens a verified-TLS connection, runs `work`, and always closes it. Errors come back classified. */
export async function withConnection<T>(
  settings: ConnectionSettings,
  options: ConnectOptions,
  work: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client(clientConfig(settings, options));
  // A socket error while idle must not crash the process; the next query reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    void client.end().catch(() => undefined);
    throw toDatabaseError(error, settings);
  }
  try {
    return await work(client);
  } catch (error) {
    throw isDriverError(error) ? toDatabaseError(error, settings) : error;
  } finally {
    await client.end().catch(() => undefined);
  }
}
