import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  currentOwner,
  isAbandoned,
  OWNER_FILE,
  processRunning,
  sweepAbandonedFolders,
} from '../../lib/local-postgres/ownership';
import { sharedMemorySegment } from '../../lib/local-postgres/server';
import { PostgresServer } from './postgres';
import { eventually, removePrivateTemp, segmentLeft } from './processes';

const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(__dirname, 'fixtures', 'server-owner.ts');

interface Owner {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly rootDir: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A process owning one server in `tempRoot` (test/support/fixtures/server-owner.ts), once its server runs. */
async function startOwner(tempRoot: string, ...args: string[]): Promise<Owner> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], {
    cwd: ROOT,
    env: { ...process.env, PG_DR_TEMP_ROOT: tempRoot },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    }),
  );
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const rootDir = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no server after 60 s:\n${output}`));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`owner exited early (${String(code)}):\n${output}`));
    });
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { rootDir: string }).rootDir);
      }
    });
  });
  return { child, rootDir, exited };
}

function postmasterPid(rootDir: string): number {
  return Number(readFileSync(join(rootDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

describe('local servers whose owner died', () => {
  let tempRoot: string;
  const previousRoot = process.env.PG_DR_TEMP_ROOT;
  const owners: Owner[] = [];

  beforeEach(() => {
    // A private temp root: the owners and the sweep under test see only this folder.
    tempRoot = mkdtempSync(join(tmpdir(), 'pg-dr-owner-'));
    // The servers run as an unprivileged user, who must be able to reach their folders.
    chmodSync(tempRoot, 0o755);
    process.env.PG_DR_TEMP_ROOT = tempRoot;
  });
  afterEach(async () => {
    for (const { child } of owners.splice(0)) child.kill('SIGKILL');
    if (previousRoot === undefined) delete process.env.PG_DR_TEMP_ROOT;
    else process.env.PG_DR_TEMP_ROOT = previousRoot;
    await removePrivateTemp(tempRoot);
  });

  it('die with their owner on SIGKILL, and the next start removes their folder', async () => {
    const owner = await startOwner(tempRoot);
    owners.push(owner);
    const postmaster = postmasterPid(owner.rootDir);
    owner.child.kill('SIGKILL');
    await owner.exited;

    // The parent-death watchdog stops the postmaster; the folder stays until the next start.
    expect(await eventually(() => !processRunning(postmaster))).toBe(true);
    expect(existsSync(owner.rootDir)).toBe(true);

    const next = await PostgresServer.start({ name: 'next', tls: false });
    try {
      expect(existsSync(owner.rootDir)).toBe(false);
    } finally {
      await next.destroy();
    }
  });

  it('never keep their owner alive: one left running does not stop it exiting, and dies with it', async () => {
    const owner = await startOwner(tempRoot, '--forget');
    owners.push(owner);
    const postmaster = postmasterPid(owner.rootDir);
    const segment = sharedMemorySegment(join(owner.rootDir, 'data'));
    expect(segmentLeft(segment)).toBe(true);
    let bound: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      owner.exited,
      new Promise<'still running'>((resolve) => {
        bound = setTimeout(() => {
          resolve('still running');
        }, 30_000);
      }),
    ]);
    clearTimeout(bound);
    // Nothing else to do: the owner exits by itself, and its exit takes the forgotten server along.
    expect(ended).toEqual({ code: 0, signal: null });
    expect(await eventually(() => !processRunning(postmaster))).toBe(true);
    // Killed by the owner's exit handler, its System V segment went with it.
    expect(segmentLeft(segment)).toBe(false);
  });

  it('are stopped by the next start when they outlived their owner, and a live owner keeps its server', async () => {
    const [killed, alive] = await Promise.all([
      startOwner(tempRoot, '--outlive-owner'),
      startOwner(tempRoot, '--outlive-owner'),
    ]);
    owners.push(killed, alive);
    // A folder older code made, without an owner record: whose it is cannot be known.
    const unrecorded = join(tempRoot, 'pg-dr-test-unrecorded');
    mkdirSync(unrecorded);
    killed.child.kill('SIGKILL');
    await killed.exited;
    const leftover = postmasterPid(killed.rootDir);
    expect(processRunning(leftover)).toBe(true);

    const next = await PostgresServer.start({ name: 'next', tls: false });
    try {
      expect(processRunning(leftover)).toBe(false);
      expect(existsSync(killed.rootDir)).toBe(false);
      expect(processRunning(postmasterPid(alive.rootDir))).toBe(true);
      expect(existsSync(unrecorded)).toBe(true);
    } finally {
      await next.destroy();
    }

    // The live owner, told to stop, removes its own server.
    alive.child.kill('SIGTERM');
    expect((await alive.exited).code).toBe(143);
    expect(existsSync(alive.rootDir)).toBe(false);
  });

  it('are never signalled through a stale postmaster.pid that names another process', async () => {
    const gone = spawn('true');
    await new Promise((resolve) => gone.once('exit', resolve));
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const folder = join(tempRoot, 'pg-dr-test-stale');
      mkdirSync(join(folder, 'data'), { recursive: true });
      writeFileSync(join(folder, OWNER_FILE), JSON.stringify({ ...currentOwner(), pid: gone.pid }));
      writeFileSync(
        join(folder, 'data', 'postmaster.pid'),
        `${String(bystander.pid)}\n${join(folder, 'data')}\n`,
      );

      const result = await sweepAbandonedFolders(tempRoot);

      expect(result).toEqual({ removed: [{ folder }], failed: [] });
      expect(processRunning(bystander.pid ?? 0)).toBe(true);
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it('judge an owner by pid and start time, and only on this host', () => {
    const self = currentOwner();
    expect(isAbandoned(self)).toBe(false);
    // The same pid started at another time: the pid was reused, the owner is gone.
    expect(isAbandoned({ ...self, startTime: 'another boot:0' })).toBe(true);
    // Another host's (or pid namespace's) pid says nothing here: left alone.
    expect(isAbandoned({ ...self, pid: 2 ** 22 + 1, host: `not-${hostname()}` })).toBe(false);
    expect(isAbandoned({ ...self, pid: 2 ** 22 + 1 })).toBe(true);
    expect(isAbandoned({ ...self, pid: 2 ** 22 + 1, kept: true })).toBe(false);
  });

  it('survive their owner once released (--keep-servers), and no sweep removes them', async () => {
    const owner = await startOwner(tempRoot, '--release');
    owners.push(owner);
    expect((await owner.exited).code).toBe(0);
    const postmaster = postmasterPid(owner.rootDir);
    expect(processRunning(postmaster)).toBe(true);

    const result = await sweepAbandonedFolders(tempRoot);

    expect(result.removed).toEqual([]);
    expect(processRunning(postmaster)).toBe(true);
    expect(existsSync(owner.rootDir)).toBe(true);
  });
});
