/**
 * The test environment of every suite: Node's, plus a check that a test file leaves no long timer running. A
 * referenced timer that outlives its file keeps the jest worker alive when the run ends; jest then kills the
 * worker ("failed to exit gracefully"), and names no file. This names the file and where the timer was set.
 *
 * Timers of a second or more, and every interval, are recorded with the stack that set them (shorter timers end
 * on their own before they matter, and are not worth a stack each); at teardown, one still pending and
 * referenced fails the file. Servers, sockets and child processes a file left open are reported on stderr
 * (reportOpenHandles), not failed on: they may still be closing.
 */
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import { TestEnvironment } from 'jest-environment-node';
import { HELD_AFTER_MS, recordWorkerExitEvent } from './worker-exits';

/** A timeout this long or longer is recorded; an interval always is. */
export const RECORDED_TIMER_MS = 1000;

interface Recorded {
  readonly kind: 'timeout' | 'interval';
  readonly ms: number;
  readonly setAt: Error;
}

type TimerFunction = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => unknown;
type Handle = { hasRef?: () => boolean };
interface Timers {
  setTimeout: TimerFunction;
  setInterval: TimerFunction;
  clearTimeout: (handle: unknown) => void;
  clearInterval: (handle: unknown) => void;
}

/** The kinds of handle that keep a process alive and that a test may open: servers, sockets, child processes. */
const WATCHED_HANDLES = new Set(['TCPServerWrap', 'TCPSocketWrap', 'ProcessWrap', 'PipeWrap', 'UDPWrap']);

// Node opens the standard streams' handles on first use: opened here, before any baseline, so the first file a
// worker runs is not blamed for the pipe its first log line opens.
const STANDARD_STREAMS = new Set<unknown>([process.stdout, process.stderr]);

function handleCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo())
    if (WATCHED_HANDLES.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

interface LiveHandle {
  constructor: { name: string };
  hasRef?: () => boolean;
  _handle?: { hasRef?: () => boolean; fd?: number } | null;
  _idleTimeout?: number;
  _onTimeout?: unknown;
  remoteAddress?: string;
  remotePort?: number;
  spawnargs?: string[];
  pid?: number;
  address?: () => unknown;
}

/** What a live handle is, in a line: enough to find the code that opened it. */
function describeHandle(handle: LiveHandle): string {
  const kind = handle.constructor.name;
  if (handle.spawnargs !== undefined)
    return `${kind} ${handle.pid ?? '?'}: ${handle.spawnargs.join(' ').slice(0, 200)}`;
  if (handle._idleTimeout !== undefined)
    return `${kind} of ${handle._idleTimeout} ms: ${String(handle._onTimeout).replace(/\s+/g, ' ').slice(0, 200)}`;
  if (handle.remotePort !== undefined)
    return `${kind} to ${handle.remoteAddress ?? '?'}:${handle.remotePort}`;
  if (typeof handle.address === 'function') return `${kind} at ${JSON.stringify(handle.address())}`;
  return kind;
}

function referenced(handle: LiveHandle): boolean {
  if (typeof handle.hasRef === 'function') return handle.hasRef();
  return handle._handle?.hasRef?.() ?? true;
}

/** Resource kinds that are handles (listed as such above) or timers, not pending requests. */
const HANDLE_KINDS = new Set([
  'Timeout',
  'Immediate',
  'TTYWrap',
  'PipeWrap',
  'TCPSocketWrap',
  'TCPServerWrap',
  'ProcessWrap',
  'SignalWrap',
  'UDPWrap',
  'FSEventWrap',
  'StatWatcher',
]);

/** What keeps the process alive right now, beyond the standard streams and jest's channel, in short. */
function whatKeepsItAlive(): string[] {
  const internals = process as unknown as { _getActiveHandles: () => LiveHandle[] };
  const standard = new Set<unknown>([...STANDARD_STREAMS, process.channel]);
  const kept = internals._getActiveHandles().filter((handle) => !standard.has(handle) && referenced(handle));
  // Timers and pending requests (a DNS lookup, a file operation) are not handles: they show only as resources,
  // by kind.
  const resources = process.getActiveResourcesInfo();
  const timers = resources.filter((kind) => kind === 'Timeout').length;
  const immediates = resources.filter((kind) => kind === 'Immediate').length;
  const requests = resources.filter((kind) => !HANDLE_KINDS.has(kind));
  return [
    ...kept.map(describeHandle),
    ...(timers > 0 ? [`${timers} Timeout(s)`] : []),
    ...(immediates > 0 ? [`${immediates} Immediate(s) (a loop of setImmediate?)`] : []),
    ...(requests.length > 0 ? [`pending ${requests.join(', ')}`] : []),
  ];
}

/** What keeps the process alive, never throwing (a handle may fail to describe itself, e.g. a closed socket). */
function whatKeepsItAliveSafely(): string[] {
  try {
    return whatKeepsItAlive();
  } catch (error) {
    return [`(could not list: ${error instanceof Error ? error.message : String(error)})`];
  }
}

/**
 * The worker's event-loop lag monitor, started once per worker: an unref'd 50 ms tick that says when it last
 * ran, the longest stall since it was last reset, and runs what the exit timing hooks on it.
 */
const LAG_TICK_MS = 50;
const lag = { lastTick: performance.now(), worstStall: 0, onTick: undefined as (() => void) | undefined };

function startLagMonitor(): void {
  setInterval(() => {
    const now = performance.now();
    lag.worstStall = Math.max(lag.worstStall, now - lag.lastTick - LAG_TICK_MS);
    lag.lastTick = now;
    lag.onTick?.();
  }, LAG_TICK_MS).unref();
}

/**
 * Records when the worker's exit handlers finish, measured from jest's end: what tells a held worker from one
 * the operating system was still reaping when jest killed it (worker-exits.ts). Jest's 500 ms start when it
 * sends the end, which a blocked event loop handles late: the stall in progress when the end is handled
 * counts too. A slow exit also says where the time went: what held the loop (sampled at the end and on each lag
 * tick, which also tells when nothing kept it any more), the longest stall, the exit handlers.
 */
function timeTheExit(): void {
  const ended = performance.now();
  const lateBy = Math.max(0, ended - lag.lastTick - LAG_TICK_MS);
  lag.lastTick = ended;
  lag.worstStall = 0;
  let exiting = ended;
  let freeAt: number | undefined;
  const seen: string[] = [];
  let previous = '';
  // First of the exit handlers (prepended), then last of them (added after every test file's own); both
  // registered before anything here can throw.
  process.prependListener('exit', () => {
    exiting = performance.now();
  });
  process.on('exit', (code) => {
    const ms = performance.now() - ended + lateBy;
    const handlersMs = performance.now() - exiting;
    const freeAfterMs = freeAt === undefined ? undefined : freeAt - ended + lateBy;
    const detail =
      `handled jest's end ${Math.round(lateBy)} ms late, then ${Math.round(exiting - ended)} ms until it began ` +
      `exiting (longest event-loop stall ${Math.round(lag.worstStall)} ms), ${Math.round(performance.now() - exiting)} ms ` +
      `in ${process.listenerCount('exit')} exit handlers; held by: ${seen.join(', ')}`;
    recordWorkerExitEvent({
      worker: process.pid,
      event: 'exited',
      ms,
      code,
      detail,
      handlersMs,
      ...(freeAfterMs === undefined ? {} : { freeAfterMs }),
    });
    if (ms >= HELD_AFTER_MS)
      process.stderr.write(`[worker ${process.pid} exited ${code} after ${Math.round(ms)} ms: ${detail}]\n`);
  });
  const sample = (): void => {
    const kept = whatKeepsItAliveSafely();
    // Free from the first sample that finds nothing, unless something keeps it again later.
    if (kept.length > 0) freeAt = undefined;
    else freeAt ??= performance.now();
    const state = kept.join('; ') || 'nothing';
    if (state !== previous && seen.length < 10)
      seen.push(`+${Math.round(performance.now() - ended)} ms: ${state}`);
    previous = state;
  };
  lag.onTick = sample;
  sample();
}

/**
 * Records that this process is a jest worker (so one that never handles jest's end still counts), and when
 * jest ends it (its child removes its IPC listener): the end, the exit's timing, and what still keeps the
 * process alive HELD_AFTER_MS later: the lead for "a worker process has failed to exit gracefully", which
 * names no test file. Installed once per worker process.
 */
function reportWhatKeepsTheWorkerAlive(): void {
  const marker = Symbol.for('pg-dr.worker-exit-report');
  const holder = process as unknown as Record<symbol, boolean>;
  if (holder[marker] === true || process.send === undefined) return;
  holder[marker] = true;
  recordWorkerExitEvent({ worker: process.pid, event: 'started' });
  startLagMonitor();
  process.on('removeListener', (event) => {
    if (event !== 'message' || process.listenerCount('message') > 0) return;
    recordWorkerExitEvent({ worker: process.pid, event: 'ended' });
    // Watches without handling: the crash still ends the worker as Node would.
    process.on('uncaughtExceptionMonitor', (error) => {
      recordWorkerExitEvent({
        worker: process.pid,
        event: 'crashed',
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
    });
    timeTheExit();
    setTimeout(() => {
      const by = whatKeepsItAliveSafely();
      if (by.length === 0) return;
      recordWorkerExitEvent({ worker: process.pid, event: 'held', by });
      process.stderr.write(`[worker ${process.pid} kept alive after its last test by] ${by.join('; ')}\n`);
    }, HELD_AFTER_MS).unref();
  });
}

export default class TimerLeakEnvironment extends TestEnvironment {
  private readonly testPath: string;
  private readonly pending = new Map<unknown, Recorded>();
  private readonly baseline: Map<string, number>;

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    reportWhatKeepsTheWorkerAlive();
    this.testPath = context.testPath;
    this.baseline = handleCounts();
    const sandbox = this.global as unknown as Timers;
    const pending = this.pending;
    const record = (name: 'setTimeout' | 'setInterval', kind: Recorded['kind']): void => {
      const original = sandbox[name];
      sandbox[name] = function (this: unknown, callback, ms, ...args) {
        const delay = ms ?? 0;
        if (kind === 'timeout' && !(delay >= RECORDED_TIMER_MS))
          return original.call(this, callback, ms, ...args);
        const handle = original.call(
          this,
          (...given: unknown[]) => {
            if (kind === 'timeout') pending.delete(handle);
            callback(...given);
          },
          ms,
          ...args,
        );
        pending.set(handle, { kind, ms: delay, setAt: new Error('set here') });
        return handle;
      };
    };
    record('setTimeout', 'timeout');
    record('setInterval', 'interval');
    for (const name of ['clearTimeout', 'clearInterval'] as const) {
      const original = sandbox[name];
      sandbox[name] = (handle: unknown) => {
        pending.delete(handle);
        original(handle);
      };
    }
  }

  override async teardown(): Promise<void> {
    await this.reportOpenHandles();
    const referenced = [...this.pending.entries()]
      .filter(([handle]) => (handle as Handle).hasRef?.() ?? true)
      .map(([, recorded]) => recorded);
    this.pending.clear();
    await super.teardown();
    if (referenced.length === 0) return;
    const shown = referenced
      .slice(0, 3)
      .map(
        (timer) =>
          `a ${timer.kind} of ${timer.ms} ms, set at:\n${(timer.setAt.stack ?? '').split('\n').slice(2, 10).join('\n')}`,
      );
    throw new Error(
      `${this.testPath} left ${referenced.length} timer(s) running after its last test (it would keep the jest ` +
        `worker alive): clear them, or unref() them if they may outlive the test.\n${shown.join('\n')}`,
    );
  }

  /**
   * Says (on stderr, without failing: a socket may still be closing) which servers, sockets or child processes
   * the file left open two seconds after its last test, beyond those open when it started: the lead when jest
   * later has to kill a worker.
   */
  private async reportOpenHandles(): Promise<void> {
    const extra = (): string[] =>
      [...handleCounts()]
        .filter(([kind, count]) => count > (this.baseline.get(kind) ?? 0))
        .map(([kind, count]) => `${kind} x${count - (this.baseline.get(kind) ?? 0)}`);
    for (let i = 0; i < 40 && extra().length > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const left = extra();
    if (left.length > 0)
      process.stderr.write(`[open handles] ${this.testPath} left open: ${left.join(', ')}\n`);
  }
}
