import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder, type LocalMigration } from '../../lambdas/migrations/folder';
import type { VerifyReport } from '../../lambdas/verify/verify';
import { verifyGreen, type VerifyOptions } from '../../lambdas/verify/verify';
import { committedUnseen, UNSEEN_XID_LIMIT } from '../../lambdas/verify/row-counts';
import { DUMPABLE_MAJOR_VERSION } from '../../lib/local-postgres/server';
import { parseTableKey, tableKey, tableKeySql } from '../../lambdas/shared/replicated-tables';
import { coldStart, databaseSecret } from '../support/lambda';
import { PostgresServer } from '../support/postgres';
import { eventually, execute, subscribeGreenToBlue } from '../support/replication';

const EXAMPLES = join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');
const DEFAULTS: VerifyOptions = {
  schema: 'public',
  requiredTables: [],
  rowCounts: { tolerance: 0 },
  maxReplicationLagBytes: 1024,
};

/**
 * The servers that hold commits run with a synchronous standby named that never connects, and
 * synchronous_commit = local, so no session waits for it, until one sets synchronous_commit = on. Set at start,
 * it is in force before any session commits (a reload reaches sessions, and the checkpointer that tells them a
 * standby is named, at their own pace).
 */
const NO_STANDBY = { synchronous_standby_names: 'nobody', synchronous_commit: 'local' };

/**
 * Runs `commit` on `committer` so that it waits for that standby (written to the WAL, not yet visible), runs
 * `during` while it waits, then cancels the wait: the commit, already written, completes locally.
 */
async function whileCommitWaits<T>(
  admin: Client,
  committer: Client,
  commit: string,
  during: () => Promise<T>,
): Promise<T> {
  await committer.query('SET synchronous_commit = on');
  const { rows } = await committer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = rows[0]?.pid;
  const stuck = committer.query(commit);
  try {
    await eventually(async () => {
      const { rows: waiting } = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'SyncRep'",
        [pid],
      );
      return waiting[0]?.n === 1;
    });
    return await during();
  } finally {
    await admin.query('SELECT pg_cancel_backend($1)', [pid]);
    await stuck;
    await committer.query('RESET synchronous_commit');
  }
}

describe('verify step against real PostgreSQL', () => {
  let blue: PostgresServer;
  let green: PostgresServer;
  let local: LocalMigration[];
  let counter = 0;
  const open: Client[] = [];

  beforeAll(async () => {
    [blue, green] = await Promise.all([
      PostgresServer.start({ name: 'verify-blue', settings: { wal_level: 'logical', ...NO_STANDBY } }),
      PostgresServer.start({ name: 'verify-green' }),
    ]);
    local = await readMigrationsFolder(EXAMPLES);
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.end().catch(() => undefined)));
    await Promise.all([blue.destroy(), green.destroy()]);
  });

  async function connect(server: PostgresServer, database: string): Promise<Client> {
    const client = new Client(server.clientConfig(database));
    open.push(client);
    await client.connect();
    return client;
  }

  /** The same migrated database on blue and green, with `accounts` rows on each. */
  async function pair(accounts: {
    blue: number;
    green: number;
  }): Promise<{ database: string; blue: Client; green: Client }> {
    const database = `v${++counter}`;
    await Promise.all([
      execute(blue, 'postgres', `CREATE DATABASE ${database}`),
      execute(green, 'postgres', `CREATE DATABASE ${database}`),
    ]);
    const [b, g] = await Promise.all([connect(blue, database), connect(green, database)]);
    await applyPendingMigrations(b, local);
    await applyPendingMigrations(g, local);
    for (const [client, n] of [
      [b, accounts.blue],
      [g, accounts.green],
    ] as const) {
      await client.query(
        `INSERT INTO account (email) SELECT 'user' || i || '@example.org' FROM generate_series(1, ${n}) AS i`,
      );
    }
    return { database, blue: b, green: g };
  }

  const failed = (report: VerifyReport) =>
    report.checks.filter((c) => c.status === 'failed').map((c) => c.name);
  const rowsCheck = (report: VerifyReport) => report.checks.find((c) => c.name === 'rows:public.account');

  /** Two sessions inserting into blue back to back until stopped (bounded in count; the caller bounds time). */
  async function writeToBlue(database: string) {
    const writers = await Promise.all([connect(blue, database), connect(blue, database)]);
    const control = { done: false, written: 0 };
    const writing = writers.map(async (writer, w) => {
      for (let i = 0; i < 50_000 && !control.done; i++) {
        await writer.query('INSERT INTO account (email) VALUES ($1)', [`busy${w}-${i}@example.org`]);
        control.written++;
      }
    });
    return {
      written: () => control.written,
      stop: async () => {
        control.done = true;
        await Promise.all(writing);
      },
    };
  }

  it('passes a fully migrated green whose rows match blue, naming every check', async () => {
    const { blue: b, green: g } = await pair({ blue: 5, green: 5 });
    const report = await verifyGreen(g, b, local, {
      ...DEFAULTS,
      requiredTables: [{ table: 'order', columns: ['id', 'status', 'total_cents'] }],
    });
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual([
      'migrations',
      'table:public.order',
      'rows:public.account',
      'rows:public.order',
      'sequences',
    ]);
  });

  it('compares tables whose names hold a dot, a quote or capitals, each by its exact name', async () => {
    const { blue: b, green: g } = await pair({ blue: 2, green: 2 });
    for (const [client, odd] of [
      [b, 3],
      [g, 2],
    ] as const) {
      await client.query(`CREATE SCHEMA "Tenant.A";
        CREATE TABLE "Tenant.A"."User" (id int PRIMARY KEY);
        INSERT INTO "Tenant.A"."User" SELECT generate_series(1, 4);
        CREATE TABLE public."Odd""Name" (id int PRIMARY KEY);
        INSERT INTO public."Odd""Name" SELECT generate_series(1, ${odd});`);
    }
    const report = await verifyGreen(g, b, local, DEFAULTS);
    const rows = report.checks.filter((c) => c.name.startsWith('rows:'));
    expect(rows.map((c) => [c.name, c.status])).toEqual([
      ['rows:"Tenant.A"."User"', 'passed'],
      ['rows:public."Odd""Name"', 'failed'],
      ['rows:public.account', 'passed'],
      ['rows:public.order', 'passed'],
    ]);
    // The same key from a query and from code, and back to the names.
    const { rows: keys } = await b.query<{ key: string }>(
      `SELECT ${tableKeySql('n.nspname', 'c.relname')} AS key FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname IN ('User', 'Odd"Name') ORDER BY 1`,
    );
    expect(keys.map((k) => k.key)).toEqual([tableKey('Tenant.A', 'User'), tableKey('public', 'Odd"Name')]);
    expect(keys.map((k) => parseTableKey(k.key))).toEqual([
      { schema: 'Tenant.A', name: 'User' },
      { schema: 'public', name: 'Odd"Name' },
    ]);
  });

  it('catches a pending migration and a failed one', async () => {
    const { green: g } = await pair({ blue: 0, green: 0 });
    const extra = mkdtempSync(join(tmpdir(), 'pg-dr-verify-'));
    try {
      cpSync(EXAMPLES, extra, { recursive: true });
      mkdirSync(join(extra, '20240301000000_more'));
      writeFileSync(join(extra, '20240301000000_more', 'migration.sql'), 'SELECT 1;');
      const pending = await verifyGreen(g, undefined, await readMigrationsFolder(extra), DEFAULTS);
      expect(pending.checks[0]).toEqual({
        name: 'migrations',
        status: 'failed',
        detail: '1 pending (20240301000000_more)',
      });

      writeFileSync(join(extra, '20240301000000_more', 'migration.sql'), 'SELECT 1/0;');
      await applyPendingMigrations(g, await readMigrationsFolder(extra)).catch(() => undefined);
      const broken = await verifyGreen(g, undefined, await readMigrationsFolder(extra), DEFAULTS);
      expect(broken.checks[0]?.detail).toContain('failed: 20240301000000_more');
    } finally {
      rmSync(extra, { recursive: true, force: true });
    }
  });

  it('names a missing table and missing columns', async () => {
    const { green: g } = await pair({ blue: 0, green: 0 });
    const report = await verifyGreen(g, undefined, local, {
      ...DEFAULTS,
      requiredTables: [
        { table: 'public.invoice', columns: ['id'] },
        { table: 'account', columns: ['email', 'display_name', 'tier'] },
      ],
    });
    expect(report.checks.filter((c) => c.status !== 'passed')).toEqual([
      { name: 'table:public.invoice', status: 'failed', detail: 'table missing' },
      { name: 'table:public.account', status: 'failed', detail: 'missing column(s) display_name, tier' },
    ]);
  });

  it('compares row counts exactly, or within the tolerance', async () => {
    const { blue: b, green: g } = await pair({ blue: 100, green: 97 });
    const exact = await verifyGreen(g, b, local, DEFAULTS);
    expect(failed(exact)).toEqual(['rows:public.account']);
    expect(rowsCheck(exact)?.detail).toBe(
      "green 97, blue 100: green is missing rows (at the same point of blue's history; exact)",
    );

    const tolerant = await verifyGreen(g, b, local, { ...DEFAULTS, rowCounts: { tolerance: 0.05 } });
    expect(tolerant.ok).toBe(true);
    const tight = await verifyGreen(g, b, local, { ...DEFAULTS, rowCounts: { tolerance: 0.01 } });
    expect(failed(tight)).toEqual(['rows:public.account']);
  });

  it('never passes a diverged green while blue takes writes: undecided, decided in the fenced window', async () => {
    const { database, blue: b, green: g } = await pair({ blue: 2000, green: 0 });
    await subscribeGreenToBlue(blue, green, database, {
      publication: `pub_${database}`,
      subscription: `sub_${database}`,
    });
    await eventually(async () => (await g.query('SELECT 1 FROM account')).rowCount === 2000);
    const writer = await writeToBlue(database);
    try {
      await eventually(() => Promise.resolve(writer.written() >= 200), 10_000, 10);
      const verdicts: string[] = [];
      // Green really missing 50 rows, then really holding 50 extra ones (ids far from blue's).
      await g.query('DELETE FROM account WHERE id IN (SELECT id FROM account ORDER BY id LIMIT 50)');
      for (let run = 0; run < 4; run++)
        verdicts.push(rowsCheck(await verifyGreen(g, b, local, DEFAULTS))?.status ?? '');
      await g.query(
        `INSERT INTO account (id, email) SELECT 900000000 + i, 'extra' || i || '@example.org' FROM generate_series(1, 100) AS i`,
      );
      for (let run = 0; run < 4; run++)
        verdicts.push(rowsCheck(await verifyGreen(g, b, local, DEFAULTS))?.status ?? '');
      expect(verdicts).not.toContain('passed');
      expect(verdicts).toContain('undecided');
      const report = await verifyGreen(g, b, local, DEFAULTS);
      const undecided = report.checks.find((c) => c.status === 'undecided');
      if (undecided !== undefined) {
        expect(undecided.detail).toContain('undecidable while blue takes writes');
        expect(undecided.detail).toContain("decided in the cutover's fenced window");
        expect(report.decided).toBe(false);
      }
    } finally {
      await writer.stop();
    }
    // Once blue is still, the same green fails, naming how it differs. Bounded at 30 s: green first replays the
    // writer's backlog, which takes longer than the default bound on a loaded 2-core machine.
    await eventually(
      async () => rowsCheck(await verifyGreen(g, b, local, DEFAULTS))?.status === 'failed',
      30_000,
      100,
    );
    expect(rowsCheck(await verifyGreen(g, b, local, DEFAULTS))?.detail).toMatch(
      /^green \d+, blue \d+: green holds extra rows \(at the same point of blue's history; exact\)$/,
    );
  }, 90_000);

  it('passes a replicated green that matches blue once blue is still, never while it moves', async () => {
    const { database, blue: b, green: g } = await pair({ blue: 100, green: 0 });
    await subscribeGreenToBlue(blue, green, database, {
      publication: `pub_${database}`,
      subscription: `sub_${database}`,
    });
    await eventually(async () => (await g.query('SELECT 1 FROM account')).rowCount === 100);
    const writer = await writeToBlue(database);
    let during: string | undefined;
    try {
      await eventually(() => Promise.resolve(writer.written() >= 200), 10_000, 10);
      during = rowsCheck(await verifyGreen(g, b, local, DEFAULTS))?.status;
    } finally {
      await writer.stop();
    }
    expect(during).toBe('undecided');
    // Green applies the writer's last rows at its own pace: generous on a loaded 2-core machine, still bounded.
    await eventually(async () => (await verifyGreen(g, b, local, DEFAULTS)).decided, 30_000);
    const still = await verifyGreen(g, b, local, DEFAULTS);
    expect(still).toMatchObject({ ok: true, decided: true });
    expect(rowsCheck(still)?.detail).toMatch(
      /^green (\d+), blue \1 at the same point of blue's history \(exact\)$/,
    );
  });

  it('never passes while a commit on blue waits for a synchronous standby (written, not yet visible on blue)', async () => {
    const { database, blue: b, green: g } = await pair({ blue: 100, green: 0 });
    await subscribeGreenToBlue(blue, green, database, {
      publication: `pub_${database}`,
      subscription: `sub_${database}`,
    });
    await eventually(async () => (await g.query('SELECT 1 FROM account')).rowCount === 100);
    await g.query('DELETE FROM account WHERE id = 1'); // green really misses a row
    const [admin, committer] = await Promise.all([connect(blue, 'postgres'), connect(blue, database)]);
    const check = await whileCommitWaits(
      admin,
      committer,
      "INSERT INTO account (email) VALUES ('waits@example.org')",
      async () => rowsCheck(await verifyGreen(g, b, local, DEFAULTS)),
    );
    expect(check?.status).toBe('undecided');
    expect(check?.detail).toContain(
      '1 transaction(s) on blue committed while counting but were not yet visible',
    );
    await g.query(`DROP SUBSCRIPTION sub_${database}`);
  });

  it("never decides counts as a role that cannot see other roles' sessions (their standby waits unseen)", async () => {
    const { database, green: g } = await pair({ blue: 10, green: 10 });
    const reader = `reader_${database}`;
    await execute(blue, database, `CREATE ROLE ${reader} LOGIN PASSWORD 'reader-Pw-1' NOSUPERUSER`);
    await execute(blue, database, `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${reader}`);
    const asReader = new Client({ ...blue.clientConfig(database), user: reader, password: 'reader-Pw-1' });
    open.push(asReader);
    await asReader.connect();
    const blind = rowsCheck(await verifyGreen(g, asReader, local, DEFAULTS));
    expect(blind?.status).toBe('undecided');
    expect(blind?.detail).toContain("the role verifying blue cannot see other roles' sessions");
    await execute(blue, database, `GRANT pg_read_all_stats TO ${reader}`);
    expect(rowsCheck(await verifyGreen(g, asReader, local, DEFAULTS))).toMatchObject({ status: 'passed' });
  });

  it("fails a green missing one of blue's sequences (the cutover could not carry its value)", async () => {
    const { blue: b, green: g } = await pair({ blue: 0, green: 0 });
    await b.query('CREATE SEQUENCE invoice_number_seq');
    const report = await verifyGreen(g, b, local, DEFAULTS);
    expect(report.checks.find((c) => c.name === 'sequences')).toEqual({
      name: 'sequences',
      status: 'failed',
      detail: 'missing on green, so the cutover could not carry their values: public.invoice_number_seq',
    });
  });

  it('checks logical replication lag against blue, and fails when green falls behind', async () => {
    const { database, blue: b, green: g } = await pair({ blue: 0, green: 0 });
    await subscribeGreenToBlue(blue, green, database, {
      publication: `pub_${database}`,
      subscription: `sub_${database}`,
    });
    await b.query("INSERT INTO account (email) VALUES ('live@example.org')");
    await eventually(
      async () => (await verifyGreen(g, b, local, { ...DEFAULTS, maxReplicationLagBytes: 0 })).ok,
    );
    const caughtUp = await verifyGreen(g, b, local, { ...DEFAULTS, maxReplicationLagBytes: 0 });
    expect(caughtUp.checks.find((c) => c.name === 'replication_lag')).toMatchObject({ status: 'passed' });

    await g.query(`ALTER SUBSCRIPTION sub_${database} DISABLE`);
    await b.query(
      `INSERT INTO account (email) SELECT 'late' || i || '@example.org' FROM generate_series(1, 200) AS i`,
    );
    const behind = await verifyGreen(g, b, local, { ...DEFAULTS, maxReplicationLagBytes: 1024 });
    expect(failed(behind)).toEqual(
      expect.arrayContaining(['replication_lag', 'rows:public.account']) as unknown,
    );
  });

  describe('handler', () => {
    beforeAll(() => {
      process.env.AWS_REGION = 'us-east-1';
      process.env.DB_CA_FILE = `${green.rootDir}/tls/ca.crt`;
      process.env.MIGRATIONS_DIR = EXAMPLES;
    });

    it('returns the report when green passes, and fails as VerificationFailed naming the failed checks', async () => {
      const { database } = await pair({ blue: 3, green: 2 });
      const { handler, secrets, GetSecretValue } = coldStart<(e: unknown) => Promise<VerifyReport>>(
        '../../lambdas/verify/handler',
      );
      secrets.on(GetSecretValue, { SecretId: 'green' }).resolves(databaseSecret(green, database));
      secrets.on(GetSecretValue, { SecretId: 'blue' }).resolves(databaseSecret(blue, database));

      const ok = await handler({
        green: { secretId: 'green' },
        blue: { secretId: 'blue' },
        rowCounts: { tolerance: 0.5 },
      });
      expect(ok.ok).toBe(true);

      const error = (await handler({ green: { secretId: 'green' }, blue: { secretId: 'blue' } }).catch(
        (e: unknown) => e,
      )) as Error;
      expect(error.name).toBe('VerificationFailed');
      expect(error.message).toBe(
        "1 of 4 checks failed: rows:public.account (green 2, blue 3: green is missing rows (at the same point of blue's history; exact))",
      );
    });

    it('rejects hostile table names before connecting', async () => {
      const { handler, secrets } = coldStart<(e: unknown) => Promise<VerifyReport>>(
        '../../lambdas/verify/handler',
      );
      const error = (await handler({
        green: { secretId: 'g' },
        requiredTables: [{ table: 'a; DROP TABLE b', columns: [] }],
      }).catch((e: unknown) => e)) as Error;
      expect(error.name).toBe('InvalidInput');
      expect(error.message).toContain('requiredTables.0.table must be table or schema.table');
      expect(secrets.calls()).toHaveLength(0);
    });
  });
});

// Both majors the tests run: the check reads snapshots and transaction status with functions of PostgreSQL 13+.
const MAJOR_VERSIONS: { label: string; majorVersion?: typeof DUMPABLE_MAJOR_VERSION }[] = [
  { label: 'the default PostgreSQL' },
  { label: `PostgreSQL ${DUMPABLE_MAJOR_VERSION}`, majorVersion: DUMPABLE_MAJOR_VERSION },
];
describe.each(MAJOR_VERSIONS)(
  'committedUnseen on $label: commits a count snapshot did not see',
  ({ majorVersion }) => {
    let server: PostgresServer;
    const open: Client[] = [];
    beforeAll(async () => {
      server = await PostgresServer.start({ name: 'verify-unseen', majorVersion, settings: NO_STANDBY });
      await execute(server, 'postgres', 'CREATE TABLE item (id serial PRIMARY KEY, label text NOT NULL)');
    });
    afterAll(async () => {
      await Promise.all(open.map((c) => c.end().catch(() => undefined)));
      await server.destroy();
    });
    async function connect(): Promise<Client> {
      const client = new Client(server.clientConfig('postgres'));
      open.push(client);
      await client.connect();
      return client;
    }
    const snapshotOf = async (client: Client) =>
      (await client.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s')).rows[0]?.s ?? '';
    const insert = (client: Client, label: string) =>
      client.query('INSERT INTO item (label) VALUES ($1)', [label]);

    it('counts a transaction in progress at the snapshot that commits later, not one that aborts', async () => {
      const [observer, committing, aborting] = await Promise.all([connect(), connect(), connect()]);
      for (const writer of [committing, aborting]) {
        await writer.query('BEGIN');
        await insert(writer, 'open');
      }
      const snapshot = await snapshotOf(observer);
      expect(await committedUnseen(observer, snapshot)).toBe(0); // both still open: nothing unseen has committed
      await aborting.query('ROLLBACK');
      expect(await committedUnseen(observer, snapshot)).toBe(0);
      await committing.query('COMMIT');
      expect(await committedUnseen(observer, snapshot)).toBe(1);
      expect(await committedUnseen(observer, await snapshotOf(observer))).toBe(0); // a later snapshot sees it
    });

    it('counts a transaction that began after the snapshot (an id at or past its xmax) once it commits', async () => {
      const [observer, writer] = await Promise.all([connect(), connect()]);
      const snapshot = await snapshotOf(observer);
      await writer.query('BEGIN');
      await insert(writer, 'later');
      expect(await committedUnseen(observer, snapshot)).toBe(0);
      await writer.query('COMMIT');
      await insert(writer, 'later, autocommit');
      expect(await committedUnseen(observer, snapshot)).toBe(2);
    });

    it('counts a commit waiting for a synchronous standby, while it waits', async () => {
      const [observer, admin, committer] = await Promise.all([connect(), connect(), connect()]);
      await committer.query('BEGIN');
      await insert(committer, 'waits');
      const snapshot = await snapshotOf(observer);
      const counted = await whileCommitWaits(admin, committer, 'COMMIT', () =>
        committedUnseen(observer, snapshot),
      );
      expect(counted).toBe(1);
    });

    it(`gives up past ${UNSEEN_XID_LIMIT} transaction ids assigned since the snapshot`, async () => {
      const [observer, writer] = await Promise.all([connect(), connect()]);
      const snapshot = await snapshotOf(observer);
      // Each block with a write is a subtransaction with its own id: one statement assigns more than the limit.
      await writer.query(`DO $$ BEGIN
      FOR i IN 1..${UNSEEN_XID_LIMIT + 1} LOOP
        BEGIN INSERT INTO item (label) VALUES ('sub ' || i); EXCEPTION WHEN OTHERS THEN NULL; END;
      END LOOP; END $$`);
      expect(await committedUnseen(observer, snapshot)).toBe('too many');
    });
  },
);
