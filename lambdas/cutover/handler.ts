import { z } from 'zod';
import { databaseRefSchema, lambdaResolver, withConnection } from '../shared/database';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import {
  CutoverError,
  fenceBlue,
  finishCutover,
  prepareCutover,
  syncSequences,
  unfenceBlue,
  waitForCatchUp,
} from './cutover';

const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: 'must be a lower-case identifier' });

export const cutoverEventSchema = z.strictObject({
  /**
   * `prepare`: fence green, ready the barrier. `fence`: fence blue, wait until green has blue's last write,
   * copy sequences (unfences blue itself if catch-up times out). `abort`: unfence blue. `finish`: drop the
   * subscription and lift green's fence.
   */
  mode: z.enum(['prepare', 'fence', 'abort', 'finish']),
  blue: databaseRefSchema,
  green: databaseRefSchema,
  subscription: identifier.default('dr_blue_green'),
  catchUpTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
});
export type CutoverEvent = z.input<typeof cutoverEventSchema>;

export type CutoverResult =
  | { readonly mode: 'prepare' }
  | {
      readonly mode: 'fence';
      readonly terminatedSessions: number;
      readonly caughtUpMs: number;
      readonly blueLsn: string;
      readonly sequences: readonly { name: string; value: string }[];
    }
  | { readonly mode: 'abort' }
  | { readonly mode: 'finish'; readonly droppedSubscription: boolean };

const instrumentation = stepInstrumentation('cutover');
const CONNECT = { connectTimeoutMs: 10_000, statementTimeoutMs: 60_000, applicationName: 'dr-cutover' };

/** The zero-loss cutover, one phase per invocation so the workflow can flip DNS between them. */
export async function handler(event: unknown): Promise<CutoverResult> {
  return runStep(instrumentation, async () => {
    const input = parseInput(cutoverEventSchema, event);
    const resolve = lambdaResolver();
    const [blueSettings, greenSettings] = await Promise.all([resolve(input.blue), resolve(input.green)]);
    try {
      if (input.mode === 'finish') {
        const result = await withConnection(greenSettings, CONNECT, (green) =>
          finishCutover(green, input.subscription),
        );
        return { mode: 'finish', ...result };
      }
      return await withConnection(blueSettings, CONNECT, async (blue): Promise<CutoverResult> => {
        if (input.mode === 'abort') {
          await unfenceBlue(blue);
          instrumentation.logger.warn('blue unfenced: cutover aborted');
          return { mode: 'abort' };
        }
        return withConnection(greenSettings, CONNECT, async (green): Promise<CutoverResult> => {
          if (input.mode === 'prepare') {
            await prepareCutover(blue, green, input.subscription);
            return { mode: 'prepare' };
          }
          const fenced = await fenceBlue(blue);
          instrumentation.logger.info('blue fenced', { ...fenced });
          try {
            const caughtUp = await waitForCatchUp(blue, green, {
              subscription: input.subscription,
              timeoutMs: input.catchUpTimeoutMs,
              pollMs: 20,
            });
            const sequences = await syncSequences(blue, green);
            return { mode: 'fence', ...fenced, ...caughtUp, sequences };
          } catch (error) {
            // Never leave production fenced because green fell behind.
            await unfenceBlue(blue);
            instrumentation.logger.warn('blue unfenced after a failed catch-up');
            throw error;
          }
        });
      });
    } catch (error) {
      if (error instanceof CutoverError) throw new StepError(error.name, error.message);
      throw error;
    }
  });
}
