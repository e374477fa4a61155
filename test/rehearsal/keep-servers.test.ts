import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  processRunning,
  runningPostmaster,
  sweepAbandonedFolders,
  tempRoot,
} from '../../lib/local-postgres/ownership';
import { eventually, removePrivateTemp } from '../support/processes';

const ROOT = join(__dirname, '..', '..');

describe('npm run rehearsal --keep-servers', () => {
  let tmp: string;
  beforeEach(() => {
    // A private temp folder: everything the rehearsal creates lands here, and nothing else does.
    tmp = mkdtempSync(join(tempRoot(), 'pg-dr-keep-'));
    // The servers run as an unprivileged user, who must be able to reach their folders.
    chmodSync(tmp, 0o755);
  });
  afterEach(async () => {
    await removePrivateTemp(tmp);
  });

  it('leaves its servers running after it exits, and the next run does not remove them', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bin/rehearsal.ts', '--keep-servers', '--html', join(tmp, 'r.html')],
      {
        cwd: ROOT,
        env: { ...process.env, TMPDIR: tmp, PG_DR_TEMP_ROOT: tmp },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let bound: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      new Promise<number | null>((resolve) => child.once('exit', resolve)),
      new Promise<'timeout'>((resolve) => {
        bound = setTimeout(() => {
          resolve('timeout');
        }, 150_000);
      }),
    ]);
    clearTimeout(bound);
    // Exit 1 is a missed budget on a busy machine: the servers are kept all the same.
    expect([0, 1]).toContain(code);

    const serverFolders = readdirSync(tmp).filter((name) => name.startsWith('pg-dr-test-'));
    // Primary, replica and green; the region-loss deployment's primary, replica and re-protect replica; the
    // backup restore's primary and restore target.
    expect(serverFolders).toHaveLength(8);
    const workDir = readdirSync(tmp).find((name) => name.startsWith('pg-dr-rehearsal-'));
    expect(workDir).toBeDefined();
    const kept = JSON.parse(readFileSync(join(tmp, workDir ?? '', 'servers.json'), 'utf8')) as {
      folder: string;
    }[];
    expect(kept.map(({ folder }) => folder).sort()).toEqual(
      serverFolders.map((name) => join(tmp, name)).sort(),
    );
    const postmasters = kept.map(({ folder }) => runningPostmaster(join(folder, 'data')));
    expect(postmasters.every((pid) => pid !== undefined)).toBe(true);

    // What the next run does first.
    expect(await sweepAbandonedFolders(tmp)).toEqual({ removed: [], failed: [] });
    expect(postmasters.every((pid) => pid !== undefined && processRunning(pid))).toBe(true);

    // The way the rehearsal tells the user to stop them.
    for (const pid of postmasters) if (pid !== undefined) process.kill(pid, 'SIGINT');
    expect(
      await eventually(() => postmasters.every((pid) => pid === undefined || !processRunning(pid))),
    ).toBe(true);
  }, 200_000);
});
