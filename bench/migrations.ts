/**
 * Applies a generated folder of Prisma migrations to a fresh database with the engine, and the same files
 * with `psql` two ways, in alternating rounds against the same local server: ONE psql session running every
 * file in name order (`\i` each; the floor: no bookkeeping, no per-file connection), and one psql process and
 * connection per file (as a shell script does). The target is the engine within 1.5 x the one-session floor.
 * Bounded: fixed counts, a timeout per psql call.
 *
 * Usage: npm run bench:migrations [-- --migrations 300 --rounds 3 --no-per-file --small]
 * (`--no-per-file` skips the slow psql-per-file comparison; the target does not depend on it.)
 * Needs psql on PATH (or PSQL=/path/to/psql). Prints a one-line JSON summary last.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { applyPendingMigrations } from '../lambdas/migrations/engine';
import { readMigrationsFolder } from '../lambdas/migrations/folder';
import { PostgresServer } from '../lib/local-postgres/server';

function argument(name: string, fallback: number, max: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new Error(`--${name} must be a whole number from 1 to ${max}`);
  return value;
}

function findPsql(): string {
  const candidates = [
    process.env.PSQL,
    'psql',
    ...['18', '17', '16', '15', '14'].map((v) => `/usr/lib/postgresql/${v}/bin/psql`),
  ];
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    'bench:migrations needs psql: install postgresql-client (Debian) or set PSQL=/path/to/psql',
  );
}

/**
 * `small`: one short statement per file (an added column), where per-migration bookkeeping weighs most;
 * otherwise a table, an index and 20 seeded rows per file.
 */
function generateMigrations(dir: string, count: number, small: boolean): void {
  for (let i = 1; i <= count; i++) {
    const n = String(i).padStart(4, '0');
    const name = `2024${String(i).padStart(10, '0')}_${small ? 'add_c' : 'create_t'}_${n}`;
    mkdirSync(join(dir, name));
    if (small) {
      const sql = i === 1 ? 'CREATE TABLE "base" ("id" BIGSERIAL PRIMARY KEY);\n' : '';
      writeFileSync(
        join(dir, name, 'migration.sql'),
        `${sql}ALTER TABLE "base" ADD COLUMN "c_${n}" INTEGER;\n`,
      );
      continue;
    }
    writeFileSync(
      join(dir, name, 'migration.sql'),
      [
        `-- CreateTable`,
        `CREATE TABLE "t_${n}" (`,
        `    "id" BIGSERIAL NOT NULL,`,
        `    "name" TEXT NOT NULL,`,
        `    "amount_cents" INTEGER NOT NULL DEFAULT 0,`,
        `    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),`,
        `    CONSTRAINT "t_${n}_pkey" PRIMARY KEY ("id")`,
        `);`,
        ``,
        `-- CreateIndex`,
        `CREATE INDEX "t_${n}_name_idx" ON "t_${n}"("name");`,
        ``,
        `-- Seed`,
        `INSERT INTO "t_${n}" ("name", "amount_cents") SELECT 'row ' || g, g FROM generate_series(1, 20) AS g;`,
        ``,
      ].join('\n'),
    );
  }
  writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function main(): Promise<void> {
  const count = argument('migrations', 300, 2000);
  const rounds = argument('rounds', 3, 10);
  const perFile = !process.argv.includes('--no-per-file');
  const small = process.argv.includes('--small');
  const psql = findPsql();
  const work = mkdtempSync(join(tmpdir(), 'pg-dr-bench-migrations-'));
  const folder = join(work, 'migrations');
  mkdirSync(folder);
  generateMigrations(folder, count, small);
  const server = await PostgresServer.start({ name: 'bench' });
  const caFile = join(work, 'ca.pem');
  writeFileSync(caFile, server.tls?.caCert ?? '');

  const admin = new Client(server.clientConfig());
  await admin.connect();
  const engineSeconds: number[] = [];
  const sessionSeconds: number[] = [];
  const psqlSeconds: number[] = [];
  const psqlEnv = (database: string) => ({
    ...process.env,
    PGHOST: server.host,
    PGPORT: String(server.port),
    PGUSER: server.user,
    PGPASSWORD: server.password,
    PGDATABASE: database,
    PGSSLMODE: 'verify-full',
    PGSSLROOTCERT: caFile,
  });
  const runPsql = (args: string[], database: string, what: string) => {
    const run = spawnSync(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...args], {
      env: psqlEnv(database),
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 300_000,
    });
    if (run.status !== 0) throw new Error(`psql failed on ${what}: ${run.stderr.toString()}`);
  };
  try {
    for (let round = 1; round <= rounds; round++) {
      // Engine: read the folder, one connection, Prisma bookkeeping for every file.
      await admin.query(`CREATE DATABASE engine_${round}`);
      let started = process.hrtime.bigint();
      const local = await readMigrationsFolder(folder);
      const client = new Client(server.clientConfig(`engine_${round}`));
      await client.connect();
      const result = await applyPendingMigrations(client, local);
      await client.end();
      engineSeconds.push(Number(process.hrtime.bigint() - started) / 1e9);
      if (result.applied.length !== count)
        throw new Error(`engine applied ${result.applied.length} of ${count}`);

      // psql, one session: every file in name order through one connection, each statement committed.
      const driver = join(work, 'all.sql');
      writeFileSync(driver, local.map((m) => `\\i ${join(folder, m.name, 'migration.sql')}\n`).join(''));
      await admin.query(`CREATE DATABASE session_${round}`);
      started = process.hrtime.bigint();
      runPsql(['-f', driver], `session_${round}`, 'the one-session run');
      sessionSeconds.push(Number(process.hrtime.bigint() - started) / 1e9);

      // psql: one process and connection per file, in name order, stopping at the first error.
      await admin.query(`CREATE DATABASE psql_${round}`);
      started = process.hrtime.bigint();
      for (const migration of perFile ? local : []) {
        runPsql(
          ['--single-transaction', '-f', join(folder, migration.name, 'migration.sql')],
          `psql_${round}`,
          migration.name,
        );
      }
      psqlSeconds.push(Number(process.hrtime.bigint() - started) / 1e9);
      process.stdout.write(
        `round ${round}/${rounds}: engine ${engineSeconds.at(-1)?.toFixed(2) ?? '?'} s, ` +
          `psql one session ${sessionSeconds.at(-1)?.toFixed(2) ?? '?'} s, ` +
          (perFile
            ? `psql per file ${psqlSeconds.at(-1)?.toFixed(2) ?? '?'} s\n`
            : 'psql per file skipped\n'),
      );
    }
  } finally {
    await admin.end();
    await server.destroy();
    rmSync(work, { recursive: true, force: true });
  }

  const engine = median(engineSeconds);
  const session = median(sessionSeconds);
  const viaPsql = median(psqlSeconds);
  const ratio = engine / session;
  const summary = {
    benchmark: 'migrations',
    migrations: count,
    shape: small ? 'one ALTER TABLE per file' : 'table, index and 20 rows per file',
    rounds,
    cores: cpus().length,
    engineMedianSeconds: Number(engine.toFixed(3)),
    psqlOneSessionMedianSeconds: Number(session.toFixed(3)),
    ...(perFile ? { psqlPerFileMedianSeconds: Number(viaPsql.toFixed(3)) } : {}),
    engineToOneSessionRatio: Number(ratio.toFixed(3)),
    // Fastest round of each: less sensitive to other work on a shared machine than the medians.
    engineToOneSessionRatioOfFastest: Number(
      (Math.min(...engineSeconds) / Math.min(...sessionSeconds)).toFixed(3),
    ),
    targetRatio: 1.5,
    withinTarget: ratio <= 1.5,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exitCode = summary.withinTarget ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
