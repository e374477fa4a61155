import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  applyPendingMigrations,
  markMigrationApplied,
  markMigrationRolledBack,
  MigrationsError,
  planMigrations,
} from '../../../lambdas/migrations/engine';
import { MigrationsFolderError, readMigrationsFolder } from '../../../lambdas/migrations/folder';
import { PostgresServer } from '../../support/postgres';

interface Row {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

describe('Prisma-compatible migration engine against real PostgreSQL', () => {
  let server: PostgresServer;
  let folders: string;
  const clients: Client[] = [];
  let databaseCounter = 0;

  beforeAll(async () => {
    // Prepared transactions enabled, so scripts that prepare or finish one can be tried.
    server = await PostgresServer.start({ name: 'migrations', settings: { max_prepared_transactions: '4' } });
    folders = mkdtempSync(join(tmpdir(), 'pg-dr-migrations-'));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await server.destroy();
    rmSync(folders, { recursive: true, force: true });
  });

  /** A fresh database and a connection to it. */
  async function freshDatabase(): Promise<{ client: Client; database: string }> {
    const database = `m${++databaseCounter}`;
    const admin = new Client(server.clientConfig());
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    return { client: await connect(database), database };
  }

  async function connect(database: string): Promise<Client> {
    const client = new Client(server.clientConfig(database));
    clients.push(client);
    await client.connect();
    return client;
  }

  /** Writes a migrations folder (name -> SQL) and returns its path. */
  function folder(migrations: Record<string, string>, extraFiles: Record<string, string> = {}): string {
    const dir = mkdtempSync(join(folders, 'set-'));
    for (const [name, sql] of Object.entries(migrations)) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'migration.sql'), sql);
    }
    for (const [name, content] of Object.entries(extraFiles)) writeFileSync(join(dir, name), content);
    return dir;
  }

  const rows = async (client: Client) =>
    (await client.query<Row>('SELECT * FROM _prisma_migrations ORDER BY started_at, migration_name')).rows;

  const INIT = 'CREATE TABLE account (id bigserial PRIMARY KEY, email text NOT NULL);\n';
  const ADD_NAME = 'ALTER TABLE account ADD COLUMN name text;\n';

  it('applies every migration to an empty database with exactly Prisma bookkeeping', async () => {
    const { client } = await freshDatabase();
    const dir = folder(
      { '20240101000000_init': INIT, '20240102000000_add_name': ADD_NAME },
      { 'migration_lock.toml': 'provider = "postgresql"' },
    );
    const local = await readMigrationsFolder(dir);

    const result = await applyPendingMigrations(client, local);

    expect(result.applied.map((a) => a.name)).toEqual(['20240101000000_init', '20240102000000_add_name']);
    const columns = await client.query<{
      column_name: string;
      data_type: string;
      character_maximum_length: number | null;
      is_nullable: string;
      column_default: string | null;
    }>(
      `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
         FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns.rows).toEqual([
      {
        column_name: 'id',
        data_type: 'character varying',
        character_maximum_length: 36,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'checksum',
        data_type: 'character varying',
        character_maximum_length: 64,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'finished_at',
        data_type: 'timestamp with time zone',
        character_maximum_length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'migration_name',
        data_type: 'character varying',
        character_maximum_length: 255,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'logs',
        data_type: 'text',
        character_maximum_length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'rolled_back_at',
        data_type: 'timestamp with time zone',
        character_maximum_length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'started_at',
        data_type: 'timestamp with time zone',
        character_maximum_length: null,
        is_nullable: 'NO',
        column_default: 'now()',
      },
      {
        column_name: 'applied_steps_count',
        data_type: 'integer',
        character_maximum_length: null,
        is_nullable: 'NO',
        column_default: '0',
      },
    ]);
    const recorded = await rows(client);
    expect(recorded.map((r) => r.migration_name)).toEqual(['20240101000000_init', '20240102000000_add_name']);
    for (const [row, sql] of [
      [recorded[0], INIT],
      [recorded[1], ADD_NAME],
    ] as const) {
      expect(row?.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row?.finished_at).toBeInstanceOf(Date);
      expect(row?.applied_steps_count).toBe(1);
      expect(row?.logs).toBeNull();
      expect(row?.rolled_back_at).toBeNull();
    }
    await client.query("INSERT INTO account (email, name) VALUES ('a@example.org', 'A')");
  });

  it('does nothing on a second run', async () => {
    const { client } = await freshDatabase();
    const local = await readMigrationsFolder(folder({ '1_init': INIT, '2_add_name': ADD_NAME }));
    await applyPendingMigrations(client, local);
    const before = await rows(client);

    const again = await applyPendingMigrations(client, local);

    expect(again.applied).toEqual([]);
    expect(again.plan.pending).toEqual([]);
    expect(await rows(client)).toEqual(before);
  });

  it('records a failing migration like Prisma, stops there, and blocks the next run until resolved', async () => {
    const { client } = await freshDatabase();
    const broken = 'ALTER TABLE missing_table ADD COLUMN x int;\n';
    const dir = folder({ '1_init': INIT, '2_broken': broken, '3_add_name': ADD_NAME });

    const failure = await applyPendingMigrations(client, await readMigrationsFolder(dir)).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(MigrationsError);
    expect(failure).toMatchObject({ code: 'P3018', migration: '2_broken' });

    const recorded = await rows(client);
    expect(recorded.map((r) => [r.migration_name, r.finished_at === null, r.applied_steps_count])).toEqual([
      ['1_init', false, 1],
      ['2_broken', true, 0],
    ]);
    expect(recorded[1]?.logs).toContain('Database error code: 42P01');
    expect(recorded[1]?.logs).toContain('relation "missing_table" does not exist');

    // The next run refuses before touching anything, and says how to get out.
    const refusal = await applyPendingMigrations(client, await readMigrationsFolder(dir)).catch(
      (e: unknown) => e,
    );
    expect(refusal).toMatchObject({ code: 'P3009', migration: '2_broken' });
    expect((refusal as Error).message).toContain('dr migrations resolve --applied 2_broken');
    expect((refusal as Error).message).toContain('--rolled-back 2_broken');
    expect(await rows(client)).toHaveLength(2);
    const plan = await planMigrations(client, await readMigrationsFolder(dir));
    expect(plan).toMatchObject({
      blocked: true,
      failed: [{ name: '2_broken' }],
      pending: ['3_add_name'], // Prisma: a failed row is not pending; it blocks until resolved
    });

    // Fixed file + rolled back: deploy runs it again, then the rest.
    writeFileSync(join(dir, '2_broken', 'migration.sql'), 'ALTER TABLE account ADD COLUMN x int;\n');
    await markMigrationRolledBack(client, '2_broken');
    const resumed = await applyPendingMigrations(client, await readMigrationsFolder(dir));
    expect(resumed.applied.map((a) => a.name)).toEqual(['2_broken', '3_add_name']);
    const after = await rows(client);
    expect(
      after
        .filter((r) => r.migration_name === '2_broken')
        .map((r) => [r.rolled_back_at !== null, r.finished_at !== null]),
    ).toEqual([
      [true, false],
      [false, true],
    ]);
  });

  it('resolves a failed migration as applied: the failed row rolled back, a new finished row', async () => {
    const { client } = await freshDatabase();
    const dir = folder({ '1_init': INIT, '2_broken': 'SELECT 1/0;\n' });
    await applyPendingMigrations(client, await readMigrationsFolder(dir)).catch(() => undefined);

    await markMigrationApplied(client, await readMigrationsFolder(dir), '2_broken');

    const recorded = (await rows(client)).filter((r) => r.migration_name === '2_broken');
    expect(recorded).toHaveLength(2);
    expect(recorded[0]).toMatchObject({ finished_at: null, applied_steps_count: 0 });
    expect(recorded[0]?.rolled_back_at).toBeInstanceOf(Date);
    expect(recorded[1]?.finished_at).toBeInstanceOf(Date);
    expect(recorded[1]?.rolled_back_at).toBeNull();
    expect((await planMigrations(client, await readMigrationsFolder(dir))).pending).toEqual([]);

    await expect(
      markMigrationApplied(client, await readMigrationsFolder(dir), '2_broken'),
    ).rejects.toMatchObject({ code: 'P3008' });
    await expect(markMigrationRolledBack(client, '1_init')).rejects.toMatchObject({ code: 'P3012' });
    await expect(markMigrationRolledBack(client, '9_never')).rejects.toMatchObject({ code: 'P3011' });
    await expect(
      markMigrationApplied(client, await readMigrationsFolder(dir), '9_never'),
    ).rejects.toMatchObject({ code: 'P3017' });
  });

  it('serializes concurrent runs on the advisory lock: every migration applied exactly once', async () => {
    const { database } = await freshDatabase();
    const dir = folder({
      '1_init': INIT,
      '2_slow': 'SELECT pg_sleep(0.4);\nALTER TABLE account ADD COLUMN slow int;\n',
      '3_add_name': ADD_NAME,
    });
    const local = await readMigrationsFolder(dir);
    const [a, b] = await Promise.all([connect(database), connect(database)]);

    const results = await Promise.all([applyPendingMigrations(a, local), applyPendingMigrations(b, local)]);

    const appliedNames = results.flatMap((r) => r.applied.map((x) => x.name)).sort();
    expect(appliedNames).toEqual(['1_init', '2_slow', '3_add_name']);
    expect((await rows(a)).map((r) => r.migration_name)).toEqual(['1_init', '2_slow', '3_add_name']);
  });

  it('gives up waiting for the lock after the lock timeout with Prisma P1002', async () => {
    const { client, database } = await freshDatabase();
    const holder = await connect(database);
    await holder.query('SELECT pg_advisory_lock(72707369)');
    try {
      const error = await applyPendingMigrations(
        client,
        await readMigrationsFolder(folder({ '1_init': INIT })),
        {
          lockTimeoutMs: 300,
        },
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'P1002' });
      expect((error as Error).message).toContain('another migration is running');
    } finally {
      await holder.query('SELECT pg_advisory_unlock(72707369)');
    }
  });

  it('treats a file that differs only in CRLF line endings as unchanged', async () => {
    const { client } = await freshDatabase();
    const dir = folder({ '1_init': INIT, '2_add_name': ADD_NAME });
    await applyPendingMigrations(client, await readMigrationsFolder(dir));

    writeFileSync(join(dir, '1_init', 'migration.sql'), INIT.replace(/\n/g, '\r\n'));
    const plan = await planMigrations(client, await readMigrationsFolder(dir));

    expect(plan).toMatchObject({ pending: [], drift: [], blocked: false });
  });

  it('reports an edited applied migration as drift and never re-applies it', async () => {
    const { client } = await freshDatabase();
    const dir = folder({ '1_init': INIT });
    await applyPendingMigrations(client, await readMigrationsFolder(dir));

    writeFileSync(join(dir, '1_init', 'migration.sql'), `${INIT}CREATE TABLE sneaky (id int);\n`);
    const result = await applyPendingMigrations(client, await readMigrationsFolder(dir));

    expect(result.plan.drift).toEqual([{ name: '1_init', reason: 'modified' }]);
    expect(result.applied).toEqual([]);
    const sneaky = await client.query<{ exists: boolean }>(
      "SELECT to_regclass('sneaky') IS NOT NULL AS exists",
    );
    expect(sneaky.rows[0]?.exists).toBe(false);
  });

  it('reports an applied migration whose folder is gone', async () => {
    const { client } = await freshDatabase();
    await applyPendingMigrations(client, await readMigrationsFolder(folder({ '1_init': INIT })));
    const plan = await planMigrations(client, await readMigrationsFolder(folder({ '2_other': 'SELECT 1;' })));
    expect(plan.drift).toEqual([{ name: '1_init', reason: 'missing_locally' }]);
    expect(plan.pending).toEqual(['2_other']);
  });

  it('runs a file with its own BEGIN/COMMIT, and a lone CREATE INDEX CONCURRENTLY', async () => {
    const { client } = await freshDatabase();
    const dir = folder({
      '1_init': INIT,
      '2_explicit_tx':
        'BEGIN;\nALTER TABLE account ADD COLUMN name text;\nUPDATE account SET name = email;\nCOMMIT;\n',
      '3_concurrent_index':
        '-- Built without locking writes\nCREATE INDEX CONCURRENTLY account_email_idx ON account (email);\n',
      '4_vacuum': 'VACUUM account;\n',
      '5_after': 'ALTER TABLE account ADD COLUMN nickname text;\n',
    });

    const result = await applyPendingMigrations(client, await readMigrationsFolder(dir));

    expect(result.applied).toHaveLength(5);
    expect(
      (await rows(client)).map((r) => [r.migration_name, r.finished_at !== null, r.applied_steps_count]),
    ).toEqual([
      ['1_init', true, 1],
      ['2_explicit_tx', true, 1],
      ['3_concurrent_index', true, 1],
      ['4_vacuum', true, 1],
      ['5_after', true, 1],
    ]);
    const index = await client.query<{ indisvalid: boolean }>(
      "SELECT indisvalid FROM pg_index WHERE indexrelid = 'account_email_idx'::regclass",
    );
    expect(index.rows[0]?.indisvalid).toBe(true);
  });

  it('sends each script alone, as Prisma does: its SET LOCAL ends with it, its side effects run once', async () => {
    const { client } = await freshDatabase();
    await client.query('CREATE ROLE migration_reader NOLOGIN');
    await client.query('GRANT CREATE, USAGE ON SCHEMA public TO migration_reader');
    const dir = folder({
      '0_sequence': 'CREATE SEQUENCE ticks;\n',
      // A transaction-local role that may not write the migrations table, then a read-only transaction: both
      // end with the script's own transaction, before the engine records anything.
      '1_local_role': 'SET LOCAL ROLE migration_reader;\nCREATE TABLE made_by_reader (a int);\n',
      '2_read_only': 'SET TRANSACTION READ ONLY;\nSELECT 1;\n',
      // A procedure-style block that commits: it cannot run inside a transaction block, and its nextval must
      // run exactly once.
      '3_commits': "DO $$ BEGIN PERFORM nextval('ticks'); COMMIT; END $$;\n",
      '4_after': 'CREATE TABLE after_all (a int);\n',
    });

    const result = await applyPendingMigrations(client, await readMigrationsFolder(dir));

    expect(result.applied.map((a) => a.name)).toEqual([
      '0_sequence',
      '1_local_role',
      '2_read_only',
      '3_commits',
      '4_after',
    ]);
    expect((await rows(client)).every((r) => r.finished_at !== null && r.applied_steps_count === 1)).toBe(
      true,
    );
    const ticks = await client.query<{ last_value: string }>('SELECT last_value FROM ticks');
    expect(ticks.rows[0]?.last_value).toBe('1');
    await client.query('DROP TABLE made_by_reader');
    await client.query('REVOKE ALL ON SCHEMA public FROM migration_reader');
    await client.query('DROP ROLE migration_reader');
  });

  it('rolls back a failing file with its own BEGIN and still records the failure', async () => {
    const { client } = await freshDatabase();
    const dir = folder({
      '1_init': INIT,
      '2_explicit_tx_broken': 'BEGIN;\nALTER TABLE account ADD COLUMN half int;\nSELECT 1/0;\nCOMMIT;\n',
    });
    await expect(applyPendingMigrations(client, await readMigrationsFolder(dir))).rejects.toMatchObject({
      code: 'P3018',
    });
    const half = await client.query(
      "SELECT 1 FROM information_schema.columns WHERE table_name = 'account' AND column_name = 'half'",
    );
    expect(half.rowCount).toBe(0);
    expect((await rows(client)).find((r) => r.migration_name === '2_explicit_tx_broken')?.logs).toContain(
      '22012',
    );
  });

  it('plans without writing anything, not even the migrations table', async () => {
    const { client } = await freshDatabase();
    const plan = await planMigrations(
      client,
      await readMigrationsFolder(folder({ '2_b': 'SELECT 1;', '1_a': INIT })),
    );
    expect(plan).toEqual({
      pending: ['1_a', '2_b'],
      applied: [],
      failed: [],
      running: [],
      drift: [],
      blocked: false,
    });
    const exists = await client.query<{ exists: boolean }>(
      "SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists",
    );
    expect(exists.rows[0]?.exists).toBe(false);
  });

  it('applies into the configured schema, like Prisma ?schema=', async () => {
    const { client } = await freshDatabase();
    await applyPendingMigrations(client, await readMigrationsFolder(folder({ '1_init': INIT })), {
      schema: 'tenant',
    });
    const { rows: found } = await client.query<{ account: boolean; migrations: boolean }>(
      "SELECT to_regclass('tenant.account') IS NOT NULL AS account, to_regclass('tenant._prisma_migrations') IS NOT NULL AS migrations",
    );
    expect(found[0]).toEqual({ account: true, migrations: true });
  });

  /** Applies a folder, expecting Prisma's P3018, and returns the failed row. */
  async function expectFailedMigration(client: Client, migrations: Record<string, string>, name: string) {
    const failure = await applyPendingMigrations(
      client,
      await readMigrationsFolder(folder(migrations)),
    ).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(MigrationsError);
    expect(failure).toMatchObject({ code: 'P3018', migration: name });
    const row = (await rows(client)).find((r) => r.migration_name === name);
    expect(row?.finished_at).toBeNull();
    expect(row?.logs).toEqual(expect.any(String));
    return { failure: failure as MigrationsError, row: row as Row };
  }

  it('fails a file that leaves its transaction open (nothing was committed) instead of calling it applied', async () => {
    const { client, database } = await freshDatabase();
    const { failure, row } = await expectFailedMigration(
      client,
      { '1_open': 'BEGIN;\nCREATE TABLE left_open (a int);\n', '2_never': 'CREATE TABLE never (a int);\n' },
      '1_open',
    );
    expect((await rows(client)).map((r) => r.migration_name)).toEqual(['1_open']);
    expect(failure.message).toContain('left a transaction open');
    expect(row.logs).toContain('left a transaction open');
    // The session is idle again and the table never existed, seen from another session too.
    expect(client.getTransactionStatus()).toBe('I');
    const other = await connect(database);
    const { rows: found } = await other.query<{ exists: boolean }>(
      "SELECT to_regclass('left_open') IS NOT NULL AS exists",
    );
    expect(found[0]?.exists).toBe(false);
    expect((await planMigrations(other, [])).failed.map((f) => f.name)).toEqual(['1_open']);
  });

  it('says what stays when a failing file committed part of its work before the open transaction', async () => {
    const { client } = await freshDatabase();
    const { failure, row } = await expectFailedMigration(
      client,
      {
        '1_half':
          'BEGIN;\nCREATE TABLE half_kept (a int);\nCOMMIT;\nBEGIN;\nCREATE TABLE half_open (a int);\n',
      },
      '1_half',
    );
    for (const text of [failure.message, row.logs ?? '']) {
      expect(text).toContain('that transaction was rolled back');
      expect(text).toContain('what the script committed before it stays');
      expect(text).not.toContain('nothing');
    }
    const tables = await client.query<{ relname: string }>(
      "SELECT relname FROM pg_class WHERE relname IN ('half_kept', 'half_open') ORDER BY relname",
    );
    expect(tables.rows.map((r) => r.relname)).toEqual(['half_kept']);
  });

  it('fails a file that rolls back its own work, but runs one that rolls back to a savepoint', async () => {
    const { client } = await freshDatabase();
    const { row } = await expectFailedMigration(
      client,
      {
        '1_savepoint':
          'BEGIN;\nSAVEPOINT s;\nCREATE TABLE undone (a int);\nROLLBACK TO SAVEPOINT s;\nCREATE TABLE kept (a int);\nCOMMIT;\n',
        '2_rollback': 'BEGIN;\nCREATE TABLE discarded (a int);\nROLLBACK;\n',
        '3_never': 'CREATE TABLE never (a int);\n',
      },
      '2_rollback',
    );
    // The marks sent along with the script committed after its ROLLBACK: undone, and the next row gone.
    expect((await rows(client)).map((r) => [r.migration_name, r.applied_steps_count])).toEqual([
      ['1_savepoint', 1],
      ['2_rollback', 0],
    ]);
    expect(row.logs).toContain('ROLLBACK');
    const { rows: found } = await client.query<{ kept: boolean; undone: boolean; discarded: boolean }>(
      `SELECT to_regclass('kept') IS NOT NULL AS kept, to_regclass('undone') IS NOT NULL AS undone,
              to_regclass('discarded') IS NOT NULL AS discarded`,
    );
    expect(found[0]).toEqual({ kept: true, undone: false, discarded: false });
    expect((await rows(client)).find((r) => r.migration_name === '1_savepoint')?.finished_at).not.toBeNull();
  });

  it('fails a file whose plain ROLLBACK after a SAVEPOINT discards the whole transaction', async () => {
    const { client } = await freshDatabase();
    const { row } = await expectFailedMigration(
      client,
      { '1_savepoint_then_rollback': 'BEGIN;\nSAVEPOINT s;\nCREATE TABLE gone (a int);\nROLLBACK;\n' },
      '1_savepoint_then_rollback',
    );
    expect(row.logs).toContain('the script ran ROLLBACK');
    const { rows: found } = await client.query<{ gone: boolean }>(
      "SELECT to_regclass('gone') IS NOT NULL AS gone",
    );
    expect(found[0]?.gone).toBe(false);
  });

  it('reads transaction control as the server does: not in strings, comments, bodies or BEGIN ATOMIC', async () => {
    const { client } = await freshDatabase();
    const script = [
      'CREATE TABLE notes (body text);',
      "INSERT INTO notes VALUES ('ROLLBACK;'), (E'it\\'s; ROLLBACK;'); -- ROLLBACK;",
      '/* ROLLBACK; /* nested */ ROLLBACK; */',
      'CREATE FUNCTION undo() RETURNS void LANGUAGE plpgsql AS $body$ BEGIN ROLLBACK; END $body$;',
      'CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN x > 0 THEN x * 2 END; END;',
      'BEGIN;',
      'CREATE TABLE "ROLLBACK" (a int);',
      'COMMIT;',
      '',
    ].join('\n');
    const { applied } = await applyPendingMigrations(
      client,
      await readMigrationsFolder(folder({ '1_lookalikes': script })),
    );
    expect(applied.map((a) => a.name)).toEqual(['1_lookalikes']);
    const { rows: found } = await client.query<{ n: number; f: boolean }>(
      `SELECT (SELECT count(*)::int FROM notes) AS n, to_regprocedure('twice(int)') IS NOT NULL AS f`,
    );
    expect(found[0]).toEqual({ n: 2, f: true });
  });

  it('fails a file that prepares its transaction (work neither committed nor discarded), naming it', async () => {
    const { client, database } = await freshDatabase();
    const { failure } = await expectFailedMigration(
      client,
      { '1_prepared': "BEGIN;\nCREATE TABLE pending_work (a int);\nPREPARE TRANSACTION 'mig-1';\n" },
      '1_prepared',
    );
    expect(failure.message).toContain('PREPARE TRANSACTION');
    expect(failure.message).toContain('mig-1');
    const other = await connect(database);
    await other.query("ROLLBACK PREPARED 'mig-1'");
  });

  it('applies a file that finishes a prepared transaction (ROLLBACK PREPARED is not its own rollback)', async () => {
    const { client, database } = await freshDatabase();
    const other = await connect(database);
    await other.query("BEGIN; CREATE TABLE stray (a int); PREPARE TRANSACTION 'stray-1'");
    const { applied } = await applyPendingMigrations(
      client,
      await readMigrationsFolder(folder({ '1_clear_stray': "ROLLBACK PREPARED 'stray-1';\n" })),
    );
    expect(applied.map((a) => a.name)).toEqual(['1_clear_stray']);
    const { rows: left } = await client.query('SELECT gid FROM pg_prepared_xacts');
    expect(left).toEqual([]);
  });

  it('records a script error that merely reads like a lost connection as a failed migration with logs', async () => {
    const { client } = await freshDatabase();
    const { row } = await expectFailedMigration(
      client,
      {
        '1_words': "DO $$ BEGIN RAISE EXCEPTION 'Connection terminated unexpectedly'; END $$;\n",
      },
      '1_words',
    );
    expect(row.logs).toContain('Database error code: P0001');
    expect(row.logs).toContain('Connection terminated unexpectedly');

    const second = await freshDatabase();
    const coded = await expectFailedMigration(
      second.client,
      { '1_code': "DO $$ BEGIN RAISE EXCEPTION 'starting up' USING ERRCODE = '57P03'; END $$;\n" },
      '1_code',
    );
    expect(coded.row.logs).toContain('Database error code: 57P03');
  });

  it('leaves the row unfinished without logs when the session really dies mid-script', async () => {
    const { client, database } = await freshDatabase();
    client.on('error', () => undefined);
    const failure = await applyPendingMigrations(
      client,
      await readMigrationsFolder(folder({ '1_dies': 'SELECT pg_terminate_backend(pg_backend_pid());\n' })),
    ).catch((e: unknown) => e);
    // FATAL 57P01 from the server, then the socket closes: not a script failure, nothing recorded.
    expect(failure).not.toBeInstanceOf(MigrationsError);
    const [row] = await rows(await connect(database));
    expect(row).toMatchObject({ migration_name: '1_dies', finished_at: null, logs: null });
  });

  it('prints a position only when the server gave one, as a line number', async () => {
    const { client } = await freshDatabase();
    const noPosition = await expectFailedMigration(client, { '1_zero': 'SELECT 1/0;\n' }, '1_zero');
    expect(noPosition.row.logs).not.toContain('Position');
    expect(noPosition.failure.message).not.toContain('undefined');

    const second = await freshDatabase();
    const withPosition = await expectFailedMigration(
      second.client,
      { '1_typo': 'SELECT 1;\nSELEC 2;\n' },
      '1_typo',
    );
    expect(withPosition.row.logs).toContain('Position: line 2, character 11');
  });

  it('tells a running migration (lock held by its deploy) from a failed one, in plan', async () => {
    const { client, database } = await freshDatabase();
    const gateOnly = { '0_gate': 'CREATE TABLE gate (a int);\n' };
    await applyPendingMigrations(client, await readMigrationsFolder(folder(gateOnly)));
    // Another session holds a table lock the next migration needs: the deploy waits inside the script.
    const gate = await connect(database);
    await gate.query('BEGIN');
    await gate.query('LOCK TABLE gate IN ACCESS EXCLUSIVE MODE');
    const local = await readMigrationsFolder(
      folder({ ...gateOnly, '1_waits': 'SELECT count(*) FROM gate;\n' }),
    );
    const deploy = applyPendingMigrations(await connect(database), local);
    const observer = await connect(database);
    let plan = await planMigrations(observer, local);
    for (let attempt = 0; attempt < 100 && plan.running.length === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      plan = await planMigrations(observer, local);
    }
    expect(plan.running.map((r) => r.name)).toEqual(['1_waits']);
    expect(plan.failed).toEqual([]);
    expect(plan.blocked).toBe(false);
    expect(plan.pending).toEqual([]);
    await gate.query('COMMIT');
    await expect(deploy).resolves.toMatchObject({ applied: [{ name: '1_waits' }] });
    // Once the deploy is over, the same read shows it applied.
    expect((await planMigrations(observer, local)).running).toEqual([]);
  });

  it('refuses a non-empty schema without _prisma_migrations (Prisma P3005), PostGIS tables aside', async () => {
    const { client } = await freshDatabase();
    await client.query('CREATE TABLE legacy (id int)');
    const local = await readMigrationsFolder(folder({ '1_init': INIT }));
    await expect(applyPendingMigrations(client, local)).rejects.toMatchObject({ code: 'P3005' });
    const { rows: found } = await client.query<{ account: boolean; migrations: boolean }>(
      "SELECT to_regclass('account') IS NOT NULL AS account, to_regclass('_prisma_migrations') IS NOT NULL AS migrations",
    );
    expect(found[0]).toEqual({ account: false, migrations: false });

    const postgis = await freshDatabase();
    await postgis.client.query('CREATE TABLE spatial_ref_sys (srid int)');
    await expect(applyPendingMigrations(postgis.client, local)).resolves.toMatchObject({
      applied: [{ name: '1_init' }],
    });

    // Prisma counts ordinary tables only (relkind 'r'): an empty partitioned table does not make it non-empty.
    const partitioned = await freshDatabase();
    await partitioned.client.query('CREATE TABLE events (at date) PARTITION BY RANGE (at)');
    await expect(applyPendingMigrations(partitioned.client, local)).resolves.toMatchObject({
      applied: [{ name: '1_init' }],
    });
  });

  it('resolve --applied writes logs as an empty string, as Prisma does', async () => {
    const { client } = await freshDatabase();
    const local = await readMigrationsFolder(folder({ '1_init': INIT }));
    await markMigrationApplied(client, local, '1_init');
    const [row] = await rows(client);
    expect(row?.logs).toBe('');
    expect(row?.finished_at).not.toBeNull();
  });

  it('stores the checksum of the decoded text, which for UTF-8 is the SHA-256 of the bytes', async () => {
    const { client } = await freshDatabase();
    const script = '-- café ✓\nCREATE TABLE caf\u00e9 (a int);\n';
    await applyPendingMigrations(client, await readMigrationsFolder(folder({ '1_utf8': script })));
    const [row] = await rows(client);
    expect(row?.checksum).toBe(createHash('sha256').update(Buffer.from(script, 'utf8')).digest('hex'));
  });
});

describe('reading a migrations folder', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pg-dr-folder-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("orders folders as Prisma's CLI does (localeCompare), and skips top-level files", async () => {
    for (const name of ['20240102_b', '20240101_a', 'B_upper', 'a_lower', '10_b', '1_a']) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'migration.sql'), `-- ${name}\n`);
    }
    writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
    // Byte order would put 10_b before 1_a ('0' < '_') and B_upper before a_lower.
    expect((await readMigrationsFolder(dir)).map((m) => m.name)).toEqual([
      '1_a',
      '10_b',
      '20240101_a',
      '20240102_b',
      'a_lower',
      'B_upper',
    ]);
  });

  it('names a folder without migration.sql with Prisma P3015', async () => {
    mkdirSync(join(dir, '1_empty'));
    const failure = await readMigrationsFolder(dir).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(MigrationsError);
    expect(failure).toMatchObject({ code: 'P3015' });
    expect((failure as Error).message).toContain('"1_empty/migration.sql"');
  });

  /** A folder with one good migration, plus whatever the test adds. */
  function withGoodMigration(): void {
    mkdirSync(join(dir, '1_good'));
    writeFileSync(join(dir, '1_good', 'migration.sql'), 'SELECT 1;\n');
  }

  it('refuses a symbolically linked migration folder instead of skipping it', async () => {
    withGoodMigration();
    const elsewhere = mkdtempSync(join(tmpdir(), 'pg-dr-elsewhere-'));
    writeFileSync(join(elsewhere, 'migration.sql'), 'CREATE TABLE linked (a int);\n');
    symlinkSync(elsewhere, join(dir, '2_linked'));
    try {
      await expect(readMigrationsFolder(dir)).rejects.toThrow(
        new MigrationsFolderError(
          '"2_linked" in the migrations folder is a symbolic link: migrations must be real folders',
        ),
      );
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('skips top-level files as Prisma does, whatever their name or kind (a linked README, macOS Icon\\r)', async () => {
    withGoodMigration();
    writeFileSync(join(dir, 'Icon\r'), '');
    const readme = join(dir, '..', `readme-${Date.now()}.md`);
    writeFileSync(readme, '# notes\n');
    symlinkSync(readme, join(dir, 'README.md'));
    try {
      const read = await readMigrationsFolder(dir);
      expect(read.map((m) => m.name)).toEqual(['1_good']);
    } finally {
      rmSync(readme, { force: true });
    }
  });

  it('refuses a migration.sql that is a symbolic link, without reading it', async () => {
    const secretFile = join(dir, 'outside.txt');
    writeFileSync(secretFile, 'first line of a file outside the folder\n');
    mkdirSync(join(dir, '1_link'));
    symlinkSync(secretFile, join(dir, '1_link', 'migration.sql'));
    const failure = await readMigrationsFolder(dir).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(MigrationsFolderError);
    expect((failure as Error).message).toContain('"1_link/migration.sql" is a symbolic link');
    expect((failure as Error).message).not.toContain('first line');
  });

  it('refuses dot-folders such as .git instead of applying them first', async () => {
    withGoodMigration();
    for (const name of ['.git', '..2024_01_01']) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'migration.sql'), 'SELECT 1;\n');
      await expect(readMigrationsFolder(dir)).rejects.toThrow(
        `${JSON.stringify(name)} in the migrations folder starts with a dot`,
      );
      rmSync(join(dir, name), { recursive: true });
    }
  });

  it('refuses a control character in a folder name, printing the name escaped on one line', async () => {
    withGoodMigration();
    const forged = '2_x\n3 migration(s) applied.';
    mkdirSync(join(dir, forged));
    writeFileSync(join(dir, forged, 'migration.sql'), 'SELECT 1;\n');
    const failure = await readMigrationsFolder(dir).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(MigrationsFolderError);
    const message = (failure as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain('"2_x\\n3 migration(s) applied."');
  });

  it('refuses migration_lock.toml for another provider (Prisma P3019)', async () => {
    withGoodMigration();
    writeFileSync(join(dir, 'migration_lock.toml'), '# Please do not edit\nprovider = "mysql"\n');
    await expect(readMigrationsFolder(dir)).rejects.toMatchObject({ code: 'P3019' });
    writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
    await expect(readMigrationsFolder(dir)).resolves.toHaveLength(1);
  });

  it('refuses a migration.sql that is not UTF-8 instead of altering it', async () => {
    mkdirSync(join(dir, '1_latin1'));
    writeFileSync(join(dir, '1_latin1', 'migration.sql'), Buffer.from("SELECT 'caf\xe9';\n", 'latin1'));
    await expect(readMigrationsFolder(dir)).rejects.toThrow(
      new MigrationsFolderError(
        '"1_latin1/migration.sql" is not valid UTF-8: save it as UTF-8 (Prisma would silently replace the invalid bytes)',
      ),
    );
  });

  it('names a missing folder', async () => {
    await expect(readMigrationsFolder(join(dir, 'nope'))).rejects.toThrow(
      /migrations folder .*nope does not exist/,
    );
  });
});
