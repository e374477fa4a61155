import { ExecutionAbortedError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { workflowDefinitionText } from '../workflow-definition';
import './promise-compat';

/**
 * An ASL file as CDK deploys it (shared retriers filled in), with its `${Name}` substitutions made exactly as
 * CDK's definitionSubstitutions make them.
 */
export function loadDefinition(file: string, substitutions: Record<string, string>): Record<string, unknown> {
  const text = workflowDefinitionText(file).replace(/\$\{([A-Za-z0-9]+)\}/g, (whole, name: string) => {
    const value = substitutions[name];
    if (value === undefined) throw new Error(`no substitution for ${whole} in ${file}`);
    return value;
  });
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Stand-ins for what CDK substitutes into a definition, for running it locally: every `${XFunctionArn}` gets
 * a Lambda ARN, `${XStateMachineArn}` a state machine ARN, `${OnCallTopicArn}` a topic ARN.
 */
export function localSubstitutions(file: string, account = '111122223333'): Record<string, string> {
  const text = workflowDefinitionText(file);
  const names = new Set([...text.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1] ?? ''));
  const arns: Record<string, string> = {};
  for (const name of names) {
    if (name.endsWith('FunctionArn'))
      arns[name] =
        `arn:aws:lambda:us-east-1:${account}:function:pg-dr-${name.slice(0, -'FunctionArn'.length)}`;
    else if (name === 'BlueGreenStateMachineArn')
      arns[name] = `arn:aws:states:us-east-1:${account}:stateMachine:pg-dr-blue-green-migration`;
    else if (name === 'OnCallTopicArn') arns[name] = `arn:aws:sns:us-east-1:${account}:pg-dr-on-call`;
    else if (name === 'DrReplicaRegion') arns[name] = 'us-east-1';
    else throw new Error(`no local stand-in for \${${name}} in ${file}`);
  }
  return arns;
}

export interface LocalExecution {
  readonly status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  readonly output?: unknown;
  readonly error?: { name: string; message: string };
  /** States entered, in order. */
  readonly path: readonly string[];
  /** When each state was entered (epoch ms), in order. */
  readonly entered: readonly { readonly state: string; readonly at: number }[];
  /** Every event, with each state's input and output: what Step Functions would keep in its history. */
  readonly history: readonly unknown[];
}

type Handler = (input: never) => unknown;

/** A local run's event (aws-local-stepfunctions' event log). */
export interface RunEvent {
  readonly type: string;
  readonly timestamp: number;
  readonly state?: {
    readonly name: string;
    readonly type: string;
    readonly input?: unknown;
    readonly output?: unknown;
  };
  readonly Error?: string;
  readonly Cause?: unknown;
}

export interface RunHooks {
  /** The execution's ARN and name, as $$.Execution gives them. */
  readonly executionArn?: string;
  /** Sees every event as it happens; `abort` stops the execution as StopExecution would. */
  readonly onEvent?: (event: RunEvent, abort: () => void) => void;
}

/** What a task still running when its execution stopped settles with. */
class ExecutionStoppedError extends Error {
  override readonly name = 'States.Aborted';
}

/**
 * The handlers, made to settle at once when their execution stops or times out, as Step Functions stops waiting
 * for a task then. The library otherwise keeps awaiting the running task (and its TimeoutSeconds and the
 * execution's timers with it, for as long as the task runs) and retries it after the stop: work that outlives
 * the execution, and timers that keep a process alive.
 */
function stoppableTasks(handlers: Record<string, Handler>): {
  handlers: Record<string, Handler>;
  stop: () => void;
} {
  let stopped = false;
  let settle: (error: Error) => void = () => undefined;
  const onStop = new Promise<never>((_resolve, reject) => {
    settle = reject;
  });
  onStop.catch(() => undefined);
  const stoppable: Record<string, Handler> = {};
  for (const [name, handler] of Object.entries(handlers))
    stoppable[name] = (input: never) =>
      stopped
        ? Promise.reject(new ExecutionStoppedError('the execution stopped'))
        : Promise.race([Promise.resolve().then(() => handler(input)), onStop]);
  return {
    handlers: stoppable,
    stop: () => {
      stopped = true;
      settle(new ExecutionStoppedError('the execution stopped'));
    },
  };
}

/** Runs the definition locally; Task states run the given local functions (the real step handlers). */
export async function runLocally(
  definition: Record<string, unknown>,
  input: unknown,
  handlers: Record<string, Handler>,
  retryIntervalOverrides: Record<string, number> = {},
  waitTimeOverrides: Record<string, number> = {},
  hooks: RunHooks = {},
): Promise<LocalExecution> {
  const machine = new StateMachine(definition as never, {
    validationOptions: { checkArn: true, checkPaths: true },
  });
  const executionArn =
    hooks.executionArn ?? 'arn:aws:states:us-east-1:111122223333:execution:local:local-run';
  const tasks = stoppableTasks(handlers);
  const execution = machine.run(input as never, {
    // What Step Functions provides as $$ (the context object).
    context: {
      Execution: {
        Id: executionArn,
        Name: executionArn.split(':').at(-1) ?? 'local-run',
        StartTime: new Date().toISOString(),
        Input: input as never,
        RoleArn: 'arn:aws:iam::111122223333:role/local',
      },
    },
    overrides: {
      taskResourceLocalHandlers: tasks.handlers as never,
      retryIntervalOverrides,
      waitTimeOverrides,
    },
  });
  const path: string[] = [];
  const entered: { state: string; at: number }[] = [];
  const history: unknown[] = [];
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      history.push(
        JSON.parse(
          JSON.stringify(event, (_key, value: unknown) =>
            value instanceof Error ? { name: value.name, message: value.message } : value,
          ),
        ) as unknown,
      );
      if (event.type === 'StateEntered') {
        path.push(event.state.name);
        entered.push({ state: event.state.name, at: Date.now() });
      }
      hooks.onEvent?.(event, () => {
        execution.abort();
      });
    }
  })();
  try {
    const output: unknown = await execution.result;
    await collecting;
    return { status: 'SUCCEEDED', output, path, entered, history };
  } catch (error) {
    // Stopped or timed out: the execution no longer waits for its running task (nor retries it).
    tasks.stop();
    await collecting.catch(() => undefined);
    if (error instanceof ExecutionAbortedError)
      return {
        status: 'ABORTED',
        error: { name: 'States.Aborted', message: 'stopped' },
        path,
        entered,
        history,
      };
    if (error instanceof ExecutionTimeoutError)
      return {
        status: 'TIMED_OUT',
        error: { name: 'States.Timeout', message: 'the execution ran past its TimeoutSeconds' },
        path,
        entered,
        history,
      };
    // The library wraps the execution's own error (a Fail state's Error and Cause) as `cause`.
    const { cause } = error as Error;
    const { name, message } = cause instanceof Error ? cause : (error as Error);
    return { status: 'FAILED', error: { name, message }, path, entered, history };
  }
}
