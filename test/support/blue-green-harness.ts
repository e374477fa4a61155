import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import { functionOf } from '../../lib/local-aws/invoke';
import { runInWorld } from '../../lib/local-aws/workflow';
import { loadDefinition } from '../../lib/rehearsal/local-workflow';
import { drNames } from '../../lib/names';
import { taskResources } from '../../lib/workflow-definition';
import { testConfig } from '../infra/test-config';
import { databaseSecret } from './lambda';
import { PostgresServer } from './postgres';
import { execute, replicationUser } from './replication';
import { scanForSecrets } from './secret-scan';
import { quickSmokeTests } from './workflow';
import { RECORD, testWorld, ZONE } from './world';

type Step = (event: unknown) => Promise<unknown>;
type StepName = 'validate' | 'connectivity' | 'plan' | 'migrate' | 'verify' | 'smoke' | 'flip' | 'cutover';
export const EXAMPLES = join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');
export { RECORD };
const SET_ID = `${RECORD}-primary`;
const SECONDARY_SET_ID = `${RECORD}-secondary`;
export const OLD_REPLICA = 'pg-dr-replica.old.us-east-1.rds.amazonaws.com';
export const BLUE_ENDPOINT = 'blue.example.internal';
export const GREEN_ENDPOINT = 'green.example.internal';
export const GREEN_INSTANCE = 'pg-dr-green';
const CONFIG = testConfig();
const NAMES = drNames(CONFIG);
const FILE = 'blue-green-migration.asl.json';
/** The workflow's Lambda task states, by the step each runs (the same function for several states). */
const STEP_STATES: Record<StepName, string> = {
  validate: 'ValidateInput',
  connectivity: 'CheckBlue',
  plan: 'PlanMigrations',
  migrate: 'Migrate',
  verify: 'Verify',
  smoke: 'SmokeTest',
  flip: 'FlipDns',
  cutover: 'PrepareCutover',
};

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
      // Green publishes too: the way back after a cutover is blue subscribing to it.
      PostgresServer.start({ name: 'wf-green', settings: { wal_level: 'logical', ...room } }),
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
    // As production must: the subscription connects as a dedicated replication user, not blue's secret user.
    const replication = await replicationUser(blue, database);
    await execute(
      green,
      database,
      `CREATE SUBSCRIPTION ${subscription} CONNECTION 'host=${blue.host} port=${blue.port} user=${replication.user} password=${replication.password} dbname=${database} sslmode=verify-full sslrootcert=${green.rootDir}/tls/ca.crt' PUBLICATION pub_${database}`,
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

    // The local world: the synthesized app (records, roles, state machines), blue's and green's secrets
    // (named per scenario: the steps cache secrets, as Powertools does on Lambda), IAM from the roles.
    const world = testWorld({
      endpoints: {
        [CONFIG.database.primaryInstanceIdentifier]: BLUE_ENDPOINT,
        [CONFIG.database.replicaInstanceIdentifier]: OLD_REPLICA,
      },
      secrets: {
        [`pg-dr/blue-${database}`]: databaseSecret(blue, database).SecretString,
        [`pg-dr/green-${database}`]: databaseSecret(green, database).SecretString,
        // The dedicated replication user's secret (the way back logs in to green with it too).
        [`pg-dr/replication-${database}`]: JSON.stringify({
          username: replication.user,
          password: replication.password,
        }),
      },
    });
    cleanups.push(() => {
      world.close();
      return Promise.resolve();
    });
    const substitutions = world.substitutions(NAMES.blueGreenStateMachine);
    const definition = loadDefinition(FILE, substitutions) as {
      States: Record<string, { Resource?: string }>;
    };
    const tasks = taskResources(definition);
    const steps = Object.fromEntries(
      Object.entries(STEP_STATES).map(([step, state]) => [
        step,
        functionOf(world, tasks.get(state) ?? '').handler as Step,
      ]),
    ) as Record<StepName, Step>;
    const flipPrincipal = world.iam.principalOfArn(substitutions.DnsFlipFunctionArn ?? '') ?? '';
    const recordValue = (setId: string) =>
      world.route53.recordSet(RECORD, setId)?.ResourceRecords[0]?.Value ?? '';
    let failChanges = false;
    /** The failover pair as Route 53 has it, and every value the workflow upserted. */
    const dns = {
      get value() {
        return recordValue(SET_ID);
      },
      get secondary() {
        return recordValue(SECONDARY_SET_ID);
      },
      get upserts() {
        return world.aws.calls
          .filter((c) => c.operation === 'ChangeResourceRecordSets' && c.error === undefined)
          .map(
            (c) =>
              (
                c.input as {
                  ChangeBatch?: {
                    Changes?: { ResourceRecordSet?: { ResourceRecords?: { Value: string }[] } }[];
                  };
                }
              ).ChangeBatch?.Changes?.[0]?.ResourceRecordSet?.ResourceRecords?.[0]?.Value ?? '',
          );
      },
      /** The flip step's role loses route53:ChangeResourceRecordSets: Route 53 refuses as it would (403). */
      get failChanges() {
        return failChanges;
      },
      set failChanges(on: boolean) {
        failChanges = on;
        if (on) world.iam.withoutAction(flipPrincipal, 'route53:ChangeResourceRecordSets');
        else world.iam.restore();
      },
    };

    const notifications: { Subject: string; Message: string }[] = [];
    const input = {
      dryRun: false,
      blue: { secretId: `pg-dr/blue-${database}` },
      green: { secretId: `pg-dr/green-${database}` },
      blueEndpoint: BLUE_ENDPOINT,
      greenEndpoint: GREEN_ENDPOINT,
      greenInstanceIdentifier: GREEN_INSTANCE,
      // Blue's instance: the retirement the workflow schedules after a cutover with the way back retires it.
      blueInstanceIdentifier: CONFIG.database.primaryInstanceIdentifier,
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
    const noWaits = Object.fromEntries([...tasks.keys()].map((state) => [state, 1]));
    let runs = 0;
    const run = async (
      overrides: Record<string, unknown> = {},
      stateOverrides: Record<string, (input: never) => unknown> = {},
      retryIntervals: Record<string, number> = {},
      name = `${database}-${++runs}`,
      wrap?: (state: string, handler: (input: never) => unknown) => (input: never) => unknown,
      /** Stop the execution (StopExecution) as it enters this state. */
      abortAt?: string,
    ) => {
      const execution = await runInWorld({
        world,
        file: FILE,
        stateMachineName: NAMES.blueGreenStateMachine,
        input: { ...input, ...overrides },
        handlers: stateOverrides,
        retryIntervals: { ...noWaits, ...retryIntervals },
        name,
        wrap: (state, handler) => (wrap ?? ((_s, h) => h))(state, quickSmokeTests(FILE)(state, handler)),
        ...(abortAt === undefined ? {} : { abortAt }),
        onNotify: (_state, published) =>
          notifications.push({ Subject: published.Subject ?? '', Message: published.Message ?? '' }),
      });
      scanForSecrets('execution history', JSON.stringify(execution.history));
      return execution;
    };
    /** DR rebuilds the workflow started (each its own execution), with their input. */
    const drRebuilds = () =>
      [...world.stepFunctions.executions.values()]
        .filter((e) => e.stateMachineArn === world.stateMachineArn(NAMES.drRebuildStateMachine))
        .map((e) => ({
          executionArn: e.executionArn,
          input: (typeof e.input === 'string' ? JSON.parse(e.input) : e.input) as Record<string, unknown>,
        }));
    /** Blue retirements the workflow scheduled (each its own execution, waiting out its window). */
    const retirements = () =>
      [...world.stepFunctions.executions.values()].filter(
        (e) => e.stateMachineArn === world.stateMachineArn(NAMES.blueRetirementStateMachine),
      );
    /** Runs a scheduled retirement as if its window had closed (no waits). */
    const retire = (executionArn: string) => {
      const execution = world.stepFunctions.executions.get(executionArn);
      return runInWorld({
        world,
        file: 'blue-retirement.asl.json',
        stateMachineName: NAMES.blueRetirementStateMachine,
        input:
          typeof execution?.input === 'string' ? (JSON.parse(execution.input) as unknown) : execution?.input,
        ...(execution === undefined ? {} : { execution }),
        waits: { WaitForWindow: 0, WaitForRds: 0 },
        retryIntervals: { EndWayBack: 1, Retire: 1, PlanRetirement: 1 },
        onNotify: (_state, published) =>
          notifications.push({ Subject: published.Subject ?? '', Message: published.Message ?? '' }),
      });
    };
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
      replicationSecret: `pg-dr/replication-${database}`,
      run,
      dns,
      notifications,
      query,
      subscription,
      input,
      steps,
      world,
      drRebuilds,
      retirements,
      retire,
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
