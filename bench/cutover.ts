/**
 * A steady write load runs at blue (real logical replication to green) through a cutover. Writers resolve the
 * database "name" before each connection, like an application resolving DNS, recycle connections like a pool,
 * and reconnect after an error. Counted: acknowledged writes missing from green afterwards, and the longest
 * gap between acknowledged writes. Run twice on fresh databases: the zero-loss cutover (fence, barrier
 * catch-up, sequences, flip, finish) and the seed's naive flip (switch DNS; green is primary from then on).
 *
 * Usage: npm run bench:cutover [-- --seconds 8 --writers 4 --rate 250]
 * Bounded in time and count. Prints a one-line JSON summary last.
 */
import { cpus } from 'node:os';
import { Client } from 'pg';
import {
  fenceBlue,
  finishCutover,
  prepareCutover,
  syncSequences,
  waitForCatchUp,
} from '../lambdas/cutover/cutover';
import { PostgresServer } from '../test/support/postgres';
import { execute, subscribeGreenToBlue } from '../test/support/replication';

function argument(name: string, fallback: number, min: number, max: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new Error(`--${name} must be from ${min} to ${max}`);
  return value;
}

const SECONDS = argument('seconds', 8, 4, 60);
const WRITERS = argument('writers', 4, 1, 16);
const RATE = argument('rate', 250, 50, 2000);
const RECYCLE_EVERY = 50;

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
): Promise<string> {
  await Promise.all([
    execute(blue, 'postgres', `CREATE DATABASE ${database}`),
    execute(green, 'postgres', `CREATE DATABASE ${database}`),
  ]);
  const ddl =
    'CREATE TABLE ledger (id bigserial PRIMARY KEY, note text UNIQUE NOT NULL, at timestamptz NOT NULL DEFAULT now())';
  await Promise.all([execute(blue, database, ddl), execute(green, database, ddl)]);
  const subscription = `sub_${database}`;
  await subscribeGreenToBlue(blue, green, database, { publication: `pub_${database}`, subscription });
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

async function runMethod(
  method: 'zero-loss' | 'naive',
  blue: PostgresServer,
  green: PostgresServer,
  database: string,
): Promise<ReturnType<typeof measure> & { cutoverMs: number }> {
  const subscription = await replicatedPair(blue, green, database);
  const [b, g] = await Promise.all([connect(blue, database), connect(green, database)]);
  if (method === 'zero-loss') await prepareCutover(b, g, subscription);
  let target: Target = 'blue';
  const load = startLoad({ blue, green }, database, () => target);
  const third = (SECONDS * 1000) / 3;
  await new Promise((resolve) => setTimeout(resolve, third));

  const cutoverStarted = Date.now();
  if (method === 'zero-loss') {
    await fenceBlue(b);
    await waitForCatchUp(b, g, { subscription, timeoutMs: 10_000, pollMs: 5 });
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
  };
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
    const zeroLoss = await runMethod('zero-loss', blue, green, 'zero_loss');
    process.stdout.write(
      `zero-loss cutover: ${zeroLoss.acknowledged} writes acknowledged (${zeroLoss.writesPerSecond}/s), ${zeroLoss.lost} lost, longest write pause ${zeroLoss.maxPauseMs} ms, cutover ${zeroLoss.cutoverMs} ms\n`,
    );
    const naive = await runMethod('naive', blue, green, 'naive');
    process.stdout.write(
      `naive flip:        ${naive.acknowledged} writes acknowledged (${naive.writesPerSecond}/s), ${naive.lost} lost, longest write pause ${naive.maxPauseMs} ms\n`,
    );
    const summary = {
      benchmark: 'cutover',
      seconds: SECONDS,
      writers: WRITERS,
      targetRate: RATE,
      cores: cpus().length,
      zeroLoss,
      naive,
      targets: { lostWrites: 0, maxPauseMs: 2000, minWritesPerSecond: 200 },
      withinTarget: zeroLoss.lost === 0 && zeroLoss.maxPauseMs < 2000 && zeroLoss.writesPerSecond >= 200,
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
