import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type * as Rds from '@aws-sdk/client-rds';
import type * as Route53 from '@aws-sdk/client-route-53';
import type * as SecretsManager from '@aws-sdk/client-secrets-manager';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import { databaseSecret } from '../support/lambda';
import { PostgresServer } from '../support/postgres';
import { REPLICA_PLACEMENT_ENV } from '../support/replica-placement';
import { execute } from '../support/replication';
import { loadDefinition, runLocally } from '../support/workflow';

type Step = (event: unknown) => Promise<unknown>;
type StepName =
  'validate' | 'connectivity' | 'plan' | 'migrate' | 'verify' | 'smoke' | 'flip' | 'cutover' | 'drReplica';
const EXAMPLES = join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');
const ZONE = 'Z0EXAMPLE12345';
const RECORD = 'db.provability-fabric.org';
const SET_ID = 'db.provability-fabric.org-primary';
const SECONDARY_SET_ID = 'db.provability-fabric.org-secondary';
const OLD_REPLICA = 'pg-dr-replica.old.us-east-1.rds.amazonaws.com';
const NEW_REPLICA = 'green-dr.new.us-east-1.rds.amazonaws.com';
const BLUE_ENDPOINT = 'blue.example.internal';
const GREEN_ENDPOINT = 'green.example.internal';
const SUBSTITUTIONS = Object.fromEntries(
  ['ConnectivityCheck', 'MigrationPlan', 'Migrate', 'Verify', 'SmokeTest', 'DnsFlip', 'Cutover'].map((n) => [
    `${n}FunctionArn`,
    `arn:aws:lambda:us-east-1:111122223333:function:pg-dr-${n}`,
  ]),
);
SUBSTITUTIONS.OnCallTopicArn = 'arn:aws:sns:us-east-1:111122223333:pg-dr-on-call';
SUBSTITUTIONS.DrReplicaFunctionArn = 'arn:aws:lambda:us-east-1:111122223333:function:pg-dr-DrReplica';
SUBSTITUTIONS.ValidateInputFunctionArn = 'arn:aws:lambda:us-east-1:111122223333:function:pg-dr-ValidateInput';

/** The real step handlers, loaded with Secrets Manager and Route 53 mocked in the same module registry. */
function loadSteps() {
  let loaded:
    | {
        steps: Record<StepName, Step>;
        secrets: AwsClientStub<SecretsManager.SecretsManagerClient>;
        route53: AwsClientStub<Route53.Route53Client>;
        rdsApi: AwsClientStub<Rds.RDSClient>;
        sm: typeof SecretsManager;
        r53: typeof Route53;
        rdsSdk: typeof Rds;
      }
    | undefined;
  jest.isolateModules(() => {
    const sm = jest.requireActual<typeof SecretsManager>('@aws-sdk/client-secrets-manager');
    const r53 = jest.requireActual<typeof Route53>('@aws-sdk/client-route-53');
    const secrets = mockClient(sm.SecretsManagerClient);
    const route53 = mockClient(r53.Route53Client);
    const rdsSdk = jest.requireActual<typeof Rds>('@aws-sdk/client-rds');
    const rdsApi = mockClient(rdsSdk.RDSClient);
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
        drReplica: jest.requireActual<{ handler: Step }>('../../lambdas/dr-replica/handler').handler,
      },
      secrets,
      route53,
      rdsApi,
      sm,
      r53,
      rdsSdk,
    };
  });
  if (loaded === undefined) throw new Error('steps did not load');
  return loaded;
}

describe('blue-green migration workflow, executed locally from its ASL file', () => {
  let blue: PostgresServer;
  let green: PostgresServer;
  let app: Server;
  let appUrl: string;
  let appStatus = 200;
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
      res.writeHead(appStatus, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/health`;
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      DB_CA_FILE: `${blue.rootDir}/tls/ca.crt`,
      MIGRATIONS_DIR: EXAMPLES,
      ...REPLICA_PLACEMENT_ENV,
    });
  });
  afterAll(async () => {
    app.closeAllConnections();
    await new Promise((resolve) => app.close(resolve));
    await Promise.all([blue.destroy(), green.destroy()]);
  });
  const cleanups: (() => Promise<void>)[] = [];
  beforeEach(() => {
    appStatus = 200;
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
  });

  /**
   * Blue with two of the three example migrations and some data; green with the same schema, subscribed to
   * blue's tables (not _prisma_migrations); the third migration pending on green.
   */
  async function scenario() {
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
    loaded.route53
      .on(loaded.r53.GetChangeCommand)
      .resolves({ ChangeInfo: { Id: '/change/C', Status: 'INSYNC', SubmittedAt: new Date() } });
    loaded.route53
      .on(loaded.r53.TestDNSAnswerCommand)
      .callsFake(() => ({ RecordData: [dns.value], ResponseCode: 'NOERROR' }));

    // RDS: the new replica is creating, then available.
    loaded.rdsApi
      .on(loaded.rdsSdk.CreateDBInstanceReadReplicaCommand)
      .resolves({ DBInstance: { DBInstanceIdentifier: 'green-dr', DBInstanceStatus: 'creating' } });
    loaded.rdsApi
      .on(loaded.rdsSdk.DescribeDBInstancesCommand)
      .resolvesOnce({ DBInstances: [{ DBInstanceIdentifier: 'green-dr', DBInstanceStatus: 'creating' }] })
      .resolves({
        DBInstances: [
          {
            DBInstanceIdentifier: 'green-dr',
            DBInstanceStatus: 'available',
            Endpoint: { Address: NEW_REPLICA },
          },
        ],
      });

    const notifications: { Subject: string; Message: string }[] = [];
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
      RepointSecondary: steps.flip,
      CreateDrReplica: steps.drReplica,
      CheckDrReplica: steps.drReplica,
      ...Object.fromEntries(
        [
          'NotifyFailureBeforeCutover',
          'NotifyFailureAfterRollback',
          'NotifyRollbackFailed',
          'NotifyDrRebuildFailed',
          'NotifyInvalidInput',
        ].map((state) => [
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
      ].map((s) => [s, 1]),
    );
    const run = (
      overrides: Record<string, unknown> = {},
      stateOverrides: Record<string, (input: never) => unknown> = {},
    ) =>
      runLocally(definition, { ...input, ...overrides }, { ...handlers, ...stateOverrides }, noWaits, {
        WaitForDrReplica: 1,
      });
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
      rdsApi: loaded.rdsApi,
      rdsSdk: loaded.rdsSdk,
    };
  }

  it('migrates green, cuts over with no write lost, and reports DR as degraded', async () => {
    const s = await scenario();
    const result = await s.run();

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({
      status: 'cut-over',
      migrate: { applied: [{ name: '20240201000000_index_orders_created_at' }] },
      verify: { ok: true },
      drDegraded: true,
      drMessage: expect.stringContaining('still follows blue') as unknown,
    });
    expect(s.dns).toMatchObject({ value: GREEN_ENDPOINT, upserts: [GREEN_ENDPOINT] });
    expect(s.notifications).toEqual([]);
    // Every row blue had is on green; green takes writes with fresh ids; blue refuses them; no subscription left.
    expect(await s.query(green, 'SELECT count(*)::int AS n FROM "order"')).toEqual([{ n: 20 }]);
    expect(
      await s.query(green, "INSERT INTO account (email) VALUES ('new@example.org') RETURNING id"),
    ).toEqual([{ id: '21' }]);
    await expect(
      s.query(blue, "INSERT INTO account (email) VALUES ('late@example.org')"),
    ).rejects.toMatchObject({ code: '25006' });
    expect(
      await s.query(green, `SELECT subname FROM pg_subscription WHERE subname = '${s.subscription}'`),
    ).toEqual([]);
    expect(result.path).toEqual(
      expect.arrayContaining([
        'CheckConnectivity',
        'PlanMigrations',
        'Migrate',
        'Verify',
        'SmokeTest',
        'PrepareCutover',
        'FenceBlueAndCatchUp',
        'FlipDns',
        'FinalSmokeTest',
        'FinishCutover',
        'Succeeded',
      ]) as unknown,
    );
    expect(JSON.stringify(result.output)).not.toContain(blue.password);
  });

  it('rebuilds DR after the cutover when asked: a replica of green, then SECONDARY points at it', async () => {
    const s = await scenario();
    const result = await s.run({
      rebuildDr: true,
      greenInstanceIdentifier: 'green',
      drReplicaInstanceIdentifier: 'green-dr',
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({
      status: 'cut-over',
      drDegraded: false,
      drReplica: { instanceIdentifier: 'green-dr', available: true },
    });
    expect(
      s.rdsApi.commandCalls(s.rdsSdk.CreateDBInstanceReadReplicaCommand)[0]?.args[0].input,
    ).toMatchObject({
      DBInstanceIdentifier: 'green-dr',
      SourceDBInstanceIdentifier: 'arn:aws:rds:us-west-2:111122223333:db:green',
    });
    expect(result.path.filter((p) => p === 'CheckDrReplica')).toHaveLength(2);
    expect(s.dns).toMatchObject({ value: GREEN_ENDPOINT, secondary: NEW_REPLICA });
  });

  it('notifies and fails, with green serving, when the DR rebuild cannot start', async () => {
    const s = await scenario();
    s.rdsApi
      .on(s.rdsSdk.CreateDBInstanceReadReplicaCommand)
      .rejects(Object.assign(new Error('quota exceeded'), { name: 'InstanceQuotaExceededFault' }));
    const result = await s.run({
      rebuildDr: true,
      greenInstanceIdentifier: 'green',
      drReplicaInstanceIdentifier: 'green-dr',
    });
    expect(result.path.at(-1)).toBe('DrRebuildNotCompleted');
    expect(s.notifications[0]?.Subject).toBe('Blue-green migration done, but DR is still degraded');
    expect(s.dns).toMatchObject({ value: GREEN_ENDPOINT, secondary: OLD_REPLICA });
  });

  it('rejects a malformed input before touching anything, and says which fields', async () => {
    const s = await scenario();
    const result = await s.run({ dns: undefined, blue: { secretId: 'postgresql://u:Leaked-pw@h/db' } });
    expect(result.path).toEqual(['ValidateInput', 'NotifyInvalidInput', 'MigrationFailed']);
    expect(s.notifications[0]?.Subject).toBe('Blue-green migration rejected: invalid input');
    expect(s.notifications[0]?.Message).toContain(
      'blue.secretId must be a Secrets Manager secret ARN or name',
    );
    expect(s.notifications[0]?.Message).toContain('dns is required');
    expect(s.notifications[0]?.Message).not.toContain('Leaked-pw');
    expect(s.dns.upserts).toEqual([]);
  });

  it('plans on a dry run and writes nothing anywhere', async () => {
    const s = await scenario();
    const result = await s.run({ dryRun: true });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({
      status: 'dry-run',
      plan: { plan: { pending: ['20240201000000_index_orders_created_at'], blocked: false } },
    });
    expect(await s.query(green, 'SELECT count(*)::int AS n FROM _prisma_migrations')).toEqual([{ n: 2 }]);
    expect(s.dns.upserts).toEqual([]);
    expect(result.path).not.toContain('Migrate');
  });

  it('stops before anything when green is unreachable, and tells on-call which step failed', async () => {
    const s = await scenario();
    await green.stop();
    try {
      const result = await s.run();
      expect(result.status).toBe('FAILED');
      expect(result.path.at(-1)).toBe('MigrationFailed');
      expect(s.notifications).toHaveLength(1);
      expect(s.notifications[0]?.Subject).toBe('Blue-green migration failed: blue still serves');
      expect(s.notifications[0]?.Message).toContain(
        'failed at the connectivity check step: DatabaseUnreachable',
      );
      expect(s.dns.upserts).toEqual([]);
    } finally {
      await green.restart();
    }
  });

  it('stops at a failing migration with blue untouched and serving', async () => {
    const s = await scenario();
    await execute(green, s.database, 'CREATE TABLE "order_created_at_idx" (x int)');
    const result = await s.run();
    expect(result.status).toBe('FAILED');
    expect(s.notifications[0]?.Message).toContain('failed at the migrate step: MigrationFailed');
    expect(s.dns.upserts).toEqual([]);
    await s.query(blue, "INSERT INTO account (email) VALUES ('still-writable@example.org')");
  });

  it('stops when verification finds green out of line with blue', async () => {
    const s = await scenario();
    await execute(
      green,
      s.database,
      "INSERT INTO account (id, email) VALUES (1000, 'only-on-green@example.org')",
    );
    const result = await s.run();
    expect(result.status).toBe('FAILED');
    expect(s.notifications[0]?.Message).toContain('failed at the verify step: VerificationFailed');
    expect(s.notifications[0]?.Message).toContain('rows:public.account (green 21, blue 20');
    expect(s.dns.upserts).toEqual([]);
  });

  it('stops when the smoke test fails before the cutover', async () => {
    const s = await scenario();
    appStatus = 503;
    const result = await s.run();
    expect(result.status).toBe('FAILED');
    expect(s.notifications[0]?.Message).toContain('failed at the smoke test step: SmokeTestFailed');
    expect(s.dns.upserts).toEqual([]);
  }, 120_000);

  it('refuses an unsynchronized flip unless the input accepts it', async () => {
    const s = await scenario();
    await execute(
      green,
      s.database,
      `ALTER SUBSCRIPTION ${s.subscription} DISABLE`,
      `ALTER SUBSCRIPTION ${s.subscription} SET (slot_name = NONE)`,
      `DROP SUBSCRIPTION ${s.subscription}`,
    );
    const refused = await s.run();
    expect(refused.status).toBe('FAILED');
    expect(s.notifications[0]?.Message).toContain(
      'failed at the synchronization check step: NotSynchronized',
    );
    expect(s.dns.upserts).toEqual([]);
  });

  it('aborts and unfences blue when green stops applying during the fence', async () => {
    const s = await scenario();
    // Green stalls right as blue is fenced: its apply worker blocks on the barrier row. (The session opens
    // after PrepareCutover, whose fence on green would end an earlier one.)
    const result = await s.run(
      { catchUpTimeoutMs: 500 },
      {
        FenceBlueAndCatchUp: async (input: never) => {
          const stall = new Client(green.clientConfig(s.database));
          stall.on('error', () => undefined);
          await stall.connect();
          await stall.query('BEGIN');
          await stall.query('LOCK TABLE dr_cutover_barrier IN ACCESS EXCLUSIVE MODE');
          try {
            return await s.steps.cutover(input);
          } finally {
            await stall.query('ROLLBACK');
            await stall.end();
          }
        },
      },
    );
    expect(result.status).toBe('FAILED');
    expect(s.notifications[0]?.Message).toContain('failed at the fence and catch-up step: CatchUpTimeout');
    expect(result.path).toContain('AbortCutover');
    expect(s.dns.upserts).toEqual([]);
    await s.query(blue, "INSERT INTO account (email) VALUES ('unfenced@example.org')");
  });

  it('rolls DNS back to blue and unfences it when the flip fails', async () => {
    const s = await scenario();
    s.dns.failChanges = true;
    const result = await s.run();
    expect(result.status).toBe('FAILED');
    expect(result.path).toEqual(
      expect.arrayContaining([
        'FlipDns',
        'RollbackDns',
        'AbortCutoverAfterRollback',
        'NotifyFailureAfterRollback',
      ]) as unknown,
    );
    expect(s.notifications[0]?.Subject).toBe(
      'Blue-green migration failed after the DNS flip: rolled back to blue',
    );
    expect(s.dns.value).toBe(BLUE_ENDPOINT);
    await s.query(blue, "INSERT INTO account (email) VALUES ('back-on-blue@example.org')");
  });

  it('rolls DNS back to blue when the final smoke test fails after the flip', async () => {
    const s = await scenario();
    let hits = 0;
    app.removeAllListeners('request');
    app.on('request', (_req, res) => {
      hits++;
      res.writeHead(hits === 1 ? 200 : 500);
      res.end();
    });
    try {
      const result = await s.run();
      expect(result.status).toBe('FAILED');
      expect(s.notifications[0]?.Message).toContain('failed at the final smoke test step: SmokeTestFailed');
      expect(s.dns.upserts).toEqual([GREEN_ENDPOINT, BLUE_ENDPOINT]);
      expect(s.dns.value).toBe(BLUE_ENDPOINT);
      // Green was fenced throughout, so nothing was written there that blue lacks; blue takes writes again.
      await s.query(blue, "INSERT INTO account (email) VALUES ('after-rollback@example.org')");
    } finally {
      app.removeAllListeners('request');
      app.on('request', (_req, res) => {
        res.writeHead(appStatus, { 'content-type': 'application/json' });
        res.end('{"status":"ok"}');
      });
    }
  }, 120_000);
});
