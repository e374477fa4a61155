import { parseInput, runStep, stepInstrumentation } from '../shared/step';
import { blueGreenInputSchema } from './schema';

const instrumentation = stepInstrumentation('validate-input');

/**
 * First state of the workflow: rejects a malformed execution input as InvalidInput (naming the fields) before
 * any database or AWS API is touched, and before a later state could fail on a missing path unnotified.
 */
export async function handler(event: unknown): Promise<{ valid: true }> {
  return runStep(instrumentation, () => {
    parseInput(blueGreenInputSchema, event);
    return Promise.resolve({ valid: true as const });
  });
}
