import { resolve } from 'node:path';
import { Client } from 'pg';
import { checkBlueForGreen, ProvisioningRefused } from '../../lambdas/green-provisioning/blue-check';
import {
  ensurePublication,
  ensureReplicationUser,
  ensureSubscription,
  replayAppliedMigrations,
  schemaDifferences,
  SchemaDrift,
  syncProgress,
} from '../../lambdas/green-provisioning/green-database';
import { applyPendingMigrations, planMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder, type LocalMigration } from '../../lambdas/migrations/folder';
import { PostgresServer } from '../support/postgres';
import { eventually, execute } from '../support/replication';

const MIGRATIONS = resolve(__dirname, '..', '..', 'examples', 'prisma', 'migrations');
const LOGIN = { user: 'dr_replication', password: "it's-a-Secret\\42" };

async function connected(server: PostgresServer, database = 'app'): Promise<Client> {
  const client = new Client(server.clientConfig(database));
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

const refusalOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error as ProvisioningRefused,
  );

describe('provisioning green from blue, on real PostgreSQL', () => {
  let blue: PostgresServer;
  let green: PostgresServer;
  let local: LocalMigration[];
  const clients: Client[] = [];
  const open = async (server: PostgresServer, database = 'app') => {
    const client = await connected(server, database);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    [blue, green] = await Promise.all([
      PostgresServer.start({ name: 'provision-blue', settings: { wal_level: 'logical' } }),
      PostgresServer.start({ name: 'provision-green' }),
    ]);
    local = await readMigrationsFolder(MIGRATIONS);
    await execute(blue, 'postgres', 'CREATE DATABASE app');
    await execute(green, 'postgres', 'CREATE DATABASE app');
    const client = await open(blue);
    await applyPendingMigrations(client, local.slice(0, -1));
    await client.query(
      "INSERT INTO account (email) SELECT 'c' || g || '@example.org' FROM generate_series(1, 300) AS g",
    );
    await client.query(
      'INSERT INTO "order" (account_id, total_cents) SELECT 1 + g % 300, g FROM generate_series(1, 3000) AS g',
    );
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await Promise.all([blue.destroy(), green.destroy()]);
  });

  it('refuses, before anything is created, every table and object replication cannot carry, and drift', async () => {
    const b = await open(blue);
    await b.query('CREATE TABLE audit_log (at timestamptz, line text)');
    await b.query('CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY)');
    await b.query("SELECT lo_from_bytea(0, 'blob')");
    await b.query("UPDATE _prisma_migrations SET checksum = repeat('0', 64) WHERE migration_name = $1", [
      local[0]?.name,
    ]);
    try {
      const refusal = await refusalOf(checkBlueForGreen(b, local, 'dr_blue_green'));
      expect(refusal).toBeInstanceOf(ProvisioningRefused);
      expect(refusal.name).toBe('ProvisioningRefused');
      const subjects = refusal.problems.map((p) => p.subject);
      expect(subjects).toEqual(
        expect.arrayContaining([
          'public.audit_log',
          'public.scratch',
          'large objects',
          `migration ${local[0]?.name}`,
        ]),
      );
      expect(refusal.message).toContain('nothing was created');
      expect(refusal.message).toMatch(/audit_log has neither a primary key nor a replica identity/);
      // Nothing was created on blue: no publication, no replication role.
      const made = await b.query(
        `SELECT (SELECT count(*) FROM pg_publication)::int AS pubs,
                (SELECT count(*) FROM pg_roles WHERE rolname = 'dr_replication')::int AS roles`,
      );
      expect(made.rows[0]).toEqual({ pubs: 0, roles: 0 });
    } finally {
      await b.query('DROP TABLE audit_log, scratch');
      await b.query('SELECT lo_unlink(oid) FROM pg_largeobject_metadata');
      await b.query('UPDATE _prisma_migrations SET checksum = $1 WHERE migration_name = $2', [
        local[0]?.checksum,
        local[0]?.name,
      ]);
    }
  });

  it('refuses a blue whose schema no migration manages', async () => {
    await execute(blue, 'postgres', 'CREATE DATABASE unmanaged');
    const b = await open(blue, 'unmanaged');
    await b.query('CREATE TABLE thing (id int PRIMARY KEY)');
    const refusal = await refusalOf(checkBlueForGreen(b, local, 'dr_blue_green'));
    expect(refusal.problems.map((p) => p.subject)).toEqual(['public._prisma_migrations']);
  });

  it('replays the applied migrations, publishes, subscribes and copies blue until every table is ready', async () => {
    const b = await open(blue);
    const g = await open(green);
    const checked = await checkBlueForGreen(b, local, 'dr_blue_green');
    expect(checked.applied).toEqual(local.slice(0, -1).map((m) => m.name));
    expect(checked.pending).toEqual([local.at(-1)?.name]);
    expect(checked.tables).toEqual(['public.account', 'public.order']);

    expect(await replayAppliedMigrations(g, local, checked.applied)).toEqual(checked.applied);
    // A rerun replays nothing.
    expect(await replayAppliedMigrations(g, local, checked.applied)).toEqual([]);
    expect(await schemaDifferences(b, g)).toEqual([]);
    // The migration then applies only what is new on green.
    expect((await planMigrations(g, local)).pending).toEqual(checked.pending);

    await ensureReplicationUser(b, LOGIN, checked.tables);
    await ensurePublication(b, 'dr_blue_green', checked.tables);
    const source = {
      host: blue.host,
      port: blue.port,
      database: 'app',
      login: LOGIN,
      sslmode: blue.tls === undefined ? ('disable' as const) : ('require' as const),
    };
    expect(await ensureSubscription(g, 'dr_blue_green', 'dr_blue_green', source, checked.tables)).toBe(
      'created',
    );
    // Blue keeps taking writes during the initial copy.
    await b.query('INSERT INTO "order" (account_id, total_cents) VALUES (1, 42)');
    await eventually(async () => (await syncProgress(b, g, 'dr_blue_green', 1024 * 1024)).ready, 30_000, 200);
    const progress = await syncProgress(b, g, 'dr_blue_green', 1024 * 1024);
    expect(progress).toMatchObject({ tables: { r: 2 }, waitingFor: [], syncErrors: 0, ready: true });
    await eventually(async () => {
      const [onBlue, onGreen] = await Promise.all(
        [b, g].map(
          async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM "order"')).rows[0],
        ),
      );
      return onBlue?.n === 3001 && onGreen?.n === 3001;
    });
    // The subscription connects as the replication user, never the master user.
    const conn = await b.query<{ usename: string }>(
      "SELECT usename FROM pg_stat_replication WHERE application_name = 'dr_blue_green'",
    );
    expect(conn.rows.map((r) => r.usename)).toEqual(['dr_replication']);
    // A rerun keeps what exists.
    await ensurePublication(b, 'dr_blue_green', checked.tables);
    expect(await ensureSubscription(g, 'dr_blue_green', 'dr_blue_green', source, checked.tables)).toBe(
      'existing',
    );
  }, 60_000);

  it('names every column that differs when blue was changed outside its migrations', async () => {
    const b = await open(blue);
    const g = await open(green);
    await b.query('ALTER TABLE account ADD COLUMN nickname varchar(40)');
    try {
      const differences = await schemaDifferences(b, g);
      expect(differences).toEqual(['public.account.nickname: blue character varying(40), green missing']);
      expect(new SchemaDrift(differences).message).toContain('blue was changed outside its migrations');
    } finally {
      await b.query('ALTER TABLE account DROP COLUMN nickname');
    }
  });

  it('reports an initial copy that cannot finish as not ready, with its errors', async () => {
    const b = await open(blue);
    const g = await open(green);
    await b.query('CREATE TABLE widget (id int PRIMARY KEY, size int NOT NULL)');
    await b.query('INSERT INTO widget SELECT g, g FROM generate_series(1, 10) AS g');
    // Green's copy of the table lacks a column: its initial copy fails, again and again.
    await g.query('CREATE TABLE widget (id int PRIMARY KEY)');
    await ensurePublication(b, 'dr_blue_green', ['public.account', 'public.order', 'public.widget']);
    expect(
      (await b.query("SELECT count(*)::int AS n FROM pg_publication_tables WHERE pubname = 'dr_blue_green'"))
        .rows[0],
    ).toEqual({ n: 3 });
    await g.query('ALTER SUBSCRIPTION dr_blue_green REFRESH PUBLICATION WITH (copy_data = true)');
    try {
      await eventually(
        async () => (await syncProgress(b, g, 'dr_blue_green', 1024 * 1024)).syncErrors > 0,
        20_000,
        200,
      );
      const progress = await syncProgress(b, g, 'dr_blue_green', 1024 * 1024);
      expect(progress.ready).toBe(false);
      expect(progress.waitingFor).toEqual([expect.stringMatching(/^widget \([ids]\)$/)]);
    } finally {
      await b.query('ALTER PUBLICATION dr_blue_green DROP TABLE widget');
      await g.query('ALTER SUBSCRIPTION dr_blue_green REFRESH PUBLICATION');
    }
  }, 60_000);
});
