import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type * as Route53 from '@aws-sdk/client-route-53';
import type * as SecretsManager from '@aws-sdk/client-secrets-manager';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import { databaseSecret } from './lambda';
import { PostgresServer } from './postgres';
import { execute } from './replication';
import { loadDefinition, publishStates, runLocally } from './workflow';

type Step = (event: unknown) => Promise<unknown>;
type StepName = 'validate' | 'connectivity' | 'plan' | 'migrate' | 'verify' | 'smoke' | 'flip' | 'cutover';
export const EXAMPLES = join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');
const ZONE = 'Z0EXAMPLE12345';
export const RECORD = 'db.provability-fabric.org';
const SET_ID = 'db.provability-fabric.org-primary';
const SECONDARY_SET_ID = 'db.provability-fabric.org-secondary';
export const OLD_REPLICA = 'pg-dr-replica.old.us-east-1.rds.amazonaws.com';
export const BLUE_ENDPOINT = 'blue.example.internal';
export const GREEN_ENDPOINT = 'green.example.internal';
const SUBSTITUTIONS = Object.fromEntries(
  ['ConnectivityCheck', 'MigrationPlan', 'Migrate', 'Verify', 'SmokeTest', 'DnsFlip', 'Cutover'].map((n) => [
    `${n}FunctionArn`,
    `arn:aws:lambda:us-east-1:111122223333:function:pg-dr-${n}`,
  ]),
);
SUBSTITUTIONS.OnCallTopicArn = 'arn:aws:sns:us-east-1:111122223333:pg-dr-on-call';
SUBSTITUTIONS.DrRebuildStateMachineArn =
  'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-dr-rebuild';
SUBSTITUTIONS.ValidateInputFunctionArn = 'arn:aws:lambda:us-east-1:111122223333:function:pg-dr-ValidateInput';

/** The real step handlers, loaded with Secrets Manager and Route 53 mocked in the same module registry. */
function loadSteps() {
  let loaded:
    | {
        steps: Record<StepName, Step>;
        secrets: AwsClientStub<SecretsManager.SecretsManagerClient>;
        route53: AwsClientStub<Route53.Route53Client>;
        sm: typeof SecretsManager;
        r53: typeof Route53;
      }
    | undefined;
  jest.isolateModules(() => {
    const sm = jest.requireActual<typeof SecretsManager>('@aws-sdk/client-secrets-manager');
    const r53 = jest.requireActual<typeof Route53>('@aws-sdk/client-route-53');
    const secrets = mockClient(sm.SecretsManagerClient);
    const route53 = mockClient(r53.Route53Client);
    const migrations = jest.requireActual<{ planHandler: Step; applyHandler: Step }>(
      '../../lambdas/migrations/handlers',
    );
    loaded = {
      steps: {
        validate: jest.requireActual<{ handler: Step }>('../../lambdas/workflow-input/handler').handler,
        connectivity: jest.requireActual<{ handler: Step }>('../../lambdas/connectivity-check/handler')
          .handler,
        plan: migrations.planHandler,
        migrate: migrations.applyHandler,
        verify: jest.requireActual<{ handler: Step }>('../../lambdas/verify/handler').handler,
        smoke: jest.requireActual<{ handler: Step }>('../../lambdas/smoke-test/handler').handler,
        flip: jest.requireActual<{ handler: Step }>('../../lambdas/dns-flip/handler').handler,
        cutover: jest.requireActual<{ handler: Step }>('../../lambdas/cutover/handler').handler,
      },
      secrets,
      route53,
      sm,
      r53,
    };
  });
  if (loaded === undefined) throw new Error('steps did not load');
  return loaded;
}

/** The application behind the smoke test: answers `status`, or what `respond` says for the n-th request. */
export interface SmokeTestApp {
  status: number;
  respond?: (hit: number) => number;
}

/**
 * Blue and green servers and a smoke-test application for the blue-green workflow, started once for the
 * calling describe block; `scenario()` readies a fresh database pair for one test.
 */
export function useBlueGreenHarness() {
  let blue: PostgresServer | undefined;
  let green: PostgresServer | undefined;
  let app: Server;
  let appUrl: string;
  let hits = 0;
  const smokeApp: SmokeTestApp = { status: 200 };
  let counter = 0;

  beforeAll(async () => {
    // Every scenario adds a subscription (a slot on blue, workers on green): room for all of them.
    const room = {
      max_replication_slots: '40',
      max_wal_senders: '40',
      max_logical_replication_workers: '40',
      max_worker_processes: '60',
    };
    [blue, green] = await Promise.all([
      PostgresServer.start({ name: 'wf-blue', settings: { wal_level: 'logical', ...room } }),
      PostgresServer.start({ name: 'wf-green', settings: room }),
    ]);
    app = createServer((_req, res) => {
      hits++;
      res.writeHead(smokeApp.respond?.(hits) ?? smokeApp.status, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/health`;
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      DB_CA_FILE: `${blue.rootDir}/tls/ca.crt`,
      MIGRATIONS_DIR: EXAMPLES,
    });
  });
  afterAll(async () => {
    app.closeAllConnections();
    await new Promise((resolve) => app.close(resolve));
    await Promise.all([blue?.destroy(), green?.destroy()]);
  });
  const cleanups: (() => Promise<void>)[] = [];
  beforeEach(() => {
    hits = 0;
    smokeApp.status = 200;
    delete smokeApp.respond;
  });
  afterEach(async () => {
    // A fault test that failed half-way may leave a server killed.
    for (const server of [blue, green]) if (server !== undefined && !server.running) await server.restart();
    for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
  });
  const servers = () => {
    if (blue === undefined || green === undefined) throw new Error('the harness servers are not started');
    return { blue, green };
  };

  /**
   * Blue with two of the three example migrations and some data; green with the same schema, subscribed to
   * blue's tables (not _prisma_migrations); the third migration pending on green.
   */
  async function scenario() {
    const { blue, green } = servers();
    const database = `wf${++counter}`;
    const subscription = `sub_${database}`;
    await Promise.all([
      execute(blue, 'postgres', `CREATE DATABASE ${database}`),
      execute(green, 'postgres', `CREATE DATABASE ${database}`),
    ]);
    const first = (await readMigrationsFolder(EXAMPLES)).slice(0, 2);
    for (const server of [blue, green]) {
      const client = new Client(server.clientConfig(database));
      await client.connect();
      await applyPendingMigrations(client, first);
      await client.end();
    }
    await execute(
      blue,
      database,
      "INSERT INTO account (email) SELECT 'u' || g || '@example.org' FROM generate_series(1, 20) AS g",
      'INSERT INTO "order" (account_id, total_cents) SELECT id, 100 FROM account',
      `CREATE PUBLICATION pub_${database} FOR TABLE account, "order"`,
    );
    await execute(
      green,
      database,
      `CREATE SUBSCRIPTION ${subscription} CONNECTION 'host=${blue.host} port=${blue.port} user=${blue.user} password=${blue.password} dbname=${database} sslmode=verify-full sslrootcert=${green.rootDir}/tls/ca.crt' PUBLICATION pub_${database}`,
    );
    cleanups.push(() =>
      execute(
        green,
        database,
        'SET default_transaction_read_only = off',
        `ALTER SUBSCRIPTION ${subscription} DISABLE`,
        `DROP SUBSCRIPTION IF EXISTS ${subscription}`,
      ),
    );
    // Wait (bounded) for the initial copy.
    const check = new Client(green.clientConfig(database));
    await check.connect();
    for (let i = 0; i < 200; i++) {
      const { rows } = await check.query<{ n: number }>('SELECT count(*)::int AS n FROM "order"');
      if (rows[0]?.n === 20) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    await check.end();

    const loaded = loadSteps();
    loaded.secrets
      .on(loaded.sm.GetSecretValueCommand, { SecretId: 'pg-dr/blue' })
      .resolves(databaseSecret(blue, database));
    loaded.secrets
      .on(loaded.sm.GetSecretValueCommand, { SecretId: 'pg-dr/green' })
      .resolves(databaseSecret(green, database));

    // Route 53 as a store of the failover pair, so flips and rollbacks are observable. It answers the PRIMARY.
    const base: Route53.ResourceRecordSet = { Name: `${RECORD}.`, Type: 'CNAME', TTL: 10 };
    const dns = { value: BLUE_ENDPOINT, secondary: OLD_REPLICA, upserts: [] as string[], failChanges: false };
    loaded.route53.on(loaded.r53.ListResourceRecordSetsCommand).callsFake(() => ({
      ResourceRecordSets: [
        {
          ...base,
          SetIdentifier: SET_ID,
          Failover: 'PRIMARY',
          HealthCheckId: 'hc-primary',
          ResourceRecords: [{ Value: dns.value }],
        },
        {
          ...base,
          SetIdentifier: SECONDARY_SET_ID,
          Failover: 'SECONDARY',
          HealthCheckId: 'hc-secondary',
          ResourceRecords: [{ Value: dns.secondary }],
        },
      ],
    }));
    loaded.route53
      .on(loaded.r53.ChangeResourceRecordSetsCommand)
      .callsFake((input: Route53.ChangeResourceRecordSetsCommandInput) => {
        if (dns.failChanges)
          throw Object.assign(new Error('User is not authorized'), {
            name: 'AccessDenied',
            $metadata: { httpStatusCode: 403 },
          });
        const set = input.ChangeBatch?.Changes?.[0]?.ResourceRecordSet;
        const value = set?.ResourceRecords?.[0]?.Value ?? '';
        if (set?.SetIdentifier === SECONDARY_SET_ID) dns.secondary = value;
        else dns.value = value;
        dns.upserts.push(value);
        return {
          ChangeInfo: { Id: `/change/C${dns.upserts.length}`, Status: 'INSYNC', SubmittedAt: new Date() },
        };
      });
    loaded.route53.on(loaded.r53.GetHostedZoneCommand).resolves({
      HostedZone: {
        Id: `/hostedzone/${ZONE}`,
        Name: 'provability-fabric.org.',
        CallerReference: 'x',
        Config: { PrivateZone: false },
      },
      DelegationSet: { NameServers: ['ns-1.awsdns-01.org'] },
    });
    loaded.route53
      .on(loaded.r53.GetChangeCommand)
      .resolves({ ChangeInfo: { Id: '/change/C', Status: 'INSYNC', SubmittedAt: new Date() } });
    loaded.route53
      .on(loaded.r53.TestDNSAnswerCommand)
      .callsFake(() => ({ RecordData: [dns.value], ResponseCode: 'NOERROR' }));

    const notifications: { Subject: string; Message: string }[] = [];
    const drRebuilds: { StateMachineArn: string; Name: string; Input: unknown }[] = [];
    const { steps } = loaded;
    const handlers = {
      ValidateInput: steps.validate,
      CheckBlue: steps.connectivity,
      CheckGreen: steps.connectivity,
      PlanMigrations: steps.plan,
      Migrate: steps.migrate,
      Verify: steps.verify,
      SmokeTest: steps.smoke,
      FinalSmokeTest: steps.smoke,
      PrepareCutover: steps.cutover,
      FenceBlueAndCatchUp: steps.cutover,
      AbortCutover: steps.cutover,
      AbortCutoverAfterRollback: steps.cutover,
      FinishCutover: steps.cutover,
      FlipDns: steps.flip,
      FlipDnsUnsynchronized: steps.flip,
      RollbackDns: steps.flip,
      // The DR rebuild is its own execution: the workflow only starts it (test/workflows/dr-rebuild.test.ts runs it).
      StartDrRebuild: (input: { StateMachineArn: string; Name: string; Input: unknown }) => {
        drRebuilds.push(input);
        return {
          ExecutionArn: `${input.StateMachineArn.replace(':stateMachine:', ':execution:')}:${input.Name}`,
          StartDate: new Date().toISOString(),
        };
      },
      ...Object.fromEntries(
        publishStates('blue-green-migration.asl.json').map((state) => [
          state,
          (input: { Subject: string; Message: string }) => {
            notifications.push(input);
            return {};
          },
        ]),
      ),
    } as Record<string, (input: never) => unknown>;

    const input = {
      dryRun: false,
      blue: { secretId: 'pg-dr/blue' },
      green: { secretId: 'pg-dr/green' },
      blueEndpoint: BLUE_ENDPOINT,
      greenEndpoint: GREEN_ENDPOINT,
      dns: {
        hostedZoneId: ZONE,
        recordName: RECORD,
        setIdentifier: SET_ID,
        secondarySetIdentifier: SECONDARY_SET_ID,
      },
      smokeTestUrl: appUrl,
      subscription,
      catchUpTimeoutMs: 5000,
    };
    const definition = loadDefinition('blue-green-migration.asl.json', SUBSTITUTIONS);
    const noWaits = Object.fromEntries(
      [
        'CheckBlue',
        'CheckGreen',
        'PlanMigrations',
        'Verify',
        'PrepareCutover',
        'AbortCutover',
        'AbortCutoverAfterRollback',
        'FinishCutover',
        'RollbackDns',
        'NotifyFailureBeforeCutover',
        'NotifyFailureAfterRollback',
        'NotifyRollbackFailed',
        'NotifyBlueStillFenced',
        'StartDrRebuild',
        'NotifyDrRebuildNotStarted',
      ].map((s) => [s, 1]),
    );
    const run = (
      overrides: Record<string, unknown> = {},
      stateOverrides: Record<string, (input: never) => unknown> = {},
      retryIntervals: Record<string, number> = {},
      name = 'local-run',
    ) =>
      runLocally(
        definition,
        { ...input, ...overrides },
        { ...handlers, ...stateOverrides },
        { ...noWaits, ...retryIntervals },
        {},
        {
          executionArn: `arn:aws:states:us-east-1:111122223333:execution:pg-dr-blue-green-migration:${name}`,
        },
      );
    const query = async <R extends object>(server: PostgresServer, sql: string) => {
      const client = new Client(server.clientConfig(database));
      client.on('error', () => undefined);
      await client.connect();
      try {
        return (await client.query<R>(sql)).rows;
      } finally {
        await client.end();
      }
    };
    return {
      database,
      run,
      dns,
      notifications,
      query,
      subscription,
      input,
      steps,
      handlers,
      drRebuilds,
      route53: loaded.route53,
      r53: loaded.r53,
    };
  }

  return {
    get blue() {
      return servers().blue;
    },
    get green() {
      return servers().green;
    },
    smokeApp,
    scenario,
  };
}
