import { checkConnectivity } from '../../lambdas/connectivity-check/check';
import type { ConnectivityResult } from '../../lambdas/connectivity-check/handler';
import type { ConnectionSettings } from '../../lambdas/shared/database';
import { DatabaseError } from '../../lambdas/shared/postgres-errors';
import { coldStart, databaseSecret } from '../support/lambda';
import { freeLoopbackPort, PostgresServer } from '../support/postgres';
import { eventually, execute, subscribeGreenToBlue } from '../support/replication';

type Handler = (event: unknown) => Promise<ConnectivityResult>;

function settingsOf(server: PostgresServer, database = 'postgres'): ConnectionSettings {
  return {
    host: server.host,
    port: server.port,
    database,
    user: server.user,
    password: server.password,
    ...(server.tls === undefined ? {} : { ca: server.tls.caCert }),
  };
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as DatabaseError,
  );

describe('connectivity check against real PostgreSQL', () => {
  let blue: PostgresServer;
  let green: PostgresServer;
  let standby: PostgresServer;

  beforeAll(async () => {
    [blue, green] = await Promise.all([
      PostgresServer.start({ name: 'blue', settings: { wal_level: 'logical' } }),
      PostgresServer.start({ name: 'green', password: 'green-Secret-42' }),
    ]);
    standby = await PostgresServer.startStandby(blue, { name: 'blue-standby' });
    await execute(blue, 'postgres', 'CREATE TABLE item (id int PRIMARY KEY)');
    await execute(green, 'postgres', 'CREATE TABLE item (id int PRIMARY KEY)');
    await subscribeGreenToBlue(blue, green, 'postgres');
  });
  afterAll(async () => {
    await Promise.all([standby.destroy(), green.destroy()]);
    await blue.destroy();
  });

  it('describes a writable primary: version, role, standbys and publications', async () => {
    await eventually(
      async () =>
        (await checkConnectivity(settingsOf(blue), { timeoutMs: 3000, expect: 'any', label: 'blue' }))
          .replication.streamingStandbys === 1,
    );
    const report = await checkConnectivity(settingsOf(blue), {
      timeoutMs: 3000,
      expect: 'writable',
      label: 'blue',
    });
    expect(report).toMatchObject({
      role: 'primary',
      readOnly: false,
      serverVersion: expect.stringMatching(/^\d+\.\d+/) as unknown,
      replication: {
        streamingStandbys: 1,
        walReceiver: null,
        replayLagSeconds: null,
        publications: ['dr_blue_green'],
        subscriptions: [],
      },
    });
    expect(report.serverVersionNum).toBeGreaterThanOrEqual(130000);
    expect(report.connectMs).toBeGreaterThanOrEqual(0);
  });

  it('describes a logical subscriber with its subscription progress', async () => {
    await eventually(async () => {
      const r = await checkConnectivity(settingsOf(green), {
        timeoutMs: 3000,
        expect: 'any',
        label: 'green',
      });
      return r.replication.subscriptions[0]?.latestEndLsn != null;
    });
    const report = await checkConnectivity(settingsOf(green), {
      timeoutMs: 3000,
      expect: 'writable',
      label: 'green',
    });
    expect(report.role).toBe('primary');
    expect(report.replication.subscriptions).toEqual([
      {
        name: 'dr_blue_green',
        receivedLsn: expect.any(String) as unknown,
        latestEndLsn: expect.any(String) as unknown,
        lastMessageAt: expect.any(String) as unknown,
      },
    ]);
  });

  it('describes a streaming standby, and refuses it where writes are expected', async () => {
    const report = await checkConnectivity(settingsOf(standby), {
      timeoutMs: 3000,
      expect: 'any',
      label: 'replica',
    });
    expect(report).toMatchObject({
      role: 'replica',
      readOnly: true,
      replication: { walReceiver: 'streaming' },
    });

    const error = await failureOf(
      checkConnectivity(settingsOf(standby), { timeoutMs: 3000, expect: 'writable', label: 'green' }),
    );
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({
      kind: 'read_only',
      message: 'green is read-only (in recovery: a replica) but must accept writes',
    });
  });

  it('refuses a database whose sessions default to read-only', async () => {
    await execute(
      green,
      'postgres',
      'CREATE DATABASE frozen',
      'ALTER DATABASE frozen SET default_transaction_read_only = on',
    );
    const error = await failureOf(
      checkConnectivity(settingsOf(green, 'frozen'), { timeoutMs: 3000, expect: 'writable', label: 'green' }),
    );
    expect(error.kind).toBe('read_only');
  });

  it.each([
    ['unreachable', async () => ({ ...settingsOf(green), port: await freeLoopbackPort() })],
    ['auth_failed', () => Promise.resolve({ ...settingsOf(green), password: 'not-the-Password-1' })],
    ['tls_failed', () => Promise.resolve({ ...settingsOf(green), ca: blue.tls?.serverCert ?? '' })],
  ] as const)('classifies %s without leaking the password', async (kind, settings) => {
    const s = await settings();
    const error = await failureOf(checkConnectivity(s, { timeoutMs: 3000, expect: 'any', label: 'green' }));
    expect(error.kind).toBe(kind);
    expect(error.message).not.toContain(s.password);
  });

  it('times out on a server that stopped answering', async () => {
    green.freeze();
    try {
      const error = await failureOf(
        checkConnectivity(settingsOf(green), { timeoutMs: 500, expect: 'any', label: 'green' }),
      );
      expect(error.kind).toBe('timeout');
    } finally {
      green.thaw();
    }
  });

  describe('handler', () => {
    beforeAll(() => {
      process.env.AWS_REGION = 'us-east-1';
      process.env.DB_CA_FILE = `${blue.rootDir}/tls/ca.crt`;
    });

    it('resolves the secret reference and reports the database under its label', async () => {
      const { handler, secrets, GetSecretValue } = coldStart<Handler>(
        '../../lambdas/connectivity-check/handler',
      );
      secrets.on(GetSecretValue, { SecretId: 'green-db' }).resolves(databaseSecret(green));
      const result = await handler({
        label: 'green',
        database: { secretId: 'green-db' },
        expect: 'writable',
      });
      expect(result).toMatchObject({ label: 'green', role: 'primary', readOnly: false });
      expect(JSON.stringify(result)).not.toContain(green.password);
    });

    it('fails with a routable error type and a redacted cause', async () => {
      const { handler, secrets, GetSecretValue } = coldStart<Handler>(
        '../../lambdas/connectivity-check/handler',
      );
      secrets.on(GetSecretValue).resolves(databaseSecret(green, 'postgres', 'stale-Password-9'));
      const error = (await handler({ label: 'green', database: { secretId: 'green-db' } }).catch(
        (e: unknown) => e,
      )) as Error;
      expect(error.name).toBe('DatabaseAuthFailed');
      expect(error.message).not.toContain('stale-Password-9');
    });

    it('rejects a connection string where a secret reference belongs, without echoing it', async () => {
      const { handler, secrets } = coldStart<Handler>('../../lambdas/connectivity-check/handler');
      const error = (await handler({
        label: 'green',
        database: { secretId: 'postgresql://u:Pw-in-url@h/db' },
      }).catch((e: unknown) => e)) as Error;
      expect(error.name).toBe('InvalidInput');
      expect(error.message).toBe(
        'invalid input: database.secretId must be a Secrets Manager secret ARN or name, never a connection string or password',
      );
      expect(secrets.calls()).toHaveLength(0);
    });

    it.each([
      [{}, 'invalid input: label is required; database is required'],
      [
        { label: 'purple', database: { secretId: 's' } },
        'invalid input: label must be one of blue, green, primary, replica',
      ],
      [
        { label: 'blue', database: { secretId: 's', password: 'x' } },
        'database has unknown field(s) password',
      ],
      [{ label: 'blue', database: { secretId: 's' }, timeoutMs: 10 }, 'timeoutMs'],
    ])('rejects malformed input %j naming the field', async (event, message) => {
      const { handler } = coldStart<Handler>('../../lambdas/connectivity-check/handler');
      const error = (await handler(event).catch((e: unknown) => e)) as Error;
      expect(error.name).toBe('InvalidInput');
      expect(error.message).toContain(message);
    });
  });
});
