import type { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import type { PostgresServer } from './postgres';

export interface ColdStart<H> {
  readonly handler: H;
  readonly secrets: AwsClientStub<SecretsManagerClient>;
  readonly GetSecretValue: typeof GetSecretValueCommand;
}

/**
 * Loads a handler module in a fresh module registry, as a Lambda cold start: module state and the Powertools
 * secret cache start empty. Secrets Manager is mocked inside the same registry the handler loads it from.
 */
export function coldStart<H>(modulePath: string, exportName = 'handler'): ColdStart<H> {
  let loaded: ColdStart<H> | undefined;
  jest.isolateModules(() => {
    const sdk = jest.requireActual<typeof import('@aws-sdk/client-secrets-manager')>(
      '@aws-sdk/client-secrets-manager',
    );
    const secrets = mockClient(sdk.SecretsManagerClient);
    const module = jest.requireActual<Record<string, H>>(modulePath);
    const handler = module[exportName];
    if (handler === undefined) throw new Error(`${modulePath} has no export ${exportName}`);
    loaded = { handler, secrets, GetSecretValue: sdk.GetSecretValueCommand };
  });
  if (loaded === undefined) throw new Error(`${modulePath} did not load`);
  return loaded;
}

/** The JSON an RDS-attached Secrets Manager secret holds, for a test server. */
export function databaseSecret(server: PostgresServer, database = 'postgres', password = server.password) {
  return {
    SecretString: JSON.stringify({
      engine: 'postgres',
      username: server.user,
      password,
      host: server.host,
      port: server.port,
      dbname: database,
    }),
  };
}

/**
 * What a handler prints to stdout, captured from now until jest.restoreAllMocks(): `lines` holds each write,
 * and `figures()` the EMF records among them (the metrics Powertools published), as objects by metric name.
 */
export function capturePrinted(): { lines: string[]; figures: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  return {
    lines,
    figures: () =>
      lines
        .filter((line) => line.includes('"_aws"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
