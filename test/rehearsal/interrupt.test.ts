import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

describe('npm run rehearsal, interrupted', () => {
  it('stops every server and removes its folders on Ctrl-C', async () => {
    // A private temp folder: everything the rehearsal creates lands here, and nothing else does.
    const tmp = mkdtempSync(join(tmpdir(), 'pg-dr-interrupt-'));
    // The servers run as an unprivileged user, who must be able to reach their folders.
    chmodSync(tmp, 0o755);
    try {
      const child = spawn(
        join(ROOT, 'node_modules', '.bin', 'tsx'),
        ['bin/rehearsal.ts', '--html', join(tmp, 'r.html')],
        {
          cwd: ROOT,
          env: { ...process.env, TMPDIR: tmp },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      const started = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no progress after 40 s:\n${output}`));
        }, 40_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`exited early (${String(code)}):\n${output}`));
        });
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          // Interrupt once all three servers run.
          if (output.includes('green: logical subscription')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) =>
        child.once('exit', (code) => {
          resolve(code);
        }),
      );
      await started;
      child.kill('SIGINT');
      // The bound on the exit must not outlive it: a pending timer kept the jest worker from exiting.
      let bound: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exited,
        new Promise<'timeout'>((resolve) => {
          bound = setTimeout(() => {
            resolve('timeout');
          }, 30_000);
        }),
      ]);
      clearTimeout(bound);
      expect(code).toBe(130);
      const left = readdirSync(tmp).filter((name) => /^pg-dr-(test|rehearsal)-/.test(name));
      expect(left).toEqual([]);
      let running = '';
      try {
        running = execFileSync('pgrep', ['-af', tmp], { encoding: 'utf8' });
      } catch {
        // pgrep exits 1 when nothing matches.
      }
      expect(running).toBe('');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
