/** Helpers for tests that run processes owning local servers in a private temp folder. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { processRunning } from '../../lib/local-postgres/ownership';
import { removeSegment, sharedMemorySegment } from '../../lib/local-postgres/server';

/** Polls `condition` every 100 ms, at most `attempts` times. */
export async function eventually(condition: () => boolean, attempts = 100): Promise<boolean> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

/** Whether System V segment `id` is still listed, and not only marked for removal ("dest"). */
export function segmentLeft(id: string | undefined): boolean {
  const listed = spawnSync('ipcs', ['-m'], { encoding: 'utf8' })
    .stdout.split('\n')
    .find((line) => line.split(/\s+/)[1] === id);
  return listed !== undefined && !listed.includes('dest');
}

/** Processes whose command line names `folder` (a postmaster names its data directory in `-D`). */
export function processesNaming(folder: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', folder], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    // pgrep exits 1 when nothing matches.
    return [];
  }
}

/**
 * SIGKILLs what still runs from a test's private temp folder (old code leaves servers), then removes it, with
 * the System V segment of each server there (`<folder>/<server>/data`): a killed postmaster leaves its own.
 */
export async function removePrivateTemp(folder: string): Promise<void> {
  let entries: string[] = [];
  try {
    entries = readdirSync(folder);
  } catch {
    // No folder: nothing ran.
  }
  const segments = entries.map((entry) => sharedMemorySegment(join(folder, entry, 'data')));
  const pids = processesNaming(folder);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await eventually(() => pids.every((pid) => !processRunning(pid)), 50);
  removeSegment(...segments);
  rmSync(folder, { recursive: true, force: true });
}
