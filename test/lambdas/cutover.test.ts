import { Client } from 'pg';
import {
  fenceBlue,
  finishCutover,
  prepareCutover,
  refuseFenceBypasses,
  syncSequences,
  unfenceBlue,
  verifyInFencedWindow,
  waitForCatchUp,
} from '../../lambdas/cutover/cutover';
import { coldStart, databaseSecret } from '../support/lambda';
import { PostgresServer } from '../support/postgres';
import {
  eventually,
  execute,
  REPLICATION_USER,
  replicationUser,
  subscribeGreenToBlue,
} from '../support/replication';

const SCHEMA = 'CREATE TABLE ledger (id bigserial PRIMARY KEY, note text NOT NULL)';

/**
 * An application writing to blue one row at a time, reconnecting when its session is killed, recording
 * which ids blue acknowledged. Bounded by count and time.
 */
function startWriter(server: PostgresServer, database: string) {
  const acknowledged: number[] = [];
  let failures = 0;
  const control = { stop: false };
  const done = (async () => {
    const deadline = Date.now() + 20_000;
    let client: Client | undefined;
    for (let i = 0; i < 5000 && !control.stop && Date.now() < deadline; i++) {
      try {
        if (client === undefined) {
          client = new Client(server.clientConfig(database));
          client.on('error', () => undefined);
          await client.connect();
        }
        const { rows } = await client.query<{ id: string }>(
          'INSERT INTO ledger (note) VALUES ($1) RETURNING id',
          [`w${i}`],
        );
        acknowledged.push(Number(rows[0]?.id));
      } catch {
        failures++;
        await client?.end().catch(() => undefined);
        client = undefined;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    await client?.end().catch(() => undefined);
  })();
  return {
    acknowledged,
    failures: () => failures,
    stop: async () => {
      control.stop = true;
      await done;
    },
  };
}

describe('zero-loss cutover core against real logical replication', () => {
  let blue: PostgresServer;
  let green: PostgresServer;
  let counter = 0;
  const open: Client[] = [];

  beforeAll(async () => {
    [blue, green] = await Promise.all([
      PostgresServer.start({
        name: 'cutover-blue',
        settings: { wal_level: 'logical', max_prepared_transactions: '4' },
      }),
      PostgresServer.start({ name: 'cutover-green' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.end().catch(() => undefined)));
    await Promise.all([blue.destroy(), green.destroy()]);
  });

  async function connect(server: PostgresServer, database: string): Promise<Client> {
    const client = new Client(server.clientConfig(database));
    client.on('error', () => undefined);
    open.push(client);
    await client.connect();
    return client;
  }

  async function replicatedPair() {
    const database = `c${++counter}`;
    await Promise.all([
      execute(blue, 'postgres', `CREATE DATABASE ${database}`),
      execute(green, 'postgres', `CREATE DATABASE ${database}`),
    ]);
    await Promise.all([execute(blue, database, SCHEMA), execute(green, database, SCHEMA)]);
    const names = { publication: `pub_${database}`, subscription: `sub_${database}` };
    await subscribeGreenToBlue(blue, green, database, names);
    const [b, g] = await Promise.all([connect(blue, database), connect(green, database)]);
    return { database, blue: b, green: g, subscription: names.subscription };
  }

  it('loses no acknowledged write: fence, barrier, sequences, finish', async () => {
    const pair = await replicatedPair();
    await prepareCutover(pair.blue, pair.green, pair.subscription);
    // Green is fenced from here until the cutover finishes: an early application write fails, never diverges.
    const early = await connect(green, pair.database);
    await expect(early.query("INSERT INTO ledger (note) VALUES ('too early')")).rejects.toMatchObject({
      code: '25006',
    });
    const writer = startWriter(blue, pair.database);
    await eventually(() => Promise.resolve(writer.acknowledged.length >= 200), 15_000, 10);

    const fence = await fenceBlue(pair.blue);
    const catchUp = await waitForCatchUp(pair.blue, pair.green, {
      subscription: pair.subscription,
      timeoutMs: 10_000,
      pollMs: 10,
    });
    // Blue fenced and green caught up: both hold the same transactions, and their counts match exactly.
    const verified = await verifyInFencedWindow(pair.blue, pair.green, {
      subscription: pair.subscription,
      budgetMs: 5000,
    });
    const sequences = await syncSequences(pair.blue, pair.green);
    await writer.stop();
    await finishCutover(pair.green, pair.subscription);
    expect(verified.tables).toBe(1);

    expect(fence.terminatedSessions).toBeGreaterThanOrEqual(1);
    expect(fence.skippedSessions).toBe(0);
    expect(catchUp.caughtUpMs).toEqual(expect.any(Number));
    const { rows } = await pair.green.query<{ id: string }>('SELECT id FROM ledger');
    const onGreen = new Set(rows.map((r) => Number(r.id)));
    const lost = writer.acknowledged.filter((id) => !onGreen.has(id));
    expect({ acknowledged: writer.acknowledged.length >= 200, lost }).toEqual({
      acknowledged: true,
      lost: [],
    });
    expect(writer.failures()).toBeGreaterThanOrEqual(1);

    // Green continues blue's ids instead of colliding with them.
    // Blue's final value is at least its last acknowledged id: an insert the fence ended before it committed
    // may have taken a later one (nextval is not rolled back), and green must not reuse that either.
    const maxBlue = Math.max(...writer.acknowledged);
    expect(sequences.map((s) => s.name)).toEqual(['public.ledger_id_seq']);
    const synced = Number(sequences[0]?.value);
    expect(synced).toBeGreaterThanOrEqual(maxBlue);
    const onBlue = await pair.blue.query<{ v: string }>('SELECT last_value::text AS v FROM ledger_id_seq');
    expect(synced).toBe(Number(onBlue.rows[0]?.v));
    const next = await pair.green.query<{ id: string }>(
      "INSERT INTO ledger (note) VALUES ('first on green') RETURNING id",
    );
    expect(Number(next.rows[0]?.id)).toBe(synced + 1);

    // Blue stays fenced: a new session cannot write. Green no longer subscribes.
    const late = await connect(blue, pair.database);
    await expect(late.query("INSERT INTO ledger (note) VALUES ('late')")).rejects.toMatchObject({
      code: '25006',
    });
    const subs = await pair.green.query('SELECT 1 FROM pg_subscription WHERE subname = $1', [
      pair.subscription,
    ]);
    expect(subs.rowCount).toBe(0);
  });

  it("fences as RDS's master user does (rds_superuser, no superuser): ends application sessions, skips rdsadmin's", async () => {
    const database = `c${++counter}`;
    await execute(blue, 'postgres', `CREATE DATABASE ${database}`);
    // The RDS master user: owns the database and, as rds_superuser, sees every connection in pg_stat_activity
    // and may end them with pg_terminate_backend (RDS User Guide, "Understanding the rds_superuser role"), but
    // is no superuser. The server's own superuser plays rdsadmin.
    await execute(
      blue,
      database,
      "CREATE ROLE dr_master LOGIN PASSWORD 'master-Pw-1' NOSUPERUSER",
      'GRANT pg_signal_backend, pg_read_all_stats TO dr_master',
      `ALTER DATABASE ${database} OWNER TO dr_master`,
      "CREATE ROLE app_user LOGIN PASSWORD 'app-Pw-1' NOSUPERUSER",
      'CREATE TABLE ledger (id bigserial PRIMARY KEY, note text NOT NULL)',
      'GRANT INSERT, SELECT ON ledger TO app_user',
      'GRANT USAGE ON SEQUENCE ledger_id_seq TO app_user',
    );
    const as = async (user: string, password: string) => {
      const client = new Client({ ...blue.clientConfig(database), user, password });
      client.on('error', () => undefined);
      open.push(client);
      await client.connect();
      return client;
    };
    const rdsadmin = await connect(blue, database);
    const app = await as('app_user', 'app-Pw-1');
    await app.query("INSERT INTO ledger (note) VALUES ('before')");
    const master = await as('dr_master', 'master-Pw-1');

    await expect(fenceBlue(master)).resolves.toEqual({ terminatedSessions: 1, skippedSessions: 1 });
    await expect(app.query("INSERT INTO ledger (note) VALUES ('after')")).rejects.toThrow();
    await expect(rdsadmin.query('SELECT 1 AS alive')).resolves.toMatchObject({ rows: [{ alive: 1 }] });
    const late = await as('app_user', 'app-Pw-1');
    await expect(late.query("INSERT INTO ledger (note) VALUES ('late')")).rejects.toMatchObject({
      code: '25006',
    });
  });

  it('aborts in the fenced window when green is missing one row under writes: GreenDiverged, blue unfenced, nothing flipped', async () => {
    process.env.AWS_REGION = 'us-east-1';
    process.env.DB_CA_FILE = `${blue.rootDir}/tls/ca.crt`;
    const pair = await replicatedPair();
    await prepareCutover(pair.blue, pair.green, pair.subscription);
    const writer = startWriter(blue, pair.database);
    await eventually(() => Promise.resolve(writer.acknowledged.length >= 100), 15_000, 10);
    // Green really loses one row it had applied (written through green's fence, as a stray process could).
    const stray = await connect(green, pair.database);
    await stray.query('SET default_transaction_read_only = off');
    await stray.query('DELETE FROM ledger WHERE id = (SELECT min(id) FROM ledger)');

    const { handler, secrets, GetSecretValue } = coldStart<(e: unknown) => Promise<unknown>>(
      '../../lambdas/cutover/handler',
    );
    secrets.on(GetSecretValue, { SecretId: 'blue' }).resolves(databaseSecret(blue, pair.database));
    secrets.on(GetSecretValue, { SecretId: 'green' }).resolves(databaseSecret(green, pair.database));
    const refused = (await handler({
      mode: 'fence',
      blue: { secretId: 'blue' },
      green: { secretId: 'green' },
      subscription: pair.subscription,
    }).catch((e: unknown) => e)) as Error;
    await writer.stop();
    expect(refused.name).toBe('GreenDiverged');
    expect(refused.message).toMatch(/public\.ledger: green (\d+), blue \d+: green is missing rows/);
    const [, onGreen, onBlue] = /green (\d+), blue (\d+)/.exec(refused.message) ?? [];
    expect(Number(onBlue) - Number(onGreen)).toBe(1);
    expect(refused.message).not.toContain(blue.password);
    // Blue is unfenced: a new session writes again.
    const after = await connect(blue, pair.database);
    await after.query("INSERT INTO ledger (note) VALUES ('after the abort')");
    await finishCutover(pair.green, pair.subscription); // frees the replication worker and slot
  });

  it('aborts when the fenced comparison exceeds its budget (FencedVerifyTimeout)', async () => {
    const pair = await replicatedPair();
    await prepareCutover(pair.blue, pair.green, pair.subscription);
    await fenceBlue(pair.blue);
    await waitForCatchUp(pair.blue, pair.green, {
      subscription: pair.subscription,
      timeoutMs: 10_000,
      pollMs: 10,
    });
    // A session on green holds the table: the count waits, and the budget ends it.
    const holder = await connect(green, pair.database);
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE');
    await expect(
      verifyInFencedWindow(pair.blue, pair.green, { subscription: pair.subscription, budgetMs: 300 }),
    ).rejects.toMatchObject({ name: 'FencedVerifyTimeout' });
    await holder.query('ROLLBACK');
    await unfenceBlue(await connect(blue, pair.database));
    await finishCutover(pair.green, pair.subscription); // frees the replication worker and slot
  });

  it('compares every application table of blue in the fenced window, not only what the subscription carries', async () => {
    const pair = await replicatedPair();
    // A publication of listed tables, as the preparation docs set it up.
    await pair.blue.query(`DROP PUBLICATION pub_${pair.database}`);
    await pair.blue.query(`CREATE PUBLICATION pub_${pair.database} FOR TABLE ledger`);
    await prepareCutover(pair.blue, pair.green, pair.subscription);
    // Tables the subscription does not carry: one green has too, empty, and one green does not have at all.
    await pair.green.query('CREATE TABLE audit (id int PRIMARY KEY)');
    await pair.blue.query('CREATE TABLE audit (id int PRIMARY KEY)');
    await pair.blue.query('INSERT INTO audit SELECT generate_series(1, 10)');
    await pair.blue.query('CREATE TABLE only_blue (id int PRIMARY KEY)');
    await pair.blue.query('INSERT INTO only_blue VALUES (1)');
    await fenceBlue(pair.blue);
    await waitForCatchUp(pair.blue, pair.green, {
      subscription: pair.subscription,
      timeoutMs: 10_000,
      pollMs: 10,
    });

    const refused = (await verifyInFencedWindow(pair.blue, pair.green, {
      subscription: pair.subscription,
      budgetMs: 10_000,
    }).catch((e: unknown) => e)) as Error;

    expect(refused.name).toBe('GreenDiverged');
    expect(refused.message).toContain('public.audit: green 0, blue 10: green is missing rows');
    expect(refused.message).toContain('public.only_blue: missing on green, blue 1');
    expect(refused.message).not.toContain('public.ledger');
    await unfenceBlue(await connect(blue, pair.database));
    await finishCutover(pair.green, pair.subscription); // frees the replication worker and slot
  });

  it('counts a subscribed table whose schema name holds a dot, by its exact name, in the fenced window', async () => {
    const pair = await replicatedPair();
    const ddl = 'CREATE SCHEMA "Ops.Audit"; CREATE TABLE "Ops.Audit"."Entry" (id int PRIMARY KEY)';
    await pair.blue.query(ddl);
    await pair.green.query(ddl);
    // The replication user reads the new schema for the initial copy.
    await pair.blue.query(
      `GRANT USAGE ON SCHEMA "Ops.Audit" TO ${REPLICATION_USER}; GRANT SELECT ON "Ops.Audit"."Entry" TO ${REPLICATION_USER}`,
    );
    await pair.green.query(`ALTER SUBSCRIPTION ${pair.subscription} REFRESH PUBLICATION`);
    await pair.blue.query('INSERT INTO "Ops.Audit"."Entry" SELECT generate_series(1, 7)');
    await prepareCutover(pair.blue, pair.green, pair.subscription);
    await fenceBlue(pair.blue);
    await waitForCatchUp(pair.blue, pair.green, {
      subscription: pair.subscription,
      timeoutMs: 10_000,
      pollMs: 10,
    });
    // Caught up and equal: the exact count passes.
    await verifyInFencedWindow(pair.blue, pair.green, { subscription: pair.subscription, budgetMs: 10_000 });
    // One row lost on green (written with replication's own role, so the subscription does not mind).
    await pair.green.query('SET session_replication_role = replica; SET default_transaction_read_only = off');
    await pair.green.query('DELETE FROM "Ops.Audit"."Entry" WHERE id = 7');
    const refused = (await verifyInFencedWindow(pair.blue, pair.green, {
      subscription: pair.subscription,
      budgetMs: 10_000,
    }).catch((e: unknown) => e)) as Error;
    expect(refused.name).toBe('GreenDiverged');
    expect(refused.message).toContain('"Ops.Audit"."Entry": green 6, blue 7: green is missing rows');
    await unfenceBlue(await connect(blue, pair.database));
    await finishCutover(pair.green, pair.subscription);
  });

  it('refuses what writes through the fence: a prepared transaction, a role that turns the default off', async () => {
    const pair = await replicatedPair();
    const role = `writer_${pair.database}`;
    await pair.blue.query(`CREATE ROLE ${role} NOLOGIN`);
    await pair.blue.query(
      `ALTER ROLE ${role} IN DATABASE ${pair.database} SET default_transaction_read_only = off`,
    );
    await expect(prepareCutover(pair.blue, pair.green, pair.subscription)).rejects.toMatchObject({
      name: 'FenceBypassable',
      message: expect.stringContaining(
        `role(s) "${role}" set default_transaction_read_only = off`,
      ) as unknown,
    });
    await pair.blue.query(
      `ALTER ROLE ${role} IN DATABASE ${pair.database} RESET default_transaction_read_only`,
    );

    // A transaction prepared before the fence would commit through it.
    const preparer = await connect(blue, pair.database);
    await preparer.query('BEGIN');
    await preparer.query("INSERT INTO ledger (note) VALUES ('prepared')");
    await preparer.query(`PREPARE TRANSACTION 'p_${pair.database}'`);
    try {
      await expect(prepareCutover(pair.blue, pair.green, pair.subscription)).rejects.toMatchObject({
        name: 'FenceBypassable',
        message: expect.stringContaining(`prepared transaction(s) "p_${pair.database}"`) as unknown,
      });
    } finally {
      await preparer.query(`ROLLBACK PREPARED 'p_${pair.database}'`);
    }
    await prepareCutover(pair.blue, pair.green, pair.subscription);
    await finishCutover(pair.green, pair.subscription); // frees the replication worker and slot
  });

  it("refuses a fencing role that cannot see other roles' sessions (the fence would not end them)", async () => {
    const pair = await replicatedPair();
    const fencer = `fencer_${pair.database}`;
    await pair.blue.query(`CREATE ROLE ${fencer} LOGIN PASSWORD 'fencer-Pw-1' NOSUPERUSER`);
    await pair.blue.query(`GRANT pg_signal_backend TO ${fencer}`);
    await pair.blue.query(`ALTER DATABASE ${pair.database} OWNER TO ${fencer}`);
    const asFencer = new Client({
      ...blue.clientConfig(pair.database),
      user: fencer,
      password: 'fencer-Pw-1',
    });
    asFencer.on('error', () => undefined);
    open.push(asFencer);
    await asFencer.connect();
    await expect(refuseFenceBypasses(asFencer)).rejects.toMatchObject({
      name: 'FenceBypassable',
      message: expect.stringContaining("the fencing role cannot see other roles' sessions") as unknown,
    });
    await pair.blue.query(`GRANT pg_read_all_stats TO ${fencer}`);
    await expect(refuseFenceBypasses(asFencer)).resolves.toBeUndefined();
    await finishCutover(pair.green, pair.subscription); // frees the replication worker and slot
  });

  it('gives up catching up when green stops applying, and the unfenced blue takes writes again', async () => {
    const pair = await replicatedPair();
    await prepareCutover(pair.blue, pair.green, pair.subscription);
    await pair.green.query(`ALTER SUBSCRIPTION ${pair.subscription} DISABLE`);

    await fenceBlue(pair.blue);
    await expect(
      waitForCatchUp(pair.blue, pair.green, { subscription: pair.subscription, timeoutMs: 300, pollMs: 20 }),
    ).rejects.toMatchObject({
      name: 'CatchUpTimeout',
    });
    // As the workflow does: a new session, opened after the fence (and so read-only by default), unfences.
    await unfenceBlue(await connect(blue, pair.database));

    const client = await connect(blue, pair.database);
    await client.query("INSERT INTO ledger (note) VALUES ('after abort')");
  });

  it("refuses a subscription that connects as blue's secret user, whose password rotation would break it", async () => {
    const database = `c${++counter}`;
    await Promise.all([
      execute(blue, 'postgres', `CREATE DATABASE ${database}`),
      execute(green, 'postgres', `CREATE DATABASE ${database}`),
    ]);
    await Promise.all([execute(blue, database, SCHEMA), execute(green, database, SCHEMA)]);
    await execute(blue, database, 'CREATE PUBLICATION rotated FOR ALL TABLES');
    // The master user (what blue's secret holds), as a subscription made with the RDS master secret would.
    const conninfo = `host=${blue.host} port=${blue.port} user=${blue.user} password=${blue.password} dbname=${database} sslmode=verify-full sslrootcert=${green.rootDir}/tls/ca.crt`;
    await execute(
      green,
      database,
      `CREATE SUBSCRIPTION rotated_sub CONNECTION '${conninfo}' PUBLICATION rotated`,
    );
    const [b, g] = await Promise.all([connect(blue, database), connect(green, database)]);
    await eventually(async () => {
      const { rows } = await b.query(
        "SELECT 1 FROM pg_stat_replication WHERE application_name = 'rotated_sub'",
      );
      return rows.length > 0;
    });
    const refused = (await prepareCutover(b, g, 'rotated_sub').catch((e: unknown) => e)) as Error;
    expect(refused.name).toBe('SubscriptionUsesRotatedUser');
    expect(refused.message).toContain(`connects to blue as ${blue.user}`);
    expect(refused.message).not.toContain(blue.password);
    // Nothing was fenced: green still takes writes.
    await g.query("INSERT INTO ledger (note) VALUES ('green not fenced')");
    await execute(green, database, 'ALTER SUBSCRIPTION rotated_sub DISABLE', 'DROP SUBSCRIPTION rotated_sub');
  });

  it('refuses to prepare without the subscription', async () => {
    const pair = await replicatedPair();
    await expect(prepareCutover(pair.blue, pair.green, 'no_such_subscription')).rejects.toMatchObject({
      name: 'SubscriptionMissing',
    });
  });

  it('adds the barrier table to a publication of listed tables', async () => {
    const database = `c${++counter}`;
    await Promise.all([
      execute(blue, 'postgres', `CREATE DATABASE ${database}`),
      execute(green, 'postgres', `CREATE DATABASE ${database}`),
    ]);
    await Promise.all([execute(blue, database, SCHEMA), execute(green, database, SCHEMA)]);
    await execute(blue, database, `CREATE PUBLICATION listed FOR TABLE ledger`);
    const replication = await replicationUser(blue, database);
    const conninfo = `host=${blue.host} port=${blue.port} user=${replication.user} password=${replication.password} dbname=${database} sslmode=verify-full sslrootcert=${green.rootDir}/tls/ca.crt`;
    await execute(
      green,
      database,
      `CREATE SUBSCRIPTION listed_sub CONNECTION '${conninfo}' PUBLICATION listed`,
    );
    const [b, g] = await Promise.all([connect(blue, database), connect(green, database)]);

    await prepareCutover(b, g, 'listed_sub');
    await b.query("INSERT INTO ledger (note) VALUES ('before fence')");
    await fenceBlue(b);
    await waitForCatchUp(b, g, { subscription: 'listed_sub', timeoutMs: 10_000, pollMs: 10 });
    const { rows } = await g.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM ledger WHERE note = 'before fence'",
    );
    expect(rows[0]?.n).toBe(1);
  });
});
