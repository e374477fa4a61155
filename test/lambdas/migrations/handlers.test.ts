import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { MigrateResult, PlanResult } from '../../../lambdas/migrations/handlers';
import { coldStart, databaseSecret } from '../../support/lambda';
import { PostgresServer } from '../../support/postgres';
import { execute } from '../../support/replication';

type Handler<R> = (event: unknown) => Promise<R>;
const MODULE = '../../lambdas/migrations/handlers';
const EXAMPLES = join(__dirname, '..', '..', '..', 'examples', 'prisma', 'migrations');

describe('migration plan and migrate steps', () => {
  let green: PostgresServer;
  let dir: string;
  let counter = 0;

  beforeAll(async () => {
    green = await PostgresServer.start({ name: 'green-migrate' });
    dir = mkdtempSync(join(tmpdir(), 'pg-dr-migrate-step-'));
    process.env.AWS_REGION = 'us-east-1';
    process.env.DB_CA_FILE = `${green.rootDir}/tls/ca.crt`;
  });
  afterAll(async () => {
    await green.destroy();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.MIGRATIONS_DIR;
  });

  async function freshTarget(): Promise<{ database: string; folder: string }> {
    const database = `step${++counter}`;
    await execute(green, 'postgres', `CREATE DATABASE ${database}`);
    const folder = join(dir, database);
    cpSync(EXAMPLES, folder, { recursive: true });
    process.env.MIGRATIONS_DIR = folder;
    return { database, folder };
  }

  function load<R>(name: 'planHandler' | 'applyHandler', database: string) {
    const loaded = coldStart<Handler<R>>(MODULE, name);
    loaded.secrets
      .on(loaded.GetSecretValue, { SecretId: 'green-db' })
      .resolves(databaseSecret(green, database));
    return loaded.handler;
  }

  it('plans the bundled migrations without writing, then applies them with durations', async () => {
    const { database } = await freshTarget();

    const plan = await load<PlanResult>('planHandler', database)({ database: { secretId: 'green-db' } });
    expect(plan).toMatchObject({
      migrationsInFolder: 3,
      plan: {
        pending: [
          '20240101000000_init',
          '20240115000000_add_order_status',
          '20240201000000_index_orders_created_at',
        ],
        blocked: false,
      },
    });
    const client = new Client(green.clientConfig(database));
    await client.connect();
    const untouched = await client.query<{ exists: boolean }>(
      "SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists",
    );
    expect(untouched.rows[0]?.exists).toBe(false);

    const result = await load<MigrateResult>(
      'applyHandler',
      database,
    )({ database: { secretId: 'green-db' } });
    expect(result.applied.map((a) => a.name)).toEqual(plan.plan.pending);
    for (const step of result.applied) expect(step.durationMs).toBeGreaterThanOrEqual(0);
    const count = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL',
    );
    await client.end();
    expect(count.rows[0]?.n).toBe(3);

    const again = await load<MigrateResult>('applyHandler', database)({ database: { secretId: 'green-db' } });
    expect(again.applied).toEqual([]);
  });

  it('fails as MigrationFailed, then MigrationsBlocked on the next attempt', async () => {
    const { database, folder } = await freshTarget();
    mkdirSync(join(folder, '20240301000000_broken'));
    writeFileSync(
      join(folder, '20240301000000_broken', 'migration.sql'),
      'ALTER TABLE nope ADD COLUMN x int;',
    );

    const first = (await load<MigrateResult>(
      'applyHandler',
      database,
    )({ database: { secretId: 'green-db' } }).catch((e: unknown) => e)) as Error;
    expect(first.name).toBe('MigrationFailed');
    expect(first.message).toContain('P3018: migration 20240301000000_broken failed to apply');

    const second = (await load<MigrateResult>(
      'applyHandler',
      database,
    )({ database: { secretId: 'green-db' } }).catch((e: unknown) => e)) as Error;
    expect(second.name).toBe('MigrationsBlocked');

    const plan = await load<PlanResult>('planHandler', database)({ database: { secretId: 'green-db' } });
    expect(plan.plan).toMatchObject({ blocked: true, failed: [{ name: '20240301000000_broken' }] });
  });

  it('plans a migration a running deploy is applying as running, not failed or blocking', async () => {
    const { database, folder } = await freshTarget();
    await load<MigrateResult>('applyHandler', database)({ database: { secretId: 'green-db' } });
    mkdirSync(join(folder, '20240301000000_waits'));
    writeFileSync(join(folder, '20240301000000_waits', 'migration.sql'), 'SELECT count(*) FROM "order";\n');
    const gate = new Client(green.clientConfig(database));
    await gate.connect();
    try {
      await gate.query('BEGIN');
      await gate.query('LOCK TABLE "order" IN ACCESS EXCLUSIVE MODE');
      const deploy = load<MigrateResult>('applyHandler', database)({ database: { secretId: 'green-db' } });
      let plan = await load<PlanResult>('planHandler', database)({ database: { secretId: 'green-db' } });
      for (let attempt = 0; attempt < 100 && plan.plan.running.length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        plan = await load<PlanResult>('planHandler', database)({ database: { secretId: 'green-db' } });
      }
      expect(plan.plan).toMatchObject({
        blocked: false,
        failed: [],
        running: [{ name: '20240301000000_waits' }],
        pending: [],
      });
      await gate.query('COMMIT');
      await expect(deploy).resolves.toMatchObject({ applied: [{ name: '20240301000000_waits' }] });
    } finally {
      await gate.end();
    }
  });

  it('fails as MigrationFileNotFound (P3015) for a folder without migration.sql', async () => {
    const { database, folder } = await freshTarget();
    mkdirSync(join(folder, '20240301000000_empty'));
    const failure = (await load<PlanResult>(
      'planHandler',
      database,
    )({ database: { secretId: 'green-db' } }).catch((e: unknown) => e)) as Error;
    expect(failure.name).toBe('MigrationFileNotFound');
    expect(failure.message).toContain('P3015');
  });

  it('reports a target that is down as DatabaseUnreachable', async () => {
    const { database } = await freshTarget();
    const handler = load<MigrateResult>('applyHandler', database);
    await green.kill();
    try {
      const error = (await handler({ database: { secretId: 'green-db' } }).catch((e: unknown) => e)) as Error;
      expect(error.name).toBe('DatabaseUnreachable');
    } finally {
      await green.restart();
    }
  });

  it('rejects a bad schema name before connecting', async () => {
    const { database } = await freshTarget();
    const loaded = coldStart<Handler<MigrateResult>>(MODULE, 'applyHandler');
    const error = (await loaded
      .handler({ database: { secretId: 'green-db' }, schema: 'x; DROP TABLE y' })
      .catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toBe('invalid input: schema must be a schema name');
    expect(loaded.secrets.calls()).toHaveLength(0);
    expect(database).toBeDefined();
  });
});
