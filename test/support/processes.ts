/** Helpers for tests that run processes owning local servers in a private temp folder. */
import { execFileSync } from 'node:child_process';
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
  for (const segment of segments) removeSegment(segment);
  rmSync(folder, { recursive: true, force: true });
}
