import { join } from 'node:path';
import { Client } from 'pg';
import { PLAUSIBLE_ROWS } from '../../lambdas/backups/restored-content';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import { checkRestoredInstance, readReference } from '../../lambdas/restore-test/check';
import type { SecretVersions } from '../../lambdas/shared/secret-versions';
import type { ConnectionSettings, DatabaseRef, ResolveDatabase } from '../../lambdas/shared/database';
import { dumpConnection } from '../../lib/rehearsal/backup-restore';
import { PostgresServer } from '../support/postgres';
import { execute } from '../support/replication';

const EXAMPLES = join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');

/**
 * The physical restore test's check on real PostgreSQL: one server holds the "live copy" the check compares
 * with and each "restored instance" (a database of its own), as the DR replica and the throwaway instance
 * would be. The secrets are resolvers: AWSCURRENT and AWSPREVIOUS of the source's secret.
 */
describe('the restore test’s check of a restored instance', () => {
  let server: PostgresServer;
  let migrations: Awaited<ReturnType<typeof readMigrationsFolder>>;
  let databases = 0;

  /** A database with the first `applied` migrations and `accounts` rows in account, analyzed as autovacuum would. */
  async function database(applied: number, accounts: number, prepare?: (c: Client) => Promise<void>) {
    const name = `restore_${++databases}`;
    await execute(server, 'postgres', `CREATE DATABASE ${name}`);
    const client = new Client(server.clientConfig(name));
    await client.connect();
    try {
      await applyPendingMigrations(client, migrations.slice(0, applied));
      await client.query(
        "INSERT INTO account (email) SELECT 'u' || g || '@example.org' FROM generate_series(1, $1::int) AS g",
        [accounts],
      );
      await prepare?.(client);
      await client.query('ANALYZE');
    } finally {
      await client.end();
    }
    return name;
  }

  const settings = (name: string, password = server.password): ConnectionSettings => ({
    ...dumpConnection(server, name).settings,
    password,
  });
  /** A resolver that opens the database a reference names (its `database`) with `password`. */
  const resolver =
    (password: string): ResolveDatabase =>
    (ref: DatabaseRef) =>
      Promise.resolve(settings(ref.database ?? 'postgres', password));
  const secrets = (current = server.password, previous = server.password): SecretVersions => ({
    current: resolver(current),
    previous: resolver(previous),
  });
  const ref = (name: string): DatabaseRef => ({ secretId: 'pg-dr/postgres-master', database: name });
  const live = (name: string) =>
    readReference(resolver(server.password), { name: 'the DR replica', ref: ref(name) });

  beforeAll(async () => {
    server = await PostgresServer.start({ name: 'restore-check' });
    migrations = await readMigrationsFolder(EXAMPLES);
  }, 60_000);
  afterAll(async () => {
    await server.destroy();
  });

  it('passes a restore that holds what the live copy holds: connects, the same migrations, plausible rows, the smoke query', async () => {
    const replica = await database(3, 5000);
    const restored = await database(3, 5000);
    const report = await checkRestoredInstance(secrets(), ref(restored), await live(replica));
    expect(report.checks.map((c) => [c.name, c.passed])).toEqual([
      ['connects', true],
      ['reference', true],
      ['migrations', true],
      ['rows', true],
      ['smoke query', true],
    ]);
    expect(report.ok).toBe(true);
    expect(report.checks[0]?.detail).toContain('AWSCURRENT');
  });

  it('accepts a restore minutes older than the live copy: an earlier prefix of its migrations, a few rows fewer', async () => {
    const replica = await database(3, 5400);
    const restored = await database(2, 5000);
    const report = await checkRestoredInstance(secrets(), ref(restored), await live(replica));
    expect(report.ok).toBe(true);
    expect(report.checks.find((c) => c.name === 'migrations')?.detail).toMatch(
      /2 applied migrations, the first of the 3/,
    );
  });

  it('does not count a table missing when a migration applied since the restore point created it', async () => {
    const replica = await database(3, 1000, async (c) => {
      await c.query('CREATE TABLE audit (id bigint PRIMARY KEY)');
    });
    const restored = await database(2, 1000);
    const report = await checkRestoredInstance(secrets(), ref(restored), await live(replica));
    expect(report.ok).toBe(true);
    expect(report.checks.find((c) => c.name === 'rows')?.detail).toMatch(
      /\(1 table\(s\) of later migrations not restored yet\)$/,
    );
  });

  it('leaves a restored instance it cannot reach at all to the workflow’s retry (the step fails), not a failed check', async () => {
    const replica = await database(3, 100);
    const nowhere: ResolveDatabase = () => Promise.resolve({ ...settings('postgres'), port: 1 });
    await expect(
      checkRestoredInstance({ current: nowhere, previous: nowhere }, ref('postgres'), await live(replica)),
    ).rejects.toMatchObject({ kind: 'unreachable' });
  });

  it('fails a restore that lost a table or most of a table’s rows, naming the table', async () => {
    const replica = await database(3, 20_000);
    const restored = await database(3, 2_000, async (c) => {
      await c.query('DROP TABLE "order"');
    });
    const report = await checkRestoredInstance(secrets(), ref(restored), await live(replica));
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'rows')).toMatchObject({
      passed: false,
      detail: 'missing table(s) public.order',
    });
    const thin = await database(3, 2_000);
    const rows = (await checkRestoredInstance(secrets(), ref(thin), await live(replica))).checks.find(
      (c) => c.name === 'rows',
    );
    expect(rows).toMatchObject({ passed: false });
    expect(rows?.detail).toMatch(/^public\.account: 2000 rows, the DR replica estimates 20000$/);
    // The bound is stated once: half the estimate, or 1,000 rows for a small table.
    expect(PLAUSIBLE_ROWS).toEqual({ fraction: 0.5, floor: 1000 });
  });

  it('fails a restore whose migrations are not the live copy’s (not a prefix of them)', async () => {
    const replica = await database(2, 100);
    const restored = await database(3, 100);
    const report = await checkRestoredInstance(secrets(), ref(restored), await live(replica));
    expect(report.checks.find((c) => c.name === 'migrations')).toMatchObject({ passed: false });
  });

  it('opens a restore from before a rotation with the secret’s previous version, and fails to connect when neither opens it', async () => {
    const replica = await database(3, 100);
    const restored = await database(3, 100);
    const rotated = await checkRestoredInstance(
      secrets('rotated-since', server.password),
      ref(restored),
      await live(replica),
    );
    expect(rotated.ok).toBe(true);
    expect(rotated.checks[0]?.detail).toContain('AWSPREVIOUS');
    const neither = await checkRestoredInstance(
      secrets('wrong-1', 'wrong-2'),
      ref(restored),
      await live(replica),
    );
    expect(neither).toEqual({
      ok: false,
      checks: [
        { name: 'connects', passed: false, detail: expect.stringMatching(/^auth_failed: /) as string },
      ],
    });
    expect(JSON.stringify(neither)).not.toContain('wrong-');
  });

  it('checks what it can when the live copy cannot be read, and says so', async () => {
    const restored = await database(3, 100);
    const reference = await readReference(resolver('not-the-password'), {
      name: 'the DR replica',
      ref: ref(restored),
    });
    expect(reference.expected).toBeUndefined();
    expect(reference.note).toMatch(/^the DR replica could not be read \(.*\): nothing to compare with$/);
    const report = await checkRestoredInstance(secrets(), ref(restored), reference);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(['connects', 'reference', 'content', 'smoke query']);
    expect(report.checks.find((c) => c.name === 'content')?.detail).toBe(
      // account, order and _prisma_migrations; 100 accounts and the 3 migrations' rows.
      '3 applied migrations, 3 tables, 103 rows (no reference to compare with)',
    );
  });
});
