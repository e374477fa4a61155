import { runLocally as run } from '../../lib/rehearsal/local-workflow';
import { workflowDefinition } from '../../lib/workflow-definition';
import { scanForSecrets } from './secret-scan';

export { loadDefinition, localSubstitutions, type LocalExecution } from '../../lib/rehearsal/local-workflow';

/** Runs a definition locally; its whole history (every state's input and output) is scanned for passwords. */
export const runLocally: typeof run = async (...args) => {
  const execution = await run(...args);
  scanForSecrets('execution history', JSON.stringify(execution.history));
  return execution;
};

type Handler = (input: never) => unknown;

/**
 * A `wrap` for runInWorld: the definition's smoke-test states (the SmokeTest function's tasks) back off 1 ms
 * between attempts instead of the step's 1 s doubling to 8 s (15 s for a failing smoke test), as retry
 * intervals are shortened. The attempts and what each sees are unchanged.
 */
export function quickSmokeTests(file: string): (state: string, handler: Handler) => Handler {
  const states = Object.entries(workflowDefinition(file).States as Record<string, { Resource?: string }>)
    .filter(([, state]) => state.Resource === '${SmokeTestFunctionArn}')
    .map(([name]) => name);
  if (states.length === 0) throw new Error(`${file} has no smoke test state`);
  return (state, handler) =>
    states.includes(state)
      ? (input: never) => handler({ ...(input as object), backoffMs: 1, maxBackoffMs: 1 } as never)
      : handler;
}

/**
 * Wraps each handler to run twice per invocation and return the second result: every step completed once,
 * lost its result (the Lambda crashed before answering) and was retried. Notifications are left alone.
 */
export function everyStepTwice<H extends Record<string, Handler>>(
  handlers: H,
  publish: readonly string[],
): H {
  return Object.fromEntries(
    Object.entries(handlers).map(([state, handler]) => [
      state,
      publish.includes(state)
        ? handler
        : async (input: never) => {
            await handler(input);
            return handler(input);
          },
    ]),
  ) as H;
}
