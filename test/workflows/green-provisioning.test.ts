import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import { localRdsEndpoint, resolveLocalRdsEndpoints } from '../../lib/local-aws/endpoint-dns';
import { newInstanceOn } from '../../lib/local-aws/new-instance';
import type { SimulatedInstance } from '../../lib/local-aws/rds';
import { runInWorld, type WorldExecution } from '../../lib/local-aws/workflow';
import { asPrincipal } from '../../lib/local-aws/world';
import { drNames } from '../../lib/names';
import { testConfig } from '../infra/test-config';
import { EXAMPLES } from '../support/blue-green-harness';
import { databaseSecret } from '../support/lambda';
import { PostgresServer } from '../support/postgres';
import { execute } from '../support/replication';
import { scanForSecrets } from '../support/secret-scan';
import { quickSmokeTests } from '../support/workflow';
import { RECORD, testWorld, topologyOf, ZONE } from '../support/world';

const CONFIG = testConfig();
const NAMES = drNames(CONFIG);
const BLUE_ENDPOINT = 'blue.example.internal';
const REPLICATION_SECRET = CONFIG.database.replicationSecretName;
const REPLICATION_PASSWORD = 'Replication-Passw0rd-never-rotated';
const ROOM = {
  max_replication_slots: '20',
  max_wal_senders: '20',
  max_logical_replication_workers: '20',
  max_worker_processes: '40',
};

/**
 * `pg-dr-green-provisioning` in the local world, end to end on real PostgreSQL: blue (the topology's writer)
 * with two of the three example migrations and data; RDS's CreateDBInstance gets a fresh server (green) with
 * the master user and database it was asked for; the workflow checks blue, creates green, replays blue's
 * migrations, subscribes, waits for the initial copy, then runs the real migration workflow (nested, as
 * startExecution.sync:2 does) to a zero-loss cutover recorded in the topology.
 */
describe('green provisioning workflow (local world, real PostgreSQL)', () => {
  let blue: PostgresServer;
  let green: PostgresServer;
  let counter = 0;
  let undoDns: () => void = () => undefined;
  /** The application's health endpoint the migration smoke-tests, answering `status`. */
  const smoke = { status: 200, url: '' };
  let app: Server;

  /** The example migrations and one that adds a column, pending on blue with the third. */
  let migrations: string;

  beforeAll(async () => {
    migrations = mkdtempSync(join(tmpdir(), 'pg-dr-provision-migrations-'));
    cpSync(EXAMPLES, migrations, { recursive: true });
    mkdirSync(join(migrations, '20240301000000_order_note'));
    writeFileSync(
      join(migrations, '20240301000000_order_note', 'migration.sql'),
      'ALTER TABLE "order" ADD COLUMN note text;\n',
    );
    // Green's endpoint is an RDS name (the DNS flip points the record at it), answered with loopback here.
    undoDns = resolveLocalRdsEndpoints();
    [blue, green] = await Promise.all([
      PostgresServer.start({ name: 'prov-blue', settings: { wal_level: 'logical', ...ROOM } }),
      // A failed table copy is retried after wal_retrieve_retry_interval: fast here, so a copy that keeps
      // failing reaches the workflow's bound in seconds.
      PostgresServer.start({
        name: 'prov-green',
        settings: { ...ROOM, wal_retrieve_retry_interval: '100ms' },
      }),
    ]);
    Object.assign(process.env, { AWS_REGION: 'us-east-1', DB_CA_FILE: `${blue.rootDir}/tls/ca.crt` });
    app = createServer((_req, res) => {
      res.writeHead(smoke.status, { 'content-type': 'application/json' });
      res.end('{}');
    });
    await new Promise<void>((done) => app.listen(0, '127.0.0.1', done));
    smoke.url = `http://127.0.0.1:${(app.address() as AddressInfo).port}/health`;
  }, 60_000);
  afterAll(async () => {
    rmSync(migrations, { recursive: true, force: true });
    undoDns();
    app.closeAllConnections();
    await new Promise((done) => app.close(done));
    await Promise.all([blue.destroy(), green.destroy()]);
  });

  /** A fresh blue database, and a world whose CreateDBInstance makes green a fresh database on the green server. */
  async function scenario(
    prepareBlue: (client: Client) => Promise<void> = () => Promise.resolve(),
    options: { readonly copyFails?: boolean } = {},
  ) {
    const database = `prov${++counter}`;
    await execute(blue, 'postgres', `CREATE DATABASE ${database}`);
    const client = new Client(blue.clientConfig(database));
    await client.connect();
    await applyPendingMigrations(client, (await readMigrationsFolder(EXAMPLES)).slice(0, 2));
    await client.query(
      "INSERT INTO account (email) SELECT 'u' || g || '@example.org' FROM generate_series(1, 50) AS g",
    );
    await client.query('INSERT INTO "order" (account_id, total_cents) SELECT id, 100 FROM account');
    await prepareBlue(client);
    await client.end();

    const created: string[] = [];
    const world = testWorld({
      endpoints: { [CONFIG.database.primaryInstanceIdentifier]: BLUE_ENDPOINT },
      secrets: {
        // Named per scenario: the steps cache secrets for minutes, as Powertools does on Lambda.
        [`pg-dr/blue-${database}`]: databaseSecret(blue, database).SecretString,
        [REPLICATION_SECRET]: JSON.stringify({ username: 'dr_replication', password: REPLICATION_PASSWORD }),
      },
      // Green: a new database on the green server, its master user as CreateDBInstance asked.
      onCreateInstance: async (instance: SimulatedInstance, master) => {
        created.push(instance.id);
        await newInstanceOn(green)(instance, master);
        // A table green can never copy: when the replay creates account, a trigger that fires even for
        // replication (ENABLE ALWAYS) refuses every row.
        if (options.copyFails === true)
          await execute(
            green,
            master.database,
            `CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION 'green refuses this row'; END $$`,
            `CREATE FUNCTION arm_refusal() RETURNS event_trigger LANGUAGE plpgsql AS $$
               DECLARE r record;
               BEGIN
                 FOR r IN SELECT * FROM pg_event_trigger_ddl_commands()
                          WHERE command_tag = 'CREATE TABLE' AND object_identity = 'public.account' LOOP
                   EXECUTE 'CREATE TRIGGER refuse BEFORE INSERT ON public.account FOR EACH ROW EXECUTE FUNCTION refuse_row()';
                   EXECUTE 'ALTER TABLE public.account ENABLE ALWAYS TRIGGER refuse';
                 END LOOP;
               END $$`,
            'CREATE EVENT TRIGGER arm_refusal ON ddl_command_end EXECUTE FUNCTION arm_refusal()',
          );
      },
    });
    const notifications: string[] = [];
    const input = {
      blueInstanceIdentifier: CONFIG.database.primaryInstanceIdentifier,
      greenInstanceIdentifier: `pg-dr-green-${database}`,
      greenReplicaInstanceIdentifier: `pg-dr-green-${database}-dr`,
      database,
      replicationSecretId: REPLICATION_SECRET,
      migration: {
        dryRun: false,
        blue: { secretId: `pg-dr/blue-${database}` },
        blueEndpoint: BLUE_ENDPOINT,
        dns: {
          hostedZoneId: ZONE,
          recordName: RECORD,
          setIdentifier: `${RECORD}-primary`,
          secondarySetIdentifier: `${RECORD}-secondary`,
        },
        smokeTestUrl: smoke.url,
        subscription: 'dr_blue_green',
        catchUpTimeoutMs: 10_000,
      },
    };
    const fast = (states: string[]) => Object.fromEntries(states.map((s) => [s, 1]));
    let runs = 0;
    const run = async (): Promise<{ provisioning: WorldExecution; migration?: WorldExecution }> => {
      let migration: WorldExecution | undefined;
      const provisioning = await runInWorld({
        world,
        file: 'green-provisioning.asl.json',
        stateMachineName: NAMES.greenProvisioningStateMachine,
        input,
        name: `${database}-${++runs}`,
        waits: { WaitForGreen: 10, WaitForSync: 100 },
        retryIntervals: fast(['CheckBlue', 'CreateGreen', 'PrepareGreen', 'NotifyFailed', 'NotifyRefused']),
        environment: { MIGRATIONS_DIR: migrations },
        onNotify: (_state, published) =>
          notifications.push(`${published.Subject ?? ''}: ${published.Message ?? ''}`),
        handlers: {
          // startExecution.sync:2, as the provisioning's role: start the migration, run it to its end.
          Migrate: async (task: { StateMachineArn: string; Name: string; Input: unknown }) => {
            const started = (await world.aws.call(
              'states',
              'StartExecution',
              { stateMachineArn: task.StateMachineArn, name: task.Name, input: JSON.stringify(task.Input) },
              'us-east-1',
            )) as { executionArn: string };
            migration = await asPrincipal(undefined, () =>
              runInWorld({
                world,
                file: 'blue-green-migration.asl.json',
                stateMachineName: NAMES.blueGreenStateMachine,
                input: task.Input,
                ...(world.stepFunctions.executions.get(started.executionArn) === undefined
                  ? {}
                  : { execution: world.stepFunctions.executions.get(started.executionArn) }),
                environment: { MIGRATIONS_DIR: migrations },
                wrap: quickSmokeTests('blue-green-migration.asl.json'),
                onNotify: (_state, published) =>
                  notifications.push(`${published.Subject ?? ''}: ${published.Message ?? ''}`),
              }),
            );
            if (migration.status !== 'SUCCEEDED')
              throw Object.assign(new Error(migration.error?.message ?? 'migration failed'), {
                name: 'States.TaskFailed',
              });
            return { Status: 'SUCCEEDED', ExecutionArn: started.executionArn, Output: migration.output };
          },
        },
      });
      scanForSecrets('execution history', JSON.stringify(provisioning.history));
      return { provisioning, ...(migration === undefined ? {} : { migration }) };
    };
    const query = async <R extends object>(server: PostgresServer, sql: string) => {
      const c = new Client(server.clientConfig(database));
      c.on('error', () => undefined);
      await c.connect();
      try {
        return (await c.query<R>(sql)).rows;
      } finally {
        await c.end();
      }
    };
    return { world, run, input, created, notifications, query, database };
  }

  it('goes from nothing to a cut-over green, recorded as the writer, with its DR rebuild started', async () => {
    const s = await scenario();
    try {
      const { provisioning, migration } = await s.run();
      expect({ status: provisioning.status, notifications: s.notifications }).toEqual({
        status: 'SUCCEEDED',
        notifications: [],
      });
      expect(migration?.status).toBe('SUCCEEDED');
      expect(s.created).toEqual([s.input.greenInstanceIdentifier]);
      // Green holds every migration (two replayed, the third applied by the migration) and blue's rows.
      const applied = await s.query<{ migration_name: string }>(
        green,
        'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY 1',
      );
      expect(applied.map((r) => r.migration_name)).toEqual(
        (await readMigrationsFolder(migrations)).map((m) => m.name),
      );
      expect(await s.query(green, 'SELECT count(*)::int AS n FROM "order"')).toEqual([{ n: 50 }]);
      // The topology names green, opened by its own secret; DNS follows.
      const topology = await topologyOf();
      expect(topology.writer).toMatchObject({
        instanceIdentifier: s.input.greenInstanceIdentifier,
        endpoint: localRdsEndpoint(s.input.greenInstanceIdentifier, CONFIG.primaryRegion),
        secretId: `pg-dr/${s.input.greenInstanceIdentifier}`,
      });
      expect(s.world.route53.recordSet(RECORD, `${RECORD}-primary`)?.ResourceRecords[0]?.Value).toBe(
        localRdsEndpoint(s.input.greenInstanceIdentifier, CONFIG.primaryRegion),
      );
      // Re-protection: the DR rebuild was started for green.
      const rebuilds = [...s.world.stepFunctions.executions.values()].filter(
        (e) => e.stateMachineArn === s.world.stateMachineArn(NAMES.drRebuildStateMachine),
      );
      expect(rebuilds.map((e) => JSON.parse(e.input) as { sourceInstanceIdentifier: string })).toEqual([
        expect.objectContaining({ sourceInstanceIdentifier: s.input.greenInstanceIdentifier }),
      ]);
      // Green's master secret exists under the prefix in both regions, tagged for the workflow.
      const secret = s.world.secrets.secret(`pg-dr/${s.input.greenInstanceIdentifier}`);
      expect(secret?.primaryRegion).toBe('us-east-1');
      expect(Object.keys(secret?.replicas ?? {})).toEqual([CONFIG.primaryRegion]);
    } finally {
      s.world.close();
    }
  }, 180_000);

  it('carries on with the green it made when started again after its migration failed (green already ahead of blue)', async () => {
    const s = await scenario();
    try {
      smoke.status = 503;
      const first = await s.run();
      expect(first.provisioning.status).toBe('FAILED');
      expect(first.migration?.status).toBe('FAILED');
      expect(s.notifications.at(-1)).toMatch(
        /^Blue-green migration of a provisioned green failed: .*follow it first/s,
      );
      // The migration applied the pending migrations to green before its smoke test failed: green is ahead of
      // blue (a column blue lacks), which a replay and comparison would now call drift.
      expect(
        await s.query(
          green,
          "SELECT count(*)::int AS n FROM information_schema.columns WHERE column_name = 'note'",
        ),
      ).toEqual([{ n: 1 }]);
      smoke.status = 200;
      s.notifications.length = 0;
      const second = await s.run();
      expect({ status: second.provisioning.status, notifications: s.notifications }).toEqual({
        status: 'SUCCEEDED',
        notifications: [],
      });
      expect(s.created).toEqual([s.input.greenInstanceIdentifier]);
      expect((await topologyOf()).writer.instanceIdentifier).toBe(s.input.greenInstanceIdentifier);
    } finally {
      smoke.status = 200;
      s.world.close();
    }
  }, 240_000);

  it('a green that never finishes its initial copy: stops after 20 copy errors, pages, blue serves, nothing cut over', async () => {
    const s = await scenario(undefined, { copyFails: true });
    try {
      const { provisioning, migration } = await s.run();
      expect(provisioning.status).toBe('FAILED');
      expect(provisioning.path).toContain('InitialCopyFailing');
      expect(migration).toBeUndefined();
      expect(s.notifications).toEqual([
        expect.stringMatching(
          /^Green provisioning failed: blue still serves: .*failed at SyncProgress: InitialCopyFailing \(the initial copy to pg-dr-green-prov\d+ failed \d+ times .*account/s,
        ),
      ]);
      // Nothing was cut over: the topology and the record still name blue.
      expect((await topologyOf()).writer.instanceIdentifier).toBe(CONFIG.database.primaryInstanceIdentifier);
      expect(s.world.route53.recordSet(RECORD, `${RECORD}-primary`)?.ResourceRecords[0]?.Value).not.toContain(
        'pg-dr-green',
      );
    } finally {
      s.world.close();
    }
  }, 180_000);

  it('refuses, creating nothing, a blue that holds what logical replication cannot carry', async () => {
    const s = await scenario(async (client) => {
      await client.query('CREATE TABLE audit_log (at timestamptz, line text)');
    });
    try {
      const { provisioning, migration } = await s.run();
      expect({ status: provisioning.status, notifications: s.notifications }).toEqual({
        status: 'FAILED',
        notifications: [
          expect.stringMatching(
            /^Green provisioning refused: nothing was created: .*public\.audit_log has neither a primary key/s,
          ),
        ],
      });
      expect(provisioning.error?.name).toBe('ProvisioningRefused');
      expect(migration).toBeUndefined();
      expect(s.created).toEqual([]);
      expect(s.world.secrets.secret(`pg-dr/${s.input.greenInstanceIdentifier}`)).toBeUndefined();
      expect(await s.query(blue, 'SELECT count(*)::int AS n FROM pg_publication')).toEqual([{ n: 0 }]);
      expect(s.notifications).toEqual([
        expect.stringMatching(
          /^Green provisioning refused: nothing was created: .*public\.audit_log has neither a primary key/s,
        ),
      ]);
    } finally {
      s.world.close();
    }
  }, 120_000);
});
