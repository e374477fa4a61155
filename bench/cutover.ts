/**
 * A steady write load runs at blue (real logical replication to green) through a cutover. Writers resolve the
 * database "name" before each connection, like an application resolving DNS, recycle connections like a pool,
 * and reconnect after an error. Counted: acknowledged writes missing from green afterwards, and the longest
 * gap between acknowledged writes. Three runs on fresh databases:
 * - the zero-loss cutover (fence, barrier catch-up, exact row counts in the fenced window, sequences, flip,
 *   finish) on a table that already holds --rows rows (1,000,000 by default), so the fenced comparison's cost
 *   on a large table is part of the measured write pause;
 * - the same under the same load with green missing one row: the pre-cutover verify must not pass it
 *   (undecided while blue takes writes) and the fenced window must catch it (GreenDiverged, blue unfenced);
 * - the seed's naive flip (switch DNS; green is primary from then on).
 *
 * Usage: npm run bench:cutover [-- --seconds 8 --writers 16 --rate 4000 --rows 1000000]
 * Bounded in time and count. Prints a one-line JSON summary last.
 */
import { cpus } from 'node:os';
import { Client } from 'pg';
import {
  fenceBlue,
  finishCutover,
  prepareCutover,
  syncSequences,
  unfenceBlue,
  verifyInFencedWindow,
  waitForCatchUp,
} from '../lambdas/cutover/cutover';
import { compareWithBlue } from '../lambdas/verify/verify';
import { eventually, execute, subscribeGreenToBlue } from '../lib/local-postgres/replication';
import { PostgresServer } from '../lib/local-postgres/server';

function argument(name: string, fallback: number, min: number, max: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new Error(`--${name} must be from ${min} to ${max}`);
  return value;
}

const SECONDS = argument('seconds', 8, 4, 60);
const WRITERS = argument('writers', 16, 1, 32);
const RATE = argument('rate', 4000, 50, 20_000);
const ROWS = argument('rows', 1_000_000, 0, 10_000_000);
/** The fenced window's budget for the exact comparison, as the cutover step's default. */
const FENCED_VERIFY_BUDGET_MS = 20_000;
/** Writes per connection before a writer reconnects, as a pool recycles (each connect is a TLS handshake). */
const RECYCLE_EVERY = 500;

type Target = 'blue' | 'green';

interface LoadResult {
  readonly acknowledged: { note: string; at: number }[];
  readonly failures: number;
}

/** Writers that look up where the "name" points before each connection. */
function startLoad(servers: Record<Target, PostgresServer>, database: string, resolveName: () => Target) {
  const acknowledged: { note: string; at: number }[] = [];
  let failures = 0;
  let stopped = false;
  const interval = (1000 * WRITERS) / RATE;
  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    let client: Client | undefined;
    let sinceConnect = 0;
    const deadline = Date.now() + (SECONDS + 30) * 1000;
    for (let i = 0; !stopped && Date.now() < deadline && i < 1_000_000; i++) {
      const started = Date.now();
      try {
        if (client === undefined || sinceConnect >= RECYCLE_EVERY) {
          await client?.end().catch(() => undefined);
          client = new Client({
            ...servers[resolveName()].clientConfig(database),
            connectionTimeoutMillis: 2000,
          });
          client.on('error', () => undefined);
          await client.connect();
          sinceConnect = 0;
        }
        const note = `w${w}-${i}`;
        await client.query('INSERT INTO ledger (note) VALUES ($1)', [note]);
        acknowledged.push({ note, at: Date.now() });
        sinceConnect++;
      } catch {
        failures++;
        await client?.end().catch(() => undefined);
        client = undefined;
      }
      const wait = interval - (Date.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    await client?.end().catch(() => undefined);
  });
  return {
    stop: async (): Promise<LoadResult> => {
      stopped = true;
      await Promise.all(writers);
      return { acknowledged, failures };
    },
  };
}

async function replicatedPair(
  blue: PostgresServer,
  green: PostgresServer,
  database: string,
  preloadRows: number,
): Promise<string> {
  await Promise.all([
    execute(blue, 'postgres', `CREATE DATABASE ${database}`),
    execute(green, 'postgres', `CREATE DATABASE ${database}`),
  ]);
  const ddl =
    'CREATE TABLE ledger (id bigserial PRIMARY KEY, note text UNIQUE NOT NULL, at timestamptz NOT NULL DEFAULT now())';
  await Promise.all([execute(blue, database, ddl), execute(green, database, ddl)]);
  if (preloadRows > 0)
    await execute(
      blue,
      database,
      `INSERT INTO ledger (note) SELECT 'pre' || i FROM generate_series(1, ${preloadRows}) AS i`,
    );
  const subscription = `sub_${database}`;
  await subscribeGreenToBlue(blue, green, database, { publication: `pub_${database}`, subscription });
  // The initial copy of the preloaded rows finishes before the load starts (bounded).
  const g = await connect(green, database);
  try {
    await eventually(
      async () =>
        (
          await g.query(
            `SELECT 1 FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
              WHERE s.subname = $1 AND r.srsubstate <> 'r'`,
            [subscription],
          )
        ).rowCount === 0,
      300_000,
      200,
    );
  } finally {
    await g.end();
  }
  return subscription;
}

async function connect(server: PostgresServer, database: string): Promise<Client> {
  const client = new Client(server.clientConfig(database));
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

function measure(load: LoadResult, notesOnGreen: Set<string>, window: { from: number; to: number }) {
  const lost = load.acknowledged.filter((a) => !notesOnGreen.has(a.note)).length;
  const times = load.acknowledged
    .map((a) => a.at)
    .filter((t) => t >= window.from && t <= window.to)
    .sort((a, b) => a - b);
  let maxPauseMs = 0;
  for (let i = 1; i < times.length; i++)
    maxPauseMs = Math.max(maxPauseMs, (times[i] ?? 0) - (times[i - 1] ?? 0));
  const achievedRate = load.acknowledged.length / SECONDS;
  return {
    acknowledged: load.acknowledged.length,
    lost,
    maxPauseMs,
    failedWrites: load.failures,
    writesPerSecond: Math.round(achievedRate),
  };
}

interface ZeroLossFigures {
  readonly cutoverMs: number;
  /** The exact comparison inside the fenced window: what it adds to the write pause. */
  readonly fencedVerifyMs: number;
  readonly fencedVerifyRows: number;
}

async function runMethod(
  method: 'zero-loss' | 'naive',
  blue: PostgresServer,
  green: PostgresServer,
  database: string,
  preloadRows: number,
): Promise<ReturnType<typeof measure> & ZeroLossFigures> {
  const subscription = await replicatedPair(blue, green, database, preloadRows);
  const [b, g] = await Promise.all([connect(blue, database), connect(green, database)]);
  if (method === 'zero-loss') await prepareCutover(b, g, subscription);
  let target: Target = 'blue';
  const load = startLoad({ blue, green }, database, () => target);
  const third = (SECONDS * 1000) / 3;
  await new Promise((resolve) => setTimeout(resolve, third));

  const cutoverStarted = Date.now();
  let fencedVerifyMs = 0;
  if (method === 'zero-loss') {
    await fenceBlue(b);
    await waitForCatchUp(b, g, { subscription, timeoutMs: 30_000, pollMs: 5 });
    fencedVerifyMs = (await verifyInFencedWindow(b, g, { subscription, budgetMs: FENCED_VERIFY_BUDGET_MS }))
      .verifyMs;
    await syncSequences(b, g);
    target = 'green';
    await finishCutover(g, subscription);
  } else {
    // The seed's method: point the name at green, which is the primary from then on. No fence, no catch-up:
    // replication from blue stops at the flip, while pooled connections keep writing to blue until recycled.
    target = 'green';
    await execute(
      green,
      database,
      `ALTER SUBSCRIPTION ${subscription} DISABLE`,
      `DROP SUBSCRIPTION ${subscription}`,
    );
  }
  const cutoverMs = Date.now() - cutoverStarted;

  await new Promise((resolve) =>
    setTimeout(resolve, Math.max(0, SECONDS * 1000 - (Date.now() - cutoverStarted) - third)),
  );
  const result = await load.stop();
  const { rows } = await g.query<{ note: string }>('SELECT note FROM ledger');
  await Promise.all([b.end(), g.end()]);
  return {
    ...measure(result, new Set(rows.map((r) => r.note)), { from: cutoverStarted - 1000, to: Date.now() }),
    cutoverMs,
    fencedVerifyMs,
    fencedVerifyRows: preloadRows + result.acknowledged.length,
  };
}

/**
 * Green loses one row while blue takes the full load. The verify step (before the cutover) must not pass it;
 * the fenced window must refuse it, and blue must take writes again afterwards.
 */
async function runDiverged(blue: PostgresServer, green: PostgresServer, database: string) {
  const subscription = await replicatedPair(blue, green, database, 0);
  const [b, g] = await Promise.all([connect(blue, database), connect(green, database)]);
  await prepareCutover(b, g, subscription);
  const loadStarted = Date.now();
  const load = startLoad({ blue, green }, database, () => 'blue');
  try {
    await new Promise((resolve) => setTimeout(resolve, Math.min(2000, (SECONDS * 1000) / 3)));
    await g.query('SET default_transaction_read_only = off');
    await g.query('DELETE FROM ledger WHERE id = (SELECT min(id) FROM ledger)');
    const preCutover = (await compareWithBlue(g, b, { schema: 'public', rowCounts: { tolerance: 0 } })).find(
      (c) => c.name === 'rows:public.ledger',
    );
    await fenceBlue(b);
    let fencedWindow = 'passed';
    try {
      await waitForCatchUp(b, g, { subscription, timeoutMs: 30_000, pollMs: 5 });
      await verifyInFencedWindow(b, g, { subscription, budgetMs: FENCED_VERIFY_BUDGET_MS });
    } catch (error) {
      fencedWindow = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    } finally {
      await unfenceBlue(b);
    }
    const stats = await load.stop();
    return {
      writesPerSecond: Math.round((1000 * stats.acknowledged.length) / (Date.now() - loadStarted)),
      preCutoverVerify: preCutover?.status ?? 'missing',
      fencedWindow,
      caught: preCutover?.status !== 'passed' && fencedWindow.startsWith('GreenDiverged'),
    };
  } finally {
    await load.stop();
    // Green is still fenced (read-only by default): its own statements write through it, as the cutover does.
    await finishCutover(g, subscription);
    await Promise.all([b.end(), g.end()]);
  }
}

async function main(): Promise<void> {
  const room = {
    max_replication_slots: '10',
    max_wal_senders: '10',
    max_logical_replication_workers: '10',
    max_worker_processes: '20',
  };
  const [blue, green] = await Promise.all([
    PostgresServer.start({ name: 'bench-blue', settings: { wal_level: 'logical', ...room } }),
    PostgresServer.start({ name: 'bench-green', settings: room }),
  ]);
  try {
    const zeroLoss = await runMethod('zero-loss', blue, green, 'zero_loss', ROWS);
    process.stdout.write(
      `zero-loss cutover: ${zeroLoss.acknowledged} writes acknowledged (${zeroLoss.writesPerSecond}/s), ${zeroLoss.lost} lost, longest write pause ${zeroLoss.maxPauseMs} ms, cutover ${zeroLoss.cutoverMs} ms, of which the fenced exact comparison of ${zeroLoss.fencedVerifyRows} rows ${zeroLoss.fencedVerifyMs} ms\n`,
    );
    const diverged = await runDiverged(blue, green, 'diverged');
    process.stdout.write(
      `green missing one row at ${diverged.writesPerSecond} writes/s: verify before the cutover ${diverged.preCutoverVerify}, fenced window ${diverged.fencedWindow.split('.')[0] ?? ''}\n`,
    );
    const naive = await runMethod('naive', blue, green, 'naive', 0);
    process.stdout.write(
      `naive flip:        ${naive.acknowledged} writes acknowledged (${naive.writesPerSecond}/s), ${naive.lost} lost, longest write pause ${naive.maxPauseMs} ms\n`,
    );
    const summary = {
      benchmark: 'cutover',
      seconds: SECONDS,
      writers: WRITERS,
      targetRate: RATE,
      cores: cpus().length,
      preloadedRows: ROWS,
      zeroLoss,
      diverged,
      naive,
      targets: { lostWrites: 0, maxPauseMs: 2000, minWritesPerSecond: 2000, divergenceCaught: true },
      withinTarget:
        zeroLoss.lost === 0 &&
        zeroLoss.maxPauseMs < 2000 &&
        zeroLoss.writesPerSecond >= 2000 &&
        diverged.caught,
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    process.exitCode = summary.withinTarget ? 0 : 1;
  } finally {
    await Promise.all([blue.destroy(), green.destroy()]);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
