/**
 * Which process owns a local server's folder, and the sweep that removes folders whose owner died without
 * cleaning up (kill -9, a jest worker killed mid-run, a crash). Every folder the local servers and the
 * rehearsal make under the temp root carries an owner record: the owning process's pid and start time (so a
 * reused pid is not mistaken for the owner), its host and pid namespace (a pid means nothing elsewhere). The
 * sweep touches a folder only when its owner is provably gone; a folder without a readable record (one being
 * created, or made by older code) or with an owner alive, elsewhere or kept on purpose is left alone.
 */
import { execFileSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

/** The owner record's file, in each owned folder. */
export const OWNER_FILE = 'owner.json';
/** Folders the sweep considers: local servers' (`pg-dr-test-*`) and the rehearsal's work folders. */
const OWNED_FOLDER = /^pg-dr-(test|rehearsal)-/;
/** How long the sweep waits for a leftover postmaster: immediate shutdown, then SIGKILL. */
const QUIT_WAIT = { attempts: 100, intervalMs: 100 };
const KILL_WAIT = { attempts: 50, intervalMs: 100 };

/** Linux's RAM-backed folder, and what it needs to hold throwaway clusters: tmpfs, with this much room. */
const RAM_FOLDER = '/dev/shm';
const TMPFS_MAGIC = 0x01021994;
const RAM_FOLDER_MIN_FREE_BYTES = 4 * 1024 ** 3;

let ramFolderCache: string | null | undefined;

/**
 * /dev/shm when it is a tmpfs with RAM_FOLDER_MIN_FREE_BYTES free that this process may write to, else
 * undefined. Throwaway clusters there start, copy and write their WAL in memory: on a virtual disk each of a
 * cluster's thousand files costs about a millisecond to copy, in memory a few microseconds.
 */
function ramFolder(): string | undefined {
  if (ramFolderCache === undefined) {
    ramFolderCache = null;
    try {
      const stats = statfsSync(RAM_FOLDER);
      if (stats.type === TMPFS_MAGIC && stats.bavail * stats.bsize >= RAM_FOLDER_MIN_FREE_BYTES) {
        accessSync(RAM_FOLDER, constants.W_OK | constants.X_OK);
        ramFolderCache = RAM_FOLDER;
      }
    } catch {
      // Not Linux, no /dev/shm, or not writable: the system temp folder.
    }
  }
  return ramFolderCache ?? undefined;
}

/**
 * Parent folder of the servers' and the rehearsal's folders: PG_DR_TEMP_ROOT; else /dev/shm when it is a
 * tmpfs with room (ramFolder); else the system temp folder.
 */
export function tempRoot(): string {
  const configured = process.env.PG_DR_TEMP_ROOT;
  return configured !== undefined && configured !== '' ? resolve(configured) : (ramFolder() ?? tmpdir());
}

export interface OwnerRecord {
  readonly pid: number;
  /** Boot id and start time in clock ticks (Linux), or `ps`'s start time; absent when unknown. */
  readonly startTime?: string;
  readonly host: string;
  /** The pid namespace (Linux): a pid from another namespace names another process. */
  readonly pidNamespace?: string;
  /** Left running on purpose (rehearsal --keep-servers): never swept. */
  readonly kept?: boolean;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** `/proc/<pid>/stat` fields after the parenthesised command: state is [0], ppid [1], starttime [19]. */
function procStat(pid: number): string[] | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  return stat === undefined ? undefined : stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

const hasProc = existsSync('/proc/self/stat');

/** When `pid` started: unique per process across reboots (with the boot id), or undefined when unknown. */
export function processStartTime(pid: number): string | undefined {
  if (hasProc) {
    const ticks = procStat(pid)?.[19];
    if (ticks === undefined) return undefined;
    return `${readText('/proc/sys/kernel/random/boot_id')?.trim() ?? 'boot'}:${ticks}`;
  }
  try {
    const started = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return started === '' ? undefined : started;
  } catch {
    return undefined;
  }
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/** True while `pid` is a live process (a zombie is not), including one of another user. */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !hasProc || procStat(pid)?.[0] !== 'Z';
}

/** The record this process writes into the folders it owns. */
export function currentOwner(): OwnerRecord {
  const startTime = processStartTime(process.pid);
  const namespace = pidNamespace();
  return {
    pid: process.pid,
    ...(startTime === undefined ? {} : { startTime }),
    host: hostname(),
    ...(namespace === undefined ? {} : { pidNamespace: namespace }),
  };
}

/** Owner gone for certain: same host and pid namespace, and no process with that pid and start time. */
export function isAbandoned(owner: OwnerRecord, here: OwnerRecord = currentOwner()): boolean {
  if (owner.kept === true) return false;
  if (owner.host !== here.host || owner.pidNamespace !== here.pidNamespace) return false;
  if (!processRunning(owner.pid)) return true;
  if (owner.startTime === undefined) return false;
  const started = processStartTime(owner.pid);
  return started !== undefined && started !== owner.startTime;
}

function writeOwnerRecord(folder: string, owner: OwnerRecord): void {
  writeFileSync(join(folder, OWNER_FILE), `${JSON.stringify(owner)}\n`);
}

function readOwnerRecord(folder: string): OwnerRecord | undefined {
  const text = readText(join(folder, OWNER_FILE));
  if (text === undefined) return undefined;
  try {
    const record = JSON.parse(text) as Partial<OwnerRecord> | null;
    if (typeof record?.pid !== 'number' || typeof record.host !== 'string') return undefined;
    return record as OwnerRecord;
  } catch {
    // Being written, or not ours: leave the folder alone.
    return undefined;
  }
}

/** A fresh folder `<temp root>/<prefix>XXXXXX` whose owner record names this process. */
export function makeOwnedFolder(prefix: 'pg-dr-test-' | 'pg-dr-rehearsal-'): string {
  const folder = mkdtempSync(join(tempRoot(), prefix));
  writeOwnerRecord(folder, currentOwner());
  return folder;
}

/** Marks a folder as left behind on purpose: no sweep removes it. */
export function markKept(folder: string): void {
  writeOwnerRecord(folder, { ...currentOwner(), kept: true });
}

function commandLine(pid: number): string[] | undefined {
  if (hasProc)
    return readText(`/proc/${pid}/cmdline`)
      ?.split('\0')
      .filter((arg) => arg !== '');
  try {
    return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .trim()
      .split(' ');
  } catch {
    return undefined;
  }
}

/**
 * The running postmaster of `dataDir`: the pid in its postmaster.pid, but only if that process is a
 * `postgres` started with `-D <dataDir>` (a stale file's pid may now belong to anything).
 */
export function runningPostmaster(dataDir: string): number | undefined {
  const [pidLine, dirLine] = readText(join(dataDir, 'postmaster.pid'))?.split('\n') ?? [];
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0 || dirLine !== dataDir || !processRunning(pid)) return undefined;
  const argv = commandLine(pid);
  if (argv === undefined || basename(argv[0] ?? '') !== 'postgres') return undefined;
  return argv[argv.indexOf('-D') + 1] === dataDir ? pid : undefined;
}

/** Direct children of `pid` (a postmaster's backends and workers), from /proc. */
export function childProcesses(pid: number): number[] {
  if (!hasProc) return [];
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => Number(procStat(Number(entry))?.[1]) === pid)
    .map(Number);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

async function exited(pid: number, wait: { attempts: number; intervalMs: number }): Promise<boolean> {
  for (let attempt = 0; attempt < wait.attempts; attempt++) {
    if (!processRunning(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, wait.intervalMs));
  }
  return !processRunning(pid);
}

/** Immediate shutdown (SIGQUIT: backends stop, shared memory is released); SIGKILL to all if it hangs. */
async function stopPostmaster(pid: number): Promise<boolean> {
  signal(pid, 'SIGQUIT');
  if (await exited(pid, QUIT_WAIT)) return true;
  for (const child of childProcesses(pid)) signal(child, 'SIGKILL');
  signal(pid, 'SIGKILL');
  return exited(pid, KILL_WAIT);
}

export interface SweepResult {
  /** Folders removed, with the pid of the postmaster stopped in each, if one still ran. */
  readonly removed: readonly { readonly folder: string; readonly stoppedPostmaster?: number }[];
  /** Abandoned folders that could not be cleaned (another user's, a postmaster that would not stop). */
  readonly failed: readonly { readonly folder: string; readonly reason: string }[];
}

/**
 * Removes what killed runs left in `root`: for every `pg-dr-test-*` or `pg-dr-rehearsal-*` folder whose
 * owner is gone, stops its postmaster (verified to be that folder's) and deletes the folder. Never throws.
 */
export async function sweepAbandonedFolders(root: string = tempRoot()): Promise<SweepResult> {
  const removed: { folder: string; stoppedPostmaster?: number }[] = [];
  const failed: { folder: string; reason: string }[] = [];
  let entries: string[];
  try {
    entries = readdirSync(root).filter((name) => OWNED_FOLDER.test(name));
  } catch {
    return { removed, failed };
  }
  const here = currentOwner();
  for (const name of entries) {
    const folder = join(root, name);
    const owner = readOwnerRecord(folder);
    if (owner === undefined || !isAbandoned(owner, here)) continue;
    const postmaster = runningPostmaster(join(folder, 'data'));
    if (postmaster !== undefined && !(await stopPostmaster(postmaster))) {
      failed.push({ folder, reason: `postmaster ${postmaster} did not stop` });
      continue;
    }
    try {
      rmSync(folder, { recursive: true, force: true });
      removed.push({ folder, ...(postmaster === undefined ? {} : { stoppedPostmaster: postmaster }) });
    } catch (error) {
      failed.push({ folder, reason: (error as NodeJS.ErrnoException).code ?? String(error) });
    }
  }
  return { removed, failed };
}
