import { runLocally } from '../support/workflow';

// The local runner itself: a stopped or timed-out execution leaves nothing running behind it. Step Functions
// stops waiting for the running task then and never retries it; the library kept awaiting the task (with its
// TimeoutSeconds timer and the execution's) and retried it, which kept a jest worker alive for minutes.
const LAMBDA = 'arn:aws:lambda:us-east-1:111122223333:function:pg-dr-slow';

function definition(timeoutSeconds?: number): Record<string, unknown> {
  return {
    StartAt: 'Slow',
    ...(timeoutSeconds === undefined ? {} : { TimeoutSeconds: timeoutSeconds }),
    States: {
      Slow: {
        Type: 'Task',
        Resource: LAMBDA,
        TimeoutSeconds: 600,
        Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 3, IntervalSeconds: 60 }],
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
        End: true,
      },
      Caught: { Type: 'Pass', End: true },
    },
  };
}

/** A task that never answers, counting its invocations. */
function neverAnswers(): { calls: () => number; handlers: Record<string, (input: never) => unknown> } {
  let calls = 0;
  return {
    calls: () => calls,
    handlers: {
      Slow: () => {
        calls++;
        return new Promise(() => undefined);
      },
    },
  };
}

async function settled(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('a local execution that stops while a task runs', () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('stopped (StopExecution): ends ABORTED, the task neither awaited nor retried, no timer left', async () => {
    const task = neverAnswers();
    const run = await runLocally(
      definition(3600),
      {},
      task.handlers,
      {},
      {},
      {
        onEvent: (event, abort) => {
          if (event.type === 'StateEntered' && event.state?.name === 'Slow') abort();
        },
      },
    );
    expect(run.status).toBe('ABORTED');
    await settled();
    expect(task.calls()).toBe(1);
    expect(jest.getTimerCount()).toBe(0);
    expect(run.path).toEqual(['Slow']);
  });

  it('timed out (its TimeoutSeconds): ends TIMED_OUT, the task neither awaited nor retried, no timer left', async () => {
    const task = neverAnswers();
    const running = runLocally(definition(30), {}, task.handlers);
    await settled();
    expect(jest.getTimerCount()).toBe(2);
    await jest.advanceTimersByTimeAsync(30_000);
    const run = await running;
    expect(run.status).toBe('TIMED_OUT');
    await settled();
    expect(task.calls()).toBe(1);
    expect(jest.getTimerCount()).toBe(0);
  });
});
