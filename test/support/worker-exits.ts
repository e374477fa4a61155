/**
 * How a jest worker ends, told apart from a leak. Jest gives a worker it ends 500 ms to exit, then kills it and
 * prints "A worker process has failed to exit gracefully". That happens when a test left something running
 * (a leak), but also when the worker had already exited as far as Node goes and the operating system was still
 * freeing its memory: a worker that has run the whole suite holds over a gigabyte, and the kernel takes a few
 * hundred milliseconds to release that on a loaded 2-core machine (measured: `kill -9` of a 1.8 GB Node process
 * takes 270 ms to be reaped here).
 *
 * The test environment (timer-leak-environment.ts) writes each worker's end to the file named by
 * PG_DR_WORKER_EXIT_LOG, a JSON line per event; `.ci/run` asks this module, when jest had to kill a worker,
 * whether any worker was actually held. Run directly (`tsx test/support/worker-exits.ts FILE`), it prints the
 * verdict and exits 1 on a leak.
 */
import { appendFileSync, readFileSync } from 'node:fs';

/** The variable naming the file the environment appends worker-exit events to. */
export const WORKER_EXIT_LOG_ENV = 'PG_DR_WORKER_EXIT_LOG';

/**
 * A worker still in JavaScript this long after jest ended it is held by something a test left: a handle, a
 * timer, a pending request, a blocked event loop, or slow exit handlers. Half of jest's 500 ms, so that what
 * is left is the operating system's share.
 */
export const HELD_AFTER_MS = 250;

export type WorkerExitEvent =
  /** Jest ended the worker (its child removed its IPC listener). */
  | { readonly worker: number; readonly event: 'ended' }
  /** Node's `exit` event ran its last handler, `ms` after the end. */
  | { readonly worker: number; readonly event: 'exited'; readonly ms: number; readonly detail: string }
  /** HELD_AFTER_MS after the end, these still kept the worker alive. */
  | { readonly worker: number; readonly event: 'held'; readonly by: readonly string[] };

/** Appends one event to the file named by PG_DR_WORKER_EXIT_LOG, when set. Synchronous: it runs in exit handlers. */
export function recordWorkerExitEvent(event: WorkerExitEvent): void {
  const file = process.env[WORKER_EXIT_LOG_ENV];
  if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify(event)}\n`);
}

/** The events of a log, in order; a line that is not one (a torn write) is skipped. */
export function parseWorkerExitLog(text: string): WorkerExitEvent[] {
  const events: WorkerExitEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value = JSON.parse(line) as Partial<WorkerExitEvent> | null;
      if (value !== null && typeof value.worker === 'number' && typeof value.event === 'string')
        events.push(value as WorkerExitEvent);
    } catch {
      // A line cut short by a killed worker: the events around it still count.
    }
  }
  return events;
}

export interface WorkerExitVerdict {
  /** True when some worker was held after jest ended it, or the log cannot show that none was. */
  readonly leaked: boolean;
  readonly lines: readonly string[];
}

/** Whether any worker jest ended was held by something a test left, from the workers' own events. */
export function workerExitVerdict(events: readonly WorkerExitEvent[]): WorkerExitVerdict {
  const ended = [...new Set(events.filter((event) => event.event === 'ended').map((event) => event.worker))];
  if (ended.length === 0)
    return {
      leaked: true,
      lines: ['no worker recorded its end: nothing shows that the killed one was not held'],
    };
  const lines: string[] = [];
  let leaked = false;
  for (const worker of ended) {
    const own = events.filter((event) => event.worker === worker);
    const held = own.find((event) => event.event === 'held');
    const exited = own.find((event) => event.event === 'exited');
    if (held !== undefined) {
      leaked = true;
      lines.push(
        `worker ${worker} was still held ${HELD_AFTER_MS} ms after its last test by: ${held.by.join('; ')}`,
      );
    } else if (exited === undefined) {
      leaked = true;
      lines.push(
        `worker ${worker} never reached its exit handlers: a blocked event loop, or killed while held`,
      );
    } else if (exited.ms >= HELD_AFTER_MS) {
      leaked = true;
      lines.push(`worker ${worker} took ${Math.round(exited.ms)} ms to exit (${exited.detail})`);
    } else {
      lines.push(`worker ${worker} exited ${Math.round(exited.ms)} ms after its last test`);
    }
  }
  if (!leaked)
    lines.push(
      'every worker was free and had exited as far as Node goes: the rest of the 500 ms jest allows went in the ' +
        'operating system releasing its memory, not in anything a test left',
    );
  return { leaked, lines };
}

if (require.main === module) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: worker-exits.ts <PG_DR_WORKER_EXIT_LOG file>\n');
    process.exit(2);
  }
  const verdict = workerExitVerdict(parseWorkerExitLog(readFileSync(file, 'utf8')));
  for (const line of verdict.lines) process.stderr.write(`CI: ${line}\n`);
  process.exit(verdict.leaked ? 1 : 0);
}
