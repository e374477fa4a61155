/**
 * Times `cdk synth` of the real app, offline, a few times in a row (bounded count and time).
 * Usage: npm run bench:synth [-- --runs 3]
 * Prints one line per run, then a one-line JSON summary last.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..');
const runsArg = process.argv.indexOf('--runs');
const runs = Math.min(10, Math.max(1, runsArg === -1 ? 3 : Number(process.argv[runsArg + 1])));
const PER_RUN_TIMEOUT_MS = 120_000;

const env = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') && !key.startsWith('CDK_')),
  ),
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_EC2_METADATA_DISABLED: 'true',
};

const seconds: number[] = [];
for (let run = 1; run <= runs; run++) {
  const outdir = mkdtempSync(join(tmpdir(), 'pg-dr-bench-synth-'));
  const started = process.hrtime.bigint();
  const result = spawnSync(
    join(root, 'node_modules', '.bin', 'cdk'),
    ['synth', '--quiet', '--output', outdir],
    {
      cwd: root,
      env,
      encoding: 'utf8',
      timeout: PER_RUN_TIMEOUT_MS,
    },
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  rmSync(outdir, { recursive: true, force: true });
  if (result.status !== 0) {
    process.stderr.write(result.stderr);
    process.stderr.write(`synth run ${run} failed (status ${String(result.status)})\n`);
    process.exit(1);
  }
  seconds.push(elapsed);
  process.stdout.write(`run ${run}/${runs}: ${elapsed.toFixed(2)} s\n`);
}

const sorted = [...seconds].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
const summary = {
  benchmark: 'cdk-synth',
  runs,
  cores: cpus().length,
  medianSeconds: Number(median.toFixed(2)),
  maxSeconds: Number((sorted[sorted.length - 1] ?? 0).toFixed(2)),
  budgetSeconds: 60,
  withinBudget: (sorted[sorted.length - 1] ?? Infinity) < 60,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exit(summary.withinBudget ? 0 : 1);
