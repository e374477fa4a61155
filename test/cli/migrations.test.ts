import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { runCli, type CliIo } from '../../lib/cli/program';
import { PostgresServer } from '../support/postgres';

const root = join(__dirname, '..', '..');
const EXAMPLES = join(root, 'examples', 'prisma', 'migrations');

interface Captured {
  code: number;
  out: string;
  err: string;
}

describe('dr migrations (CLI) against real PostgreSQL', () => {
  let server: PostgresServer;
  let work: string;
  let caFile: string;
  let counter = 0;

  beforeAll(async () => {
    server = await PostgresServer.start({ name: 'cli', password: 'cli-Secret-pw-9' });
    work = mkdtempSync(join(tmpdir(), 'pg-dr-cli-'));
    caFile = join(work, 'ca.pem');
    writeFileSync(caFile, server.tls?.caCert ?? '');
  });
  afterAll(async () => {
    await server.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  async function freshDatabaseUrl(password = server.password): Promise<string> {
    const database = `cli${++counter}`;
    const admin = new Client(server.clientConfig());
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    return `postgresql://${server.user}:${encodeURIComponent(password)}@${server.host}:${server.port}/${database}?sslrootcert=${encodeURIComponent(caFile)}`;
  }

  async function dr(argv: string[], env: Record<string, string> = {}): Promise<Captured> {
    let out = '';
    let err = '';
    const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), env };
    const code = await runCli(argv, io);
    return { code, out, err };
  }

  function copyExamples(): string {
    const dir = join(work, `migrations-${++counter}`);
    cpSync(EXAMPLES, dir, { recursive: true });
    return dir;
  }

  it('plans, applies and reports status like prisma migrate, with exit codes to script on', async () => {
    const url = await freshDatabaseUrl();
    const dir = copyExamples();

    const plan = await dr(['migrations', 'plan', '--database-url', url, '--dir', dir]);
    expect(plan.code).toBe(0);
    expect(plan.out).toContain(
      'Pending (3), in the order they will run:\n  20240101000000_init\n  20240115000000_add_order_status\n  20240201000000_index_orders_created_at',
    );

    const before = await dr(['migrations', 'status', '--database-url', url, '--dir', dir]);
    expect(before.code).toBe(1);
    expect(before.out).toContain('Database schema is not up to date.');

    const apply = await dr(['migrations', 'apply', '--database-url', url, '--dir', dir]);
    expect(apply.code).toBe(0);
    expect(apply.out).toMatch(
      /Applied 20240201000000_index_orders_created_at in \d+ ms\n3 migration\(s\) applied\./,
    );

    const after = await dr(['migrations', 'status', '--database-url', url, '--dir', dir, '--json']);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.out)).toMatchObject({
      ok: true,
      command: 'status',
      upToDate: true,
      plan: { pending: [], failed: [] },
    });
  });

  it('reads DATABASE_URL so the password stays out of the process list', async () => {
    const url = await freshDatabaseUrl();
    const result = await dr(['migrations', 'apply', '--dir', copyExamples(), '--json'], {
      DATABASE_URL: url,
    });
    expect(result.code).toBe(0);
    expect((JSON.parse(result.out) as { applied: unknown[] }).applied).toHaveLength(3);
  });

  it('fails with exit 1 on a broken migration, refuses the next apply, and recovers through resolve', async () => {
    const url = await freshDatabaseUrl();
    const dir = copyExamples();
    mkdirSync(join(dir, '20240301000000_broken'));
    writeFileSync(
      join(dir, '20240301000000_broken', 'migration.sql'),
      'ALTER TABLE "nope" ADD COLUMN x int;\n',
    );

    const failed = await dr(['migrations', 'apply', '--database-url', url, '--dir', dir, '--json']);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.out)).toMatchObject({ ok: false, error: { code: 'P3018' } });

    const refused = await dr(['migrations', 'apply', '--database-url', url, '--dir', dir]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('dr migrations resolve --applied 20240301000000_broken');

    writeFileSync(
      join(dir, '20240301000000_broken', 'migration.sql'),
      'ALTER TABLE "order" ADD COLUMN x int;\n',
    );
    const resolved = await dr([
      'migrations',
      'resolve',
      '--rolled-back',
      '20240301000000_broken',
      '--database-url',
      url,
      '--dir',
      dir,
    ]);
    expect(resolved).toMatchObject({
      code: 0,
      out: 'Marked 20240301000000_broken as rolled back; apply will run it again.\n',
    });
    const retried = await dr(['migrations', 'apply', '--database-url', url, '--dir', dir]);
    expect(retried.code).toBe(0);
    expect(retried.out).toContain('Applied 20240301000000_broken');
  });

  it('prints a name read from the database on one line, whatever it holds', async () => {
    const url = await freshDatabaseUrl();
    const dir = copyExamples();
    expect((await dr(['migrations', 'apply', '--database-url', url, '--dir', dir])).code).toBe(0);
    // A row no folder reader checked: its name forges a line of output unless escaped.
    const client = new Client({ ...server.clientConfig(), database: `cli${counter - 1}` });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count)
         VALUES ('forged', 'x', $1, now(), 0)`,
        ['20990101000000_x\nDatabase schema is up to date.'],
      );
    } finally {
      await client.end();
    }
    const status = await dr(['migrations', 'status', '--database-url', url, '--dir', dir]);
    expect(status.code).toBe(1);
    expect(status.out + status.err).not.toMatch(/^Database schema is up to date\.$/m);
    expect(status.out + status.err).toContain('"20990101000000_x\\nDatabase schema is up to date."');
  });

  it('fails with exit 1 on a file that leaves its transaction open, instead of printing "applied"', async () => {
    const url = await freshDatabaseUrl();
    const dir = join(work, `migrations-${++counter}`);
    mkdirSync(join(dir, '1_open'), { recursive: true });
    writeFileSync(join(dir, '1_open', 'migration.sql'), 'BEGIN;\nCREATE TABLE t (a int);\n');

    const apply = await dr(['migrations', 'apply', '--database-url', url, '--dir', dir]);
    expect(apply.code).toBe(1);
    expect(apply.out).not.toContain('applied.');
    expect(apply.err).toContain('left a transaction open');
  });

  it('exits 1 with Prisma P3015 for a folder without migration.sql', async () => {
    const url = await freshDatabaseUrl();
    const dir = copyExamples();
    mkdirSync(join(dir, '20240301000000_empty'));
    const status = await dr(['migrations', 'status', '--database-url', url, '--dir', dir, '--json']);
    expect(status.code).toBe(1);
    expect(JSON.parse(status.out)).toMatchObject({ ok: false, error: { code: 'P3015' } });
  });

  it('refuses a symbolically linked migration folder instead of calling the database up to date', async () => {
    const url = await freshDatabaseUrl();
    const dir = copyExamples();
    expect((await dr(['migrations', 'apply', '--database-url', url, '--dir', dir])).code).toBe(0);
    const elsewhere = join(work, `linked-${++counter}`);
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'migration.sql'), 'CREATE TABLE linked (a int);\n');
    symlinkSync(elsewhere, join(dir, '20240301000000_linked'));
    const status = await dr(['migrations', 'status', '--database-url', url, '--dir', dir]);
    expect(status.code).toBe(2);
    expect(status.out).not.toContain('up to date');
    expect(status.err).toContain('"20240301000000_linked" in the migrations folder is a symbolic link');
  });

  it('says a migration is in progress, not failed, while a deploy holds the lock', async () => {
    const url = await freshDatabaseUrl();
    const dir = join(work, `migrations-${++counter}`);
    mkdirSync(join(dir, '1_gate'), { recursive: true });
    writeFileSync(join(dir, '1_gate', 'migration.sql'), 'CREATE TABLE gate (a int);\n');
    expect((await dr(['migrations', 'apply', '--database-url', url, '--dir', dir])).code).toBe(0);
    mkdirSync(join(dir, '2_waits'));
    writeFileSync(join(dir, '2_waits', 'migration.sql'), 'SELECT count(*) FROM gate;\n');

    const database = new URL(url).pathname.slice(1);
    const gate = new Client(server.clientConfig(database));
    await gate.connect();
    try {
      await gate.query('BEGIN');
      await gate.query('LOCK TABLE gate IN ACCESS EXCLUSIVE MODE');
      const apply = dr(['migrations', 'apply', '--database-url', url, '--dir', dir]);
      let plan = await dr(['migrations', 'plan', '--database-url', url, '--dir', dir]);
      for (let attempt = 0; attempt < 100 && !plan.out.includes('In progress'); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        plan = await dr(['migrations', 'plan', '--database-url', url, '--dir', dir]);
      }
      expect(plan.code).toBe(0);
      expect(plan.out).toContain('In progress (another session holds the migration lock): 2_waits');
      expect(plan.out).not.toContain('Failed');
      const status = await dr(['migrations', 'status', '--database-url', url, '--dir', dir]);
      expect(status.out).toContain('In progress');
      expect(status.out).not.toContain('Failed');
      await gate.query('COMMIT');
      expect((await apply).code).toBe(0);
    } finally {
      await gate.end();
    }
  });

  it.each([
    [
      ['migrations', 'resolve', '--dir', EXAMPLES],
      'resolve needs exactly one of --applied <name> or --rolled-back <name>',
    ],
    [['migrations', 'apply', '--dir', EXAMPLES], 'give --database-url or set DATABASE_URL'],
    [
      ['migrations', 'apply', '--database-url', 'mysql://x@y/z'],
      '--database-url must be a postgresql:// URL',
    ],
    [
      ['migrations', 'apply', '--database-url', 'postgresql://u@h/d', '--dir', '/nonexistent/migrations'],
      'migrations folder /nonexistent/migrations does not exist',
    ],
    [
      ['migrations', 'apply', '--lock-timeout', 'soon'],
      '--lock-timeout must be a whole number from 1 to 3600000 ms',
    ],
    // A word that is not dr's (nor a typo of one) may be a pasted secret: named by position, never echoed.
    [['migrations', 'deploy'], 'unknown command <argument 2>'],
    [['migrations', 'aply'], "unknown command 'aply'"],
  ])('rejects bad usage %j with exit 2 and a clear message', async (argv, message) => {
    const result = await dr(
      argv.includes('resolve') ? [...argv, '--database-url', 'postgresql://u@h/d'] : argv,
    );
    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
  });

  it('reports an unreachable or refusing database with exit 1, never echoing the password', async () => {
    const wrong = await dr([
      'migrations',
      'plan',
      '--database-url',
      await freshDatabaseUrl('Wrong-Pw-77'),
      '--dir',
      EXAMPLES,
      '--json',
    ]);
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.out)).toMatchObject({ ok: false, error: { code: 'auth_failed' } });
    expect(wrong.out + wrong.err).not.toContain('Wrong-Pw-77');

    const closed = await dr([
      'migrations',
      'plan',
      '--database-url',
      `postgresql://u:Closed-Pw-1@127.0.0.1:1/x`,
      '--dir',
      EXAMPLES,
      '--json',
    ]);
    expect(closed.code).toBe(1);
    expect(JSON.parse(closed.out)).toMatchObject({ ok: false, error: { code: 'unreachable' } });
    expect(closed.out + closed.err).not.toContain('Closed-Pw-1');
  });

  it('runs as the installed `dr` binary', () => {
    const result = spawnSync(join(root, 'bin', 'dr.js'), ['migrations', 'apply', '--help'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(0);
    for (const option of [
      '--database-url <url>',
      '--dir <folder>',
      '--schema <name>',
      '--lock-timeout <ms>',
      '--json',
    ]) {
      expect(result.stdout).toContain(option);
    }
  });
});
