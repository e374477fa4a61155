import { Client } from 'pg';
import { dropWayBackOnWriter, dropWayBackSubscription } from '../../lambdas/blue-retirement/end-way-back';
import { planWayBack, setUpWayBack } from '../../lambdas/cutover/way-back';
import { PostgresServer } from '../support/postgres';
import { eventually, execute } from '../support/replication';

const LOGIN = { user: 'dr_replication', password: 'way-Back-Passw0rd' };

/**
 * The way back after a cutover, on real PostgreSQL: green publishes what blue's schema can take (the columns
 * both have) and blue subscribes without a copy; what the migration changed decides whether that is possible.
 */
describe('the way back: blue follows green after the cutover', () => {
  let blue: PostgresServer;
  let green: PostgresServer;
  let counter = 0;
  const clients: Client[] = [];

  beforeAll(async () => {
    [blue, green] = await Promise.all([
      PostgresServer.start({ name: 'wayback-blue', settings: { wal_level: 'logical' } }),
      PostgresServer.start({ name: 'wayback-green', settings: { wal_level: 'logical' } }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await Promise.all([blue.destroy(), green.destroy()]);
  });

  /** The same two tables on both, as before a migration; `migrate` then changes green's schema. */
  async function pair(migrate: string[]) {
    const database = `wb${++counter}`;
    const schema = [
      'CREATE TABLE account (id bigint PRIMARY KEY, email text NOT NULL, nickname text, plan text NOT NULL)',
      'CREATE TABLE invoice (id bigint PRIMARY KEY, account_id bigint NOT NULL, cents int NOT NULL)',
    ];
    for (const server of [blue, green]) {
      await execute(server, 'postgres', `CREATE DATABASE ${database}`);
      await execute(server, database, ...schema);
    }
    await execute(
      blue,
      database,
      "INSERT INTO account SELECT g, 'u' || g || '@example.org', NULL, 'free' FROM generate_series(1, 5) AS g",
    );
    await execute(
      green,
      database,
      "INSERT INTO account SELECT g, 'u' || g || '@example.org', NULL, 'free' FROM generate_series(1, 5) AS g",
      ...migrate,
    );
    const open = async (server: PostgresServer) => {
      const c = new Client(server.clientConfig(database));
      c.on('error', () => undefined);
      await c.connect();
      clients.push(c);
      return c;
    };
    return { database, b: await open(blue), g: await open(green) };
  }

  it('publishes blue’s columns only when green added some, and carries inserts, updates and deletes back', async () => {
    const { database, b, g } = await pair([
      "ALTER TABLE account ADD COLUMN locale text NOT NULL DEFAULT 'en'",
      'CREATE TABLE feature_flag (id int PRIMARY KEY)',
    ]);
    const plan = await planWayBack(b, g);
    expect(plan).toEqual({
      possible: true,
      tables: [
        // Green added a column: only blue's are published (a column list).
        { table: 'public.account', columns: ['id', 'email', 'nickname', 'plan'], all: false },
        // Unchanged: published whole, no column list.
        { table: 'public.invoice', columns: ['id', 'account_id', 'cents'], all: true },
      ],
      impossible: [],
      lossy: ['public.feature_flag exists only on green: its rows are not carried back'],
    });
    const options = {
      names: { publication: 'dr_way_back', subscription: 'dr_way_back' },
      plan,
      login: LOGIN,
      greenAt: { host: green.host, port: green.port, database },
      sslmode: green.tls === undefined ? ('disable' as const) : ('require' as const),
    };
    expect(await setUpWayBack(b, g, options)).toBe('created');
    // Green takes writes after the cutover: blue follows, as far as its schema allows.
    await g.query("INSERT INTO account VALUES (6, 'new@example.org', NULL, 'pro', 'fr')");
    await g.query("UPDATE account SET plan = 'pro' WHERE id = 1");
    await g.query('DELETE FROM account WHERE id = 2');
    await g.query('INSERT INTO invoice VALUES (1, 6, 4200)');
    await g.query('INSERT INTO feature_flag VALUES (1)');
    await eventually(async () => {
      const { rows } = await b.query<{ n: number }>('SELECT count(*)::int AS n FROM invoice');
      return rows[0]?.n === 1;
    }, 20_000);
    const { rows } = await b.query<{ id: string; plan: string }>('SELECT id, plan FROM account ORDER BY id');
    expect(rows).toEqual([
      { id: '1', plan: 'pro' },
      { id: '3', plan: 'free' },
      { id: '4', plan: 'free' },
      { id: '5', plan: 'free' },
      { id: '6', plan: 'pro' },
    ]);
    // Only the changed table has a column list.
    const lists = await g.query<{ t: string; list: boolean }>(
      `SELECT c.relname AS t, pr.prattrs IS NOT NULL AS list FROM pg_publication_rel pr
         JOIN pg_class c ON c.oid = pr.prrelid ORDER BY 1`,
    );
    expect(lists.rows).toEqual([
      { t: 'account', list: true },
      { t: 'invoice', list: false },
    ]);
    // No initial copy: blue's own rows were not copied twice, and nothing was truncated.
    expect(await setUpWayBack(b, g, options)).toBe('existing');
    const sub = await b.query<{ usename: string }>(
      "SELECT usename FROM pg_stat_replication WHERE application_name = 'dr_way_back'",
    );
    expect(sub.rows).toEqual([]);
    const onGreen = await g.query<{ usename: string }>(
      "SELECT usename FROM pg_stat_replication WHERE application_name = 'dr_way_back'",
    );
    expect(onGreen.rows).toEqual([{ usename: 'dr_replication' }]);
  }, 60_000);

  it.each([
    [
      'a dropped NOT NULL column',
      ['ALTER TABLE account DROP COLUMN plan'],
      'public.account.plan was dropped (or renamed) on green and is NOT NULL without a default on blue',
    ],
    [
      'a renamed table',
      ['ALTER TABLE invoice RENAME TO bill'],
      'public.invoice is on blue but not on green (dropped or renamed)',
    ],
    [
      'a changed type',
      ['ALTER TABLE invoice ALTER COLUMN cents TYPE bigint'],
      'public.invoice.cents changed type on green (integer on blue, bigint on green)',
    ],
    [
      'a primary key on a new column',
      [
        'ALTER TABLE invoice DROP CONSTRAINT invoice_pkey',
        'ALTER TABLE invoice ADD COLUMN uid uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY',
      ],
      'public.invoice is keyed on green by uid, which blue lacks',
    ],
  ])('finds the way back impossible after %s, and says why', async (_what, migrate, reason) => {
    const { b, g } = await pair(migrate);
    const plan = await planWayBack(b, g);
    expect(plan.possible).toBe(false);
    expect(plan.impossible).toEqual([expect.stringContaining(reason)]);
  });

  it('calls a dropped nullable column lossy, not impossible', async () => {
    const { b, g } = await pair(['ALTER TABLE account DROP COLUMN nickname']);
    const plan = await planWayBack(b, g);
    expect(plan.possible).toBe(true);
    expect(plan.lossy).toEqual([
      'public.account.nickname was dropped (or renamed) on green: rows written on green get NULL in it on blue',
    ]);
    expect(plan.tables[0]).toEqual({ table: 'public.account', columns: ['id', 'email', 'plan'], all: true });
  });

  /** A way back of its own names (slot names are per server), set up and streaming. */
  async function streamingWayBack() {
    const { database, b, g } = await pair([]);
    const names = { publication: `pub_${database}`, subscription: `sub_${database}` };
    await setUpWayBack(b, g, {
      names,
      plan: await planWayBack(b, g),
      login: LOGIN,
      greenAt: { host: green.host, port: green.port, database },
      sslmode: green.tls === undefined ? 'disable' : 'require',
    });
    await eventually(async () => {
      const { rows } = await g.query<{ active: boolean }>(
        'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
        [names.subscription],
      );
      return rows[0]?.active === true;
    }, 20_000);
    // Blue is fenced while it follows green (read-only by default): ending the way back lifts that for itself.
    await b.query(`ALTER DATABASE ${database} SET default_transaction_read_only = on`);
    return { database, b, g, names };
  }
  const slotOn = async (c: Client, slot: string) =>
    (await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount;

  it('ends the way back: blue’s subscription dropped with its slot on the writer, then the publication; again: nothing', async () => {
    const { b, g, names } = await streamingWayBack();
    const slot = names.subscription;
    // While blue streams, the writer refuses to drop the slot under it.
    await expect(dropWayBackOnWriter(g, { publication: names.publication, slot })).rejects.toMatchObject({
      name: 'WayBackSlotActive',
    });
    expect(await dropWayBackSubscription(b, names.subscription)).toBe(true);
    expect(await slotOn(g, slot)).toBe(0);
    expect(await dropWayBackOnWriter(g, { publication: names.publication, slot })).toEqual({
      slotDropped: false,
      publicationDropped: true,
    });
    expect(await dropWayBackSubscription(b, names.subscription)).toBe(false);
    expect(await dropWayBackOnWriter(g, { publication: names.publication, slot })).toEqual({
      slotDropped: false,
      publicationDropped: false,
    });
  }, 60_000);

  it('drops the slot on the writer when blue cannot, and blue’s subscription without it afterwards', async () => {
    const { b, g, names } = await streamingWayBack();
    const slot = names.subscription;
    // Blue stops reading (as if unreachable): the slot is inactive, and the writer drops it itself.
    await b.query('SET default_transaction_read_only = off');
    await b.query(`ALTER SUBSCRIPTION ${names.subscription} DISABLE`);
    await eventually(async () => {
      const { rows } = await g.query<{ active: boolean }>(
        'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      return rows[0]?.active === false;
    }, 20_000);
    expect(await dropWayBackOnWriter(g, { publication: names.publication, slot })).toEqual({
      slotDropped: true,
      publicationDropped: true,
    });
    // Blue back: its DROP SUBSCRIPTION cannot drop a slot that is gone; the subscription is detached and dropped.
    expect(await dropWayBackSubscription(b, names.subscription)).toBe(true);
    const left = await b.query('SELECT 1 FROM pg_subscription WHERE subname = $1', [names.subscription]);
    expect(left.rowCount).toBe(0);
  }, 60_000);
});
