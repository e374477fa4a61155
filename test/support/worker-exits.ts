/**
 * How a jest worker ends, told apart from a leak. Jest gives a worker it ends 500 ms to exit, then kills it and
 * prints "A worker process has failed to exit gracefully". That happens when a test left something running
 * (a leak), but also when the worker had already exited as far as Node goes and the operating system was still
 * freeing its memory: a worker that has run the whole suite holds over a gigabyte, and the kernel takes a few
 * hundred milliseconds to release that on a loaded 2-core machine (measured: `kill -9` of a 1.8 GB Node process
 * takes 270 ms to be reaped here). Node itself can also take that long between a free event loop and the exit
 * handlers (a CI run saw 337 ms, with nothing keeping the loop alive from jest's end on): it drains its
 * background tasks (most likely the garbage collector's, on a heap that size) before it exits; nothing a test left runs
 * then.
 *
 * The test environment (timer-leak-environment.ts) writes each worker's end to the file named by
 * PG_DR_WORKER_EXIT_LOG, a JSON line per event; `.ci/run` asks this module, when jest had to kill a worker,
 * whether any worker was actually held. Run directly (`tsx test/support/worker-exits.ts FILE`), it prints the
 * verdict and exits 1 on a leak.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { z } from 'zod';

/** The variable naming the file the environment appends worker-exit events to. */
export const WORKER_EXIT_LOG_ENV = 'PG_DR_WORKER_EXIT_LOG';

/**
 * A worker still in JavaScript this long after jest ended it is held by something a test left: a handle, a
 * timer, a pending request, a blocked event loop, or slow exit handlers. Half of jest's 500 ms, so that what
 * is left is the operating system's share. Something a test left that lets go sooner (a socket closing within
 * 250 ms) passes: it delays the exit, it does not keep the worker.
 */
export const HELD_AFTER_MS = 250;

const workerExitEventSchema = z.discriminatedUnion('event', [
  /** The process became a jest worker (the environment was installed in it). */
  z.strictObject({ worker: z.number().int(), event: z.literal('started') }),
  /** Jest ended the worker (its child removed its IPC listener). */
  z.strictObject({ worker: z.number().int(), event: z.literal('ended') }),
  /**
   * Node's `exit` event ran its last handler, `ms` after jest's end, with this exit code. The code is told,
   * not judged: a test that runs the CLI's entry point sets the worker's `process.exitCode` through jest's
   * process object, and jest ignores a worker's code at the end.
   */
  z.strictObject({
    worker: z.number().int(),
    event: z.literal('exited'),
    ms: z.number().min(0),
    code: z.number().int(),
    detail: z.string(),
    /**
     * When nothing kept the event loop alive any more, `ms`-style (after jest's end, a late handling of it
     * included); absent when the worker was never seen free. From then on nothing a test left can run: the
     * rest, up to the exit handlers, is Node's own (its background tasks drained before the process exits).
     */
    freeAfterMs: z.number().min(0).optional(),
    /** Time in the exit handlers. */
    handlersMs: z.number().min(0).optional(),
  }),
  /** An exception nothing caught, after jest's end: the worker crashed instead of exiting. */
  z.strictObject({ worker: z.number().int(), event: z.literal('crashed'), error: z.string() }),
  /** HELD_AFTER_MS after the end, these still kept the worker alive. */
  z.strictObject({ worker: z.number().int(), event: z.literal('held'), by: z.array(z.string()) }),
]);
export type WorkerExitEvent = z.infer<typeof workerExitEventSchema>;

/** Appends one event to the file named by PG_DR_WORKER_EXIT_LOG, when set. Synchronous: it runs in exit handlers. */
export function recordWorkerExitEvent(event: WorkerExitEvent): void {
  const file = process.env[WORKER_EXIT_LOG_ENV];
  if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify(event)}\n`);
}

/** The events of a log, in order; a line that is not one (a torn write, another shape) is skipped. */
export function parseWorkerExitLog(text: string): WorkerExitEvent[] {
  const events: WorkerExitEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed = workerExitEventSchema.safeParse(JSON.parse(line));
      if (parsed.success) events.push(parsed.data);
    } catch {
      // A line cut short by a killed worker: the events around it still count.
    }
  }
  return events;
}

/**
 * How long a worker was kept after jest's end by anything a test could have left: until nothing kept its loop
 * alive, plus its exit handlers; all of it when it was never seen free.
 */
function heldFor(exited: Extract<WorkerExitEvent, { event: 'exited' }>): number {
  return exited.freeAfterMs === undefined ? exited.ms : exited.freeAfterMs + (exited.handlersMs ?? 0);
}

export interface WorkerExitVerdict {
  /** True when some worker was held after jest ended it, or the log cannot show that none was. */
  readonly leaked: boolean;
  readonly lines: readonly string[];
}

/**
 * Whether any jest worker was held by something a test left, from the workers' own events. Every worker that
 * started (ran a test file) must have handled jest's end and reached its exit handlers without crashing; the
 * time until nothing kept its loop alive, plus its exit handlers, must stay within HELD_AFTER_MS, counting a
 * stall that delayed its handling the end; one that never recorded its exit was killed while held (a blocked
 * event loop, a handle) or crashed.
 */
export function workerExitVerdict(events: readonly WorkerExitEvent[]): WorkerExitVerdict {
  const workers = [...new Set(events.map((event) => event.worker))];
  if (workers.length === 0)
    return {
      leaked: true,
      lines: ['no worker recorded anything: nothing shows that the killed one was not held'],
    };
  const lines: string[] = [];
  let leaked = false;
  for (const worker of workers) {
    const own = events.filter((event) => event.worker === worker);
    const held = own.find((event) => event.event === 'held');
    const exited = own.find((event) => event.event === 'exited');
    const crashed = own.find((event) => event.event === 'crashed');
    if (held !== undefined) {
      leaked = true;
      lines.push(
        `worker ${worker} was still held ${HELD_AFTER_MS} ms after its last test by: ${held.by.join('; ')}`,
      );
    } else if (exited === undefined) {
      leaked = true;
      lines.push(
        `worker ${worker} never reached its exit handlers after jest ended it: a blocked event loop, a crash, ` +
          'or killed while held',
      );
    } else if (crashed !== undefined) {
      leaked = true;
      lines.push(`worker ${worker} crashed after its last test: ${crashed.error}`);
    } else if (heldFor(exited) >= HELD_AFTER_MS) {
      leaked = true;
      lines.push(`worker ${worker} took ${Math.round(exited.ms)} ms to exit (${exited.detail})`);
    } else if (exited.ms >= HELD_AFTER_MS) {
      lines.push(
        `worker ${worker} exited ${Math.round(exited.ms)} ms after its last test, free of anything a test left ` +
          `after ${Math.round(heldFor(exited))} ms: the rest was Node's own (${exited.detail})`,
      );
    } else {
      lines.push(`worker ${worker} exited ${Math.round(exited.ms)} ms after its last test`);
    }
  }
  if (!leaked)
    lines.push(
      'every worker was free of anything a test left in time: the rest of the 500 ms jest allows went in Node ' +
        'draining its own tasks or the operating system releasing its memory',
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
