import { z } from 'zod';
import { lowerIdentifier } from '../shared/schemas';
import {
  databaseRefSchema,
  lambdaResolver,
  withConnection,
  type ConnectionSettings,
} from '../shared/database';
import { parseInput, runStep, StepError, stepInstrumentation, toStepError } from '../shared/step';
import type { Client } from 'pg';
import {
  asFenceKeeper,
  CutoverError,
  fenceBlue,
  refuseFenceBypasses,
  finishCutover,
  prepareCutover,
  syncSequences,
  unfenceBlue,
  verifyInFencedWindow,
  waitForCatchUp,
} from './cutover';
import { planWayBack, setUpWayBack, WAY_BACK_NAME } from './way-back';

/** The default budget of the fenced window's exact comparison (see docs/limits.md for what it costs). */
export const FENCED_VERIFY_BUDGET_MS = 20_000;

const identifier = lowerIdentifier;

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
  /**
   * How long the exact row-count comparison in the fenced window may take (writes are paused meanwhile); past
   * it the cutover aborts. Catch-up and this budget together stay within the function's 11 minutes.
   */
  fencedVerifyBudgetMs: z.number().int().min(100).max(50_000).default(FENCED_VERIFY_BUDGET_MS),
  /**
   * After the flip, blue keeps following green (the way back: a rollback within the window loses nothing).
   * `prepare` refuses, before anything is fenced, a migration that makes it impossible (WayBackImpossible);
   * `finish` sets it up before green opens to writes. Null: no way back.
   */
  wayBack: z
    .strictObject({
      /** The dedicated replication user's secret: blue's subscription logs in to green with it. */
      replicationSecretId: databaseRefSchema.shape.secretId,
      publication: identifier.default(WAY_BACK_NAME),
      subscription: identifier.default(WAY_BACK_NAME),
    })
    .nullable()
    .default(null),
  /** A rollback: compare only the subscription's tables in the fenced window (see verifyInFencedWindow). */
  onlySubscribed: z.boolean().default(false),
});
export type CutoverEvent = z.input<typeof cutoverEventSchema>;

export type CutoverResult =
  | {
      readonly mode: 'prepare';
      /** With a way back: what a rollback would not carry back (it is possible). */
      readonly wayBackLossy?: readonly string[];
    }
  | {
      readonly mode: 'fence';
      readonly terminatedSessions: number;
      /** Superuser sessions (RDS's rdsadmin) the fence could not end. */
      readonly skippedSessions: number;
      readonly caughtUpMs: number;
      readonly blueLsn: string;
      /** Tables compared exactly in the fenced window, and how long that took. */
      readonly verifiedTables: number;
      readonly verifyMs: number;
      readonly sequences: readonly { name: string; value: string }[];
    }
  | { readonly mode: 'abort' }
  | {
      readonly mode: 'finish';
      readonly droppedSubscription: boolean;
      /** Blue's subscription to green (the way back), when asked for. */
      readonly wayBack?: 'created' | 'existing';
    };

const instrumentation = stepInstrumentation('cutover');
const CONNECT = { connectTimeoutMs: 10_000, statementTimeoutMs: 60_000, applicationName: 'dr-cutover' };

/**
 * Lifts the fence on blue. When that fails (blue down, crashed, rebooting) the error keeps its routable name, so
 * the workflow retries, and says how to lift the fence by hand once blue answers.
 */
async function abortCutover(blueSettings: ConnectionSettings): Promise<CutoverResult> {
  try {
    await withConnection(blueSettings, CONNECT, unfenceBlue);
  } catch (error) {
    const failure = toStepError(error);
    throw new StepError(
      failure.name,
      `${failure.message}. Blue may still refuse writes: once it answers, run on it ` +
        `SET default_transaction_read_only = off; ALTER DATABASE ` +
        `"${blueSettings.database.replace(/"/g, '""')}" RESET default_transaction_read_only`,
    );
  }
  instrumentation.logger.warn('blue unfenced: cutover aborted');
  return { mode: 'abort' };
}

const abortEventSchema = cutoverEventSchema.extend({ mode: z.literal('abort') });

/**
 * Lifts blue's fence, and nothing else: its own function with a short timeout, so the workflow and the safety
 * net can retry it often while a crashed blue comes back, and a timed-out attempt never runs on behind the next.
 */
export async function unfenceHandler(event: unknown): Promise<CutoverResult> {
  return runStep(instrumentation, async () => {
    const input = parseInput(abortEventSchema, event);
    return abortCutover(await lambdaResolver()(input.blue));
  });
}

/** Before anything is fenced: the way back must be possible; what it would not carry is reported. */
async function refuseWithoutWayBack(blue: Client, green: Client): Promise<readonly string[]> {
  const plan = await planWayBack(blue, green);
  if (!plan.possible)
    throw new CutoverError(
      'WayBackImpossible',
      `the migration makes the way back impossible (nothing was fenced): ${plan.impossible.join('; ')}. ` +
        'Migrate without a way back (no rollback window), or change the migration (docs/blue-green-provisioning.md, The way back)',
    );
  if (plan.lossy.length > 0)
    instrumentation.logger.warn('the way back will not carry everything', { lossy: plan.lossy });
  return plan.lossy;
}

/**
 * After DNS answers green: green's subscription dropped, then (asked for) the way back set up while blue is
 * fenced and green still closed, then green opened. Blue must answer for the way back: if it does not, the
 * finish fails and the workflow points the record back at blue, which loses nothing.
 */
async function finish(
  input: z.output<typeof cutoverEventSchema>,
  blueSettings: ConnectionSettings,
  greenSettings: ConnectionSettings,
): Promise<CutoverResult> {
  const wayBack = input.wayBack;
  if (wayBack === null) {
    const result = await withConnection(greenSettings, CONNECT, (green) =>
      finishCutover(green, input.subscription),
    );
    return { mode: 'finish', ...result };
  }
  const resolve = lambdaResolver();
  const login = await resolve({
    secretId: wayBack.replicationSecretId,
    host: greenSettings.host,
    port: greenSettings.port,
    database: greenSettings.database,
  });
  return withConnection(blueSettings, CONNECT, (blue) =>
    withConnection(greenSettings, CONNECT, async (green) => {
      let set: 'created' | 'existing' = 'existing';
      const result = await finishCutover(green, input.subscription, async () => {
        // Blue is fenced: this session writes through the fence (the subscription, the role), as the cutover does.
        await asFenceKeeper(blue);
        set = await setUpWayBack(blue, green, {
          names: { publication: wayBack.publication, subscription: wayBack.subscription },
          plan: await planWayBack(blue, green),
          login: { user: login.user, password: login.password },
          greenAt: { host: greenSettings.host, port: greenSettings.port, database: greenSettings.database },
          sslmode: greenSettings.tls === false ? 'disable' : 'require',
        });
      });
      instrumentation.logger.info('way back set up: blue follows green', {
        subscription: wayBack.subscription,
        set,
      });
      return { mode: 'finish', ...result, wayBack: set };
    }),
  );
}

/** The zero-loss cutover, one phase per invocation so the workflow can flip DNS between them. */
export async function handler(event: unknown): Promise<CutoverResult> {
  return runStep(instrumentation, async () => {
    const input = parseInput(cutoverEventSchema, event);
    const resolve = lambdaResolver();
    const [blueSettings, greenSettings] = await Promise.all([resolve(input.blue), resolve(input.green)]);
    if (input.mode === 'abort') return abortCutover(blueSettings);
    if (input.mode === 'finish') return finish(input, blueSettings, greenSettings);
    return await withConnection(blueSettings, CONNECT, async (blue): Promise<CutoverResult> =>
      withConnection(greenSettings, CONNECT, async (green): Promise<CutoverResult> => {
        if (input.mode === 'prepare') {
          const lossy = input.wayBack === null ? undefined : await refuseWithoutWayBack(blue, green);
          await prepareCutover(blue, green, input.subscription);
          return { mode: 'prepare', ...(lossy === undefined ? {} : { wayBackLossy: lossy }) };
        }
        const fenced = await fenceBlue(blue);
        instrumentation.logger.info('blue fenced', { ...fenced });
        try {
          await refuseFenceBypasses(blue);
          const caughtUp = await waitForCatchUp(blue, green, {
            subscription: input.subscription,
            timeoutMs: input.catchUpTimeoutMs,
            pollMs: 20,
          });
          const verified = await verifyInFencedWindow(blue, green, {
            subscription: input.subscription,
            budgetMs: input.fencedVerifyBudgetMs,
            onlySubscribed: input.onlySubscribed,
          });
          instrumentation.logger.info('green matches blue in the fenced window', { ...verified });
          const sequences = await syncSequences(blue, green);
          return {
            mode: 'fence',
            ...fenced,
            ...caughtUp,
            verifiedTables: verified.tables,
            verifyMs: verified.verifyMs,
            sequences,
          };
        } catch (error) {
          // Never leave production fenced because green fell behind. If blue itself is gone, the workflow's
          // abort keeps trying; the original failure is the one to report.
          await unfenceBlue(blue).then(
            () => {
              instrumentation.logger.warn('blue unfenced after a failed catch-up');
            },
            () => {
              instrumentation.logger.error('could not unfence blue; the workflow abort retries');
            },
          );
          throw error;
        }
      }),
    );
  });
}
