import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder, type LocalMigration } from '../../lambdas/migrations/folder';
import type { VerifyReport } from '../../lambdas/verify/verify';
import { verifyGreen, type VerifyOptions } from '../../lambdas/verify/verify';
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

describe('verify step against real PostgreSQL', () => {
  let blue: PostgresServer;
  let green: PostgresServer;
  let local: LocalMigration[];
  let counter = 0;
  const open: Client[] = [];

  beforeAll(async () => {
    [blue, green] = await Promise.all([
      PostgresServer.start({ name: 'verify-blue', settings: { wal_level: 'logical' } }),
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

  const failed = (report: VerifyReport) => report.checks.filter((c) => !c.ok).map((c) => c.name);

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
        ok: false,
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
    expect(report.checks.filter((c) => !c.ok)).toEqual([
      { name: 'table:public.invoice', ok: false, detail: 'table missing' },
      { name: 'table:public.account', ok: false, detail: 'missing column(s) display_name, tier' },
    ]);
  });

  it('compares row counts exactly, or within the tolerance', async () => {
    const { blue: b, green: g } = await pair({ blue: 100, green: 97 });
    const exact = await verifyGreen(g, b, local, DEFAULTS);
    expect(failed(exact)).toEqual(['rows:public.account']);
    expect(exact.checks.find((c) => c.name === 'rows:public.account')?.detail).toBe(
      'green 97, blue 100 (must match exactly)',
    );

    const tolerant = await verifyGreen(g, b, local, { ...DEFAULTS, rowCounts: { tolerance: 0.05 } });
    expect(tolerant.ok).toBe(true);
    const tight = await verifyGreen(g, b, local, { ...DEFAULTS, rowCounts: { tolerance: 0.01 } });
    expect(failed(tight)).toEqual(['rows:public.account']);
  });

  it('matches row counts while blue keeps taking writes (green counted between two counts of blue, with room for its lag)', async () => {
    const { database, blue: b, green: g } = await pair({ blue: 50, green: 0 });
    await subscribeGreenToBlue(blue, green, database, {
      publication: `pub_${database}`,
      subscription: `sub_${database}`,
    });
    await eventually(async () => (await g.query('SELECT 1 FROM account')).rowCount === 50);
    // Two sessions writing back to back for as long as verification runs (bounded).
    const writers = await Promise.all([connect(blue, database), connect(blue, database)]);
    const control = { done: false };
    const writing = writers.map(async (writer, w) => {
      for (let i = 0; i < 20_000 && !control.done; i++)
        await writer.query('INSERT INTO account (email) VALUES ($1)', [`busy${w}-${i}@example.org`]);
    });
    const reports: VerifyReport[] = [];
    for (let run = 0; run < 5; run++) reports.push(await verifyGreen(g, b, local, DEFAULTS));
    control.done = true;
    await Promise.all(writing);
    for (const report of reports)
      expect(report.checks.find((c) => c.name === 'rows:public.account')).toMatchObject({ ok: true });
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
    expect(caughtUp.checks.find((c) => c.name === 'replication_lag')).toMatchObject({ ok: true });

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
        '1 of 3 checks failed: rows:public.account (green 2, blue 3 (must match exactly))',
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
