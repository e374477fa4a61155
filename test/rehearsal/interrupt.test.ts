import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { processRunning, sweepAbandonedFolders, tempRoot } from '../../lib/local-postgres/ownership';
import { eventually, processesNaming, removePrivateTemp } from '../support/processes';

const ROOT = join(__dirname, '..', '..');

/** What the rehearsal made in the private temp folder: server folders and its work folder. */
const leftFolders = (tmp: string) => readdirSync(tmp).filter((name) => /^pg-dr-(test|rehearsal)-/.test(name));

/**
 * Runs the rehearsal in `tmp` until all three servers run, in its own process group (the way a terminal's
 * foreground job is). `command` is what the README says (`npm run rehearsal`: npm, a shell and node, npm
 * forwarding SIGINT and SIGTERM to the script) or node itself with tsx's loader (one process).
 */
async function rehearsalRunning(tmp: string, command: 'npm' | 'node') {
  const html = ['--html', join(tmp, 'r.html')];
  const child = spawn(
    command === 'npm' ? 'npm' : process.execPath,
    command === 'npm'
      ? ['run', '--silent', 'rehearsal', '--', ...html]
      : ['--import', 'tsx', 'bin/rehearsal.ts', ...html],
    {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: tmp, PG_DR_TEMP_ROOT: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    }),
  );
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
      // Interrupt once all three servers run, while the rehearsal waits (the applications warm up for a
      // second): a signal is handled between two awaits, not in the middle of the app's synchronous synthesis.
      if (output.includes('applications: reading and writing')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await started;
  /** The exit, or 'timeout' after 30 s; the bound must not outlive it (a pending timer kept jest's worker). */
  const exit = async () => {
    let bound: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      exited,
      new Promise<'timeout'>((resolve) => {
        bound = setTimeout(() => {
          resolve('timeout');
        }, 30_000);
      }),
    ]);
    clearTimeout(bound);
    return result;
  };
  return { child, exit, output: () => output };
}

describe('npm run rehearsal, interrupted', () => {
  let tmp: string;
  beforeEach(() => {
    // A private temp folder: everything the rehearsal creates lands here, and nothing else does.
    tmp = mkdtempSync(join(tempRoot(), 'pg-dr-interrupt-'));
    // The servers run as an unprivileged user, who must be able to reach their folders.
    chmodSync(tmp, 0o755);
  });
  afterEach(async () => {
    await removePrivateTemp(tmp);
  });

  it('stops every server and removes its folders on Ctrl-C to npm run rehearsal', async () => {
    const rehearsal = await rehearsalRunning(tmp, 'npm');
    const group = rehearsal.child.pid;
    // Never pid 0 (or -0): that would signal jest's own process group.
    if (group === undefined || group <= 0) throw new Error('the rehearsal has no pid');
    // What Ctrl-C does: SIGINT to the whole foreground group (npm, which forwards it to the script, too).
    process.kill(-group, 'SIGINT');
    // npm waits for the script (which exits 130), then ends itself by the same signal: the shell shows 130.
    expect(await rehearsal.exit()).toEqual({ code: null, signal: 'SIGINT' });
    expect(leftFolders(tmp)).toEqual([]);
    expect(await eventually(() => processesNaming(tmp).length === 0, 50)).toBe(true);
  });

  // A closed terminal sends SIGHUP to its foreground job's process group; `kill -- -<pgid>` sends SIGTERM.
  it.each(['SIGHUP', 'SIGTERM'] as const)(
    'stops every server and removes its folders on %s to its process group, exiting 128 + signal',
    async (signal) => {
      const rehearsal = await rehearsalRunning(tmp, 'node');
      const group = rehearsal.child.pid;
      // Never pid 0 (or -0): that would signal jest's own process group.
      if (group === undefined || group <= 0) throw new Error('the rehearsal has no pid');
      process.kill(-group, signal);
      expect(await rehearsal.exit()).toEqual({ code: 128 + constants.signals[signal], signal: null });
      expect(leftFolders(tmp)).toEqual([]);
      expect(await eventually(() => processesNaming(tmp).length === 0, 50)).toBe(true);
    },
  );

  it('on kill -9, its servers stop with it and the next run removes what it left', async () => {
    const rehearsal = await rehearsalRunning(tmp, 'node');
    const postmasters = leftFolders(tmp)
      .filter((name) => name.startsWith('pg-dr-test-'))
      .map((name) => Number(readFileSync(join(tmp, name, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]));
    expect(postmasters).toHaveLength(3);
    rehearsal.child.kill('SIGKILL');
    expect(await rehearsal.exit()).toEqual({ code: null, signal: 'SIGKILL' });

    expect(await eventually(() => postmasters.every((pid) => !processRunning(pid)))).toBe(true);
    const left = leftFolders(tmp);
    // Three servers' folders and the work folder.
    expect(left).toHaveLength(4);

    // What the next run does first.
    const swept = await sweepAbandonedFolders(tmp);
    expect(swept.removed.map(({ folder }) => folder).sort()).toEqual(
      left.map((name) => join(tmp, name)).sort(),
    );
    expect(leftFolders(tmp)).toEqual([]);
  });
});
