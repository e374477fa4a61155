/**
 * How CI tells a worker a test left running from one jest killed while the kernel was still freeing its
 * memory: the verdict on recorded events, and the events the test environment really records when jest ends
 * its workers (a child jest run over two tiny suites, one of which may leave a server listening).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  HELD_AFTER_MS,
  WORKER_EXIT_LOG_ENV,
  parseWorkerExitLog,
  workerExitVerdict,
  type WorkerExitEvent,
} from './worker-exits';

describe('workerExitVerdict', () => {
  const ended = (worker: number): WorkerExitEvent => ({ worker, event: 'ended' });
  const exited = (worker: number, ms: number, code = 0): WorkerExitEvent => ({
    worker,
    event: 'exited',
    ms,
    code,
    detail: 'd',
  });

  it('is no leak when every ended worker reached its exit handlers in time', () => {
    const verdict = workerExitVerdict([ended(1), ended(2), exited(2, 3), exited(1, 0)]);
    expect(verdict.leaked).toBe(false);
    expect(verdict.lines.join('\n')).toMatch(/operating system releasing its memory/);
  });

  it('is a leak when a worker was held, naming what held it', () => {
    const verdict = workerExitVerdict([
      ended(1),
      { worker: 1, event: 'held', by: ['Server at {"port":5}'] },
      exited(1, 40),
    ]);
    expect(verdict).toEqual({ leaked: true, lines: [expect.stringContaining('Server at {"port":5}')] });
  });

  it('is a leak when a worker never reached its exit handlers, or took too long to', () => {
    expect(workerExitVerdict([ended(1), ended(2), exited(1, 1)]).leaked).toBe(true);
    expect(workerExitVerdict([ended(1), exited(1, HELD_AFTER_MS)]).leaked).toBe(true);
    expect(workerExitVerdict([ended(1), exited(1, HELD_AFTER_MS - 1)]).leaked).toBe(false);
  });

  it("is no leak when the loop was free in time and the rest of the exit was Node's own", () => {
    const slow = (freeAfterMs: number | undefined, handlersMs: number): WorkerExitEvent => ({
      worker: 1,
      event: 'exited',
      ms: 373,
      code: 0,
      detail: 'd',
      handlersMs,
      ...(freeAfterMs === undefined ? {} : { freeAfterMs }),
    });
    const free = workerExitVerdict([ended(1), slow(36, 0)]);
    expect(free.leaked).toBe(false);
    expect(free.lines[0]).toMatch(
      /exited 373 ms after its last test, free of anything a test left after 36 ms/,
    );
    // Free late, slow exit handlers, or never seen free: held.
    expect(workerExitVerdict([ended(1), slow(HELD_AFTER_MS, 0)]).leaked).toBe(true);
    expect(workerExitVerdict([ended(1), slow(0, HELD_AFTER_MS)]).leaked).toBe(true);
    expect(workerExitVerdict([ended(1), slow(undefined, 0)]).leaked).toBe(true);
  });

  it('is a leak when no worker recorded anything: nothing shows the killed one was free', () => {
    expect(workerExitVerdict([]).leaked).toBe(true);
  });

  it('is a leak when a worker that started never handled the end (a blocked loop), or crashed after it', () => {
    const started = (worker: number): WorkerExitEvent => ({ worker, event: 'started' });
    expect(workerExitVerdict([started(1), started(2), ended(1), exited(1, 2)]).leaked).toBe(true);
    expect(
      workerExitVerdict([
        started(1),
        ended(1),
        { worker: 1, event: 'crashed', error: 'Error: boom' },
        exited(1, 2, 7),
      ]).leaked,
    ).toBe(true);
    // A code a test set (the CLI's entry point sets process.exitCode) is not a crash.
    expect(workerExitVerdict([started(1), ended(1), exited(1, 2, 1)]).leaked).toBe(false);
    expect(
      workerExitVerdict([started(1), started(2), ended(1), ended(2), exited(1, 2), exited(2, 3)]).leaked,
    ).toBe(false);
  });

  it('reads the log line by line, skipping a line a killed worker cut short', () => {
    const log = [
      JSON.stringify(ended(7)),
      '{"worker":7,"ev',
      '{"worker":7,"event":"exited","detail":"no ms, no code"}',
      JSON.stringify(exited(7, 2)),
    ].join('\n');
    expect(parseWorkerExitLog(log)).toEqual([ended(7), exited(7, 2)]);
  });
});

describe('the events the test environment records as jest ends its workers', () => {
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'worker-exits-'));
  });
  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  /** Runs jest with two workers over two one-test suites; `leak` makes the first leave a server listening. */
  function runJest(leak: boolean): { events: WorkerExitEvent[]; output: string } {
    const root = resolve(__dirname, '../..');
    const log = join(folder, 'exits.jsonl');
    writeFileSync(
      join(folder, 'first.test.js'),
      leak
        ? "require('node:net').createServer().listen(0, '127.0.0.1');\ntest('first', () => {});\n"
        : "test('first', () => {});\n",
    );
    writeFileSync(join(folder, 'second.test.js'), "test('second', () => {});\n");
    const config = {
      rootDir: folder,
      testEnvironment: join(root, 'test/support/timer-leak-environment.ts'),
      transform: { '^.+\\.ts$': join(root, 'node_modules/ts-jest') },
      cacheDirectory: join(folder, 'cache'),
    };
    const run = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules/jest/bin/jest.js'),
        '--config',
        JSON.stringify(config),
        '--maxWorkers=2',
        '--ci',
      ],
      {
        cwd: root,
        env: { ...process.env, [WORKER_EXIT_LOG_ENV]: log },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(run.status).toBe(0);
    return { events: parseWorkerExitLog(readFileSync(log, 'utf8')), output: run.stderr };
  }

  it('records a worker held by a server a test left listening, and the verdict is a leak', () => {
    const { events, output } = runJest(true);
    expect(output).toMatch(/failed to exit gracefully/);
    const held = events.find((event) => event.event === 'held');
    expect(held).toMatchObject({ by: [expect.stringMatching(/^Server at .*127\.0\.0\.1/)] });
    // Never free: killed while the server kept it, it records no exit.
    expect(events.filter((event) => event.worker === held?.worker && event.event === 'exited')).toEqual([]);
    expect(workerExitVerdict(events).leaked).toBe(true);
  }, 150_000);

  it("records both workers' ends and exits when nothing is left, and the verdict is no leak", () => {
    const { events } = runJest(false);
    const workers = new Set(events.filter((event) => event.event === 'ended').map((event) => event.worker));
    expect(workers.size).toBe(2);
    for (const worker of workers)
      expect(events.find((event) => event.worker === worker && event.event === 'exited')).toMatchObject({
        freeAfterMs: expect.any(Number) as unknown,
        handlersMs: expect.any(Number) as unknown,
      });
    expect(workerExitVerdict(events).leaked).toBe(false);
  }, 150_000);
});
