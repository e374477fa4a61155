import { runLocally as run } from '../../lib/rehearsal/local-workflow';
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
