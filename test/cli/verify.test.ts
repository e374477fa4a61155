import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { runCli, type CliIo } from '../../lib/cli/program';
import { PostgresServer } from '../support/postgres';
import { eventually, execute, subscribeGreenToBlue } from '../support/replication';

const ROOT = join(__dirname, '..', '..');
const SCHEMA = 'CREATE TABLE ledger (id bigserial PRIMARY KEY, note text NOT NULL)';

interface Captured {
  code: number | null;
  out: string;
  err: string;
}

/** Runs `bin/dr.js` as a user would, in its own process; bounded. */
function drProcess(argv: string[], env: Record<string, string>): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'dr.js'), ...argv], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dr ${argv[0] ?? ''} did not finish in 45 s`));
    }, 45_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('dr verify against real PostgreSQL and logical replication', () => {
  let blue: PostgresServer;
  let green: PostgresServer;
  let work: string;
  let counter = 0;
  const open: Client[] = [];

  beforeAll(async () => {
    [blue, green] = await Promise.all([
      PostgresServer.start({ name: 'cli-verify-blue', settings: { wal_level: 'logical' } }),
      PostgresServer.start({ name: 'cli-verify-green' }),
    ]);
    work = mkdtempSync(join(tmpdir(), 'pg-dr-verify-cli-'));
    writeFileSync(join(work, 'blue-ca.pem'), blue.tls?.caCert ?? '');
    writeFileSync(join(work, 'green-ca.pem'), green.tls?.caCert ?? '');
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.end().catch(() => undefined)));
    await Promise.all([blue.destroy(), green.destroy()]);
    rmSync(work, { recursive: true, force: true });
  });

  const urlOf = (server: PostgresServer, database: string, ca: string) =>
    `postgresql://${server.user}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${database}?sslrootcert=${encodeURIComponent(join(work, ca))}`;

  async function connect(server: PostgresServer, database: string): Promise<Client> {
    const client = new Client(server.clientConfig(database));
    client.on('error', () => undefined);
    open.push(client);
    await client.connect();
    return client;
  }

  /** A database on both servers with `ledger`, green subscribed to blue, `rows` rows replicated. */
  async function replicated(rows: number) {
    const database = `cv${++counter}`;
    await Promise.all([
      execute(blue, 'postgres', `CREATE DATABASE ${database}`),
      execute(green, 'postgres', `CREATE DATABASE ${database}`),
    ]);
    await Promise.all([execute(blue, database, SCHEMA), execute(green, database, SCHEMA)]);
    await execute(
      blue,
      database,
      `INSERT INTO ledger (note) SELECT 'n' || i FROM generate_series(1, ${rows}) AS i`,
    );
    await subscribeGreenToBlue(blue, green, database, {
      publication: `pub_${database}`,
      subscription: `sub_${database}`,
    });
    const g = await connect(green, database);
    await eventually(async () => (await g.query('SELECT 1 FROM ledger')).rowCount === rows);
    return {
      database,
      green: g,
      env: {
        BLUE_DATABASE_URL: urlOf(blue, database, 'blue-ca.pem'),
        GREEN_DATABASE_URL: urlOf(green, database, 'green-ca.pem'),
      },
    };
  }

  async function dr(argv: string[], env: Record<string, string> = {}): Promise<Captured> {
    let out = '';
    let err = '';
    const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), env };
    const code = await runCli(argv, io);
    return { code, out, err };
  }

  /** `dr verify` against the pair, by the URLs in its environment. */
  const verifyArgs = (env: { BLUE_DATABASE_URL: string; GREEN_DATABASE_URL: string }) => [
    'verify',
    '--blue-database-url',
    env.BLUE_DATABASE_URL,
    '--green-database-url',
    env.GREEN_DATABASE_URL,
  ];

  it('exits 0 when green matches blue, 1 when it misses one row, naming the table', async () => {
    const pair = await replicated(500);
    const args = verifyArgs(pair.env);
    await eventually(async () => (await dr(args)).code === 0);
    const same = await dr(args);
    expect(same.out).toMatch(/^ok {3}rows:public\.ledger: green 500, blue 500 at the same point/m);
    expect(same.out).toContain('Green matches blue.');

    await pair.green.query('DELETE FROM ledger WHERE id = 7');
    const missing = await dr([...args, '--json']);
    expect(missing.code).toBe(1);
    const result = JSON.parse(missing.out) as {
      ok: boolean;
      checks: { name: string; status: string; detail: string }[];
    };
    expect(result.ok).toBe(false);
    expect(result.checks.find((c) => c.name === 'rows:public.ledger')).toEqual({
      name: 'rows:public.ledger',
      status: 'failed',
      detail: "green 499, blue 500: green is missing rows (at the same point of blue's history; exact)",
    });
    expect(missing.out + missing.err).not.toContain(blue.password);
  });

  it('exits 1 when blue has a table green lacks: its rows would never reach green', async () => {
    const pair = await replicated(20);
    const args = verifyArgs(pair.env);
    await eventually(async () => (await dr(args)).code === 0);
    // Not in the publication (FOR ALL TABLES would stream it and stop green's apply worker), so not a
    // replication failure but a silent gap.
    await execute(blue, pair.database, `DROP PUBLICATION pub_${pair.database}`);
    await execute(blue, pair.database, `CREATE PUBLICATION pub_${pair.database} FOR TABLE ledger`);
    await execute(
      blue,
      pair.database,
      'CREATE TABLE only_blue (id int PRIMARY KEY); INSERT INTO only_blue VALUES (1)',
    );

    const gap = await dr([...args, '--json']);

    expect(gap.code).toBe(1);
    const result = JSON.parse(gap.out) as { checks: { name: string; status: string; detail: string }[] };
    const gapCheck = result.checks.find((c) => c.name === 'rows:public.only_blue');
    expect(gapCheck?.status).toBe('failed');
    expect(gapCheck?.detail).toContain('on blue, missing on green');
    // The republished subscription's walsender restarts write WAL on blue; stop it so later tests find blue quiet.
    await pair.green.query(`DROP SUBSCRIPTION sub_${pair.database}`);
  });

  it('exits 1 as undecided while blue takes writes, never 0', async () => {
    const pair = await replicated(100);
    const writer = await connect(blue, pair.database);
    const control = { done: false, written: 0 };
    const writing = (async () => {
      for (let i = 0; i < 100_000 && !control.done; i++) {
        await writer.query('INSERT INTO ledger (note) VALUES ($1)', [`busy${i}`]);
        control.written++;
      }
    })();
    try {
      await eventually(() => Promise.resolve(control.written >= 100), 10_000, 10);
      const moving = await dr(['verify', '--tables', 'ledger'], pair.env);
      expect(moving.code).toBe(1);
      expect(moving.out).toContain('??   rows:public.ledger: undecidable while blue takes writes');
      expect(moving.out).toContain('Undecided: blue took writes while counting.');
    } finally {
      control.done = true;
      await writing;
    }
  });

  it("exits 1 naming a table logical replication cannot update (Prisma's implicit many-to-many) and the index to use", async () => {
    const database = `cv${++counter}`;
    const schema = [
      'CREATE TABLE "Post" (id serial PRIMARY KEY)',
      'CREATE TABLE "Tag" (id serial PRIMARY KEY)',
      'CREATE TABLE "_PostToTag" ("A" integer NOT NULL, "B" integer NOT NULL)',
      'CREATE UNIQUE INDEX "_PostToTag_AB_unique" ON "_PostToTag"("A", "B")',
    ];
    await Promise.all([
      execute(blue, 'postgres', `CREATE DATABASE ${database}`),
      execute(green, 'postgres', `CREATE DATABASE ${database}`),
    ]);
    await Promise.all([execute(blue, database, ...schema), execute(green, database, ...schema)]);
    const result = await dr(['verify'], {
      BLUE_DATABASE_URL: urlOf(blue, database, 'blue-ca.pem'),
      GREEN_DATABASE_URL: urlOf(green, database, 'green-ca.pem'),
    });
    expect(result.code).toBe(1);
    expect(result.out).toContain(
      'FAIL replication:public."_PostToTag": has neither a primary key nor a replica identity',
    );
    expect(result.out).toContain(
      'fix: ALTER TABLE public."_PostToTag" REPLICA IDENTITY USING INDEX "_PostToTag_AB_unique"',
    );
  });

  it.each([
    [['verify'], 'give --blue-database-url or set BLUE_DATABASE_URL'],
    [['verify', '--blue-database-url', 'postgresql://u:Pw-secret-1@h/db'], 'give --green-database-url'],
    [
      ['verify', '--blue-database-url', 'mysql://u:Pw-secret-1@h/db', '--green-database-url', 'x'],
      '--blue-database-url must be a postgresql:// URL',
    ],
    [['verify', '--tables', 'a;DROP TABLE b'], '--tables must be a comma-separated list'],
  ])('exits 2 for bad options %j, naming the flag without echoing the value', async (argv, message) => {
    const result = await dr(argv);
    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
    expect(result.out + result.err).not.toContain('Pw-secret-1');
    expect(result.out + result.err).not.toContain('DROP TABLE');
  });

  it('runs through the real entry point (bin/dr.js): 0 with --json when green matches, 2 for bad options', async () => {
    const pair = await replicated(20);
    await eventually(async () => (await dr(['verify'], pair.env)).code === 0);
    const matched = await drProcess(['verify', '--json'], pair.env);
    expect(matched.code).toBe(0);
    expect(JSON.parse(matched.out)).toMatchObject({ command: 'verify', ok: true, decided: true });
    expect(matched.out + matched.err).not.toContain(blue.password);

    const bad = await drProcess(['verify', '--tables', ''], pair.env);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--tables must be a comma-separated list');
  });
});
