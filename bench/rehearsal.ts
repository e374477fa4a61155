/**
 * Times `npm run rehearsal` end to end (start to exit, servers stopped), a few times in a row (bounded).
 * Usage: npm run bench:rehearsal [-- --runs 3]
 * Prints one line per run, then a one-line JSON summary last.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..');
const runsArg = process.argv.indexOf('--runs');
const runs = Math.min(5, Math.max(1, runsArg === -1 ? 3 : Number(process.argv[runsArg + 1])));
const BUDGET_SECONDS = 120;

const seconds: number[] = [];
for (let run = 1; run <= runs; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'pg-dr-bench-rehearsal-'));
  const started = process.hrtime.bigint();
  const result = spawnSync(
    join(root, 'node_modules', '.bin', 'tsx'),
    ['bin/rehearsal.ts', '--html', join(dir, 'report.html'), '--json', join(dir, 'figures.json')],
    { cwd: root, encoding: 'utf8', timeout: BUDGET_SECONDS * 2 * 1000 },
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const figures =
    result.status === 0
      ? (JSON.parse(readFileSync(join(dir, 'figures.json'), 'utf8')) as { ok: boolean })
      : undefined;
  rmSync(dir, { recursive: true, force: true });
  if (result.status !== 0 || figures?.ok !== true) {
    process.stderr.write(result.stdout + result.stderr);
    process.stderr.write(`rehearsal run ${run} failed (status ${String(result.status)})\n`);
    process.exit(1);
  }
  seconds.push(elapsed);
  process.stdout.write(`run ${run}/${runs}: ${elapsed.toFixed(2)} s\n`);
}

const sorted = [...seconds].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
process.stdout.write(
  `${JSON.stringify({
    benchmark: 'rehearsal',
    runs,
    cores: cpus().length,
    medianSeconds: Number(median.toFixed(2)),
    maxSeconds: Number((sorted.at(-1) ?? 0).toFixed(2)),
    budgetSeconds: BUDGET_SECONDS,
    withinBudget: (sorted.at(-1) ?? 0) <= BUDGET_SECONDS,
  })}\n`,
);
