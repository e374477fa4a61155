import { join } from 'node:path';
import { coldStart, databaseSecret } from '../support/lambda';
import { freeLoopbackPort, PostgresServer } from '../support/postgres';
import { execute } from '../support/replication';

type Handler = (event: unknown) => Promise<unknown>;
const EXAMPLES = join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');

describe('faults at the database steps', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await PostgresServer.start({ name: 'step-faults' });
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      DB_CA_FILE: `${server.rootDir}/tls/ca.crt`,
      MIGRATIONS_DIR: EXAMPLES,
    });
  });
  afterAll(async () => {
    await server.destroy();
  });

  const ref = { secretId: 'pg-dr/app' };
  const STEPS: [string, string, string, (port: number) => Record<string, unknown>][] = [
    [
      'connectivity check',
      '../../lambdas/connectivity-check/handler',
      'handler',
      () => ({ label: 'green', database: ref }),
    ],
    ['migration plan', '../../lambdas/migrations/handlers', 'planHandler', () => ({ database: ref })],
    ['migrate', '../../lambdas/migrations/handlers', 'applyHandler', () => ({ database: ref })],
    ['verify', '../../lambdas/verify/handler', 'handler', () => ({ green: ref })],
    [
      'cutover',
      '../../lambdas/cutover/handler',
      'handler',
      () => ({ mode: 'prepare', blue: ref, green: ref }),
    ],
    [
      'drill heartbeat',
      '../../lambdas/drill/steps/database-handler',
      'handler',
      (port) => ({
        mode: 'heartbeat',
        primary: { ...ref, host: '127.0.0.1', port },
        replica: { ...ref, host: '127.0.0.1', port },
        timeoutSeconds: 1,
        pollMs: 50,
      }),
    ],
  ];

  it.each(STEPS)(
    '%s: connection refused ends as DatabaseUnreachable, a routable error without the password',
    async (_name, module, exportName, event) => {
      const port = await freeLoopbackPort();
      const { handler, secrets, GetSecretValue } = coldStart<Handler>(module, exportName);
      // The secret names a port where nothing listens (the server went away).
      secrets.on(GetSecretValue).resolves({
        SecretString: JSON.stringify({
          username: server.user,
          password: server.password,
          host: '127.0.0.1',
          port,
        }),
      });
      const error = (await handler(event(port)).then(
        () => undefined,
        (e: unknown) => e,
      )) as { name?: string; message?: string } | undefined;
      expect(error?.name).toBe('DatabaseUnreachable');
      expect(error?.message).not.toContain(server.password);
    },
  );

  it.each(STEPS)(
    '%s: wrong credentials end as DatabaseAuthFailed, neither password shown',
    async (_name, module, exportName, event) => {
      const wrong = 'Wrong-Secret-Value-42';
      const { handler, secrets, GetSecretValue } = coldStart<Handler>(module, exportName);
      secrets.on(GetSecretValue).resolves({
        SecretString: JSON.stringify({
          username: server.user,
          password: wrong,
          host: '127.0.0.1',
          port: server.port,
        }),
      });
      const error = (await handler(event(server.port)).then(
        () => undefined,
        (e: unknown) => e,
      )) as { name?: string; message?: string } | undefined;
      expect(error?.name).toBe('DatabaseAuthFailed');
      expect(error?.message).not.toContain(wrong);
      expect(error?.message).not.toContain(server.password);
    },
  );

  it.each([
    ['connection refused', 'unreachable'],
    ['wrong credentials', 'auth_failed'],
  ])(
    'drill preflight: %s on both databases refuses the drill naming each, without the password',
    async (fault, kind) => {
      const port = fault === 'connection refused' ? await freeLoopbackPort() : server.port;
      const password = fault === 'connection refused' ? server.password : 'Wrong-Secret-Value-42';
      const { handler, secrets, GetSecretValue } = coldStart<Handler>(
        '../../lambdas/drill/steps/database-handler',
        'handler',
      );
      secrets.on(GetSecretValue).resolves({
        SecretString: JSON.stringify({ username: server.user, password, host: '127.0.0.1', port }),
      });
      const endpoint = { ...ref, host: '127.0.0.1', port };
      const error = (await handler({
        mode: 'preflight',
        primary: endpoint,
        replica: endpoint,
        maxReplicaLagSeconds: 5,
        pollMs: 50,
        problems: [],
      }).then(
        () => undefined,
        (e: unknown) => e,
      )) as { name?: string; message?: string } | undefined;
      expect(error?.name).toBe('PreflightRefused');
      expect(error?.message).toContain(`primary: ${kind}`);
      expect(error?.message).toContain(`replica: ${kind}`);
      expect(error?.message).not.toContain(password);
    },
  );

  it('migrate: a retried step (after a crash or a Step Functions retry) applies nothing twice', async () => {
    await execute(server, 'postgres', 'CREATE DATABASE retried');
    const first = coldStart<Handler>('../../lambdas/migrations/handlers', 'applyHandler');
    first.secrets.on(first.GetSecretValue).resolves(databaseSecret(server, 'retried'));
    const once = (await first.handler({ database: ref })) as { applied: unknown[] };
    expect(once.applied).toHaveLength(3);
    // A fresh container, as after a crash: the same step again.
    const again = coldStart<Handler>('../../lambdas/migrations/handlers', 'applyHandler');
    again.secrets.on(again.GetSecretValue).resolves(databaseSecret(server, 'retried'));
    expect(((await again.handler({ database: ref })) as { applied: unknown[] }).applied).toEqual([]);
    const plan = coldStart<Handler>('../../lambdas/migrations/handlers', 'planHandler');
    plan.secrets.on(plan.GetSecretValue).resolves(databaseSecret(server, 'retried'));
    expect(await plan.handler({ database: ref })).toMatchObject({ plan: { pending: [], failed: [] } });
  });
});
