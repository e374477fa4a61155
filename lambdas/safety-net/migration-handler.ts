import { SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { assessMigration, type MigrationNetPlan } from './migration';
import { statusChangeEventSchema } from './status-event';

const settingsSchema = z.object({
  MIGRATION_STATE_MACHINE_ARN: z.string().min(1),
  STEP_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(900),
  /** Each migration state's function timeout, from the migration's ASL (JSON: state → seconds). */
  STATE_TIMEOUTS: z.string().transform((text, ctx) => {
    try {
      return z.record(z.string(), z.number().int().min(1).max(900)).parse(JSON.parse(text));
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of state name to seconds' });
      return z.NEVER;
    }
  }),
});

const instrumentation = stepInstrumentation('migration-safety-net');
let sfn: SFNClient | undefined;

function settings() {
  const parsed = settingsSchema.safeParse(process.env);
  if (!parsed.success)
    throw new StepError(
      'StepMisconfigured',
      `missing setting(s): ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  return parsed.data;
}

/**
 * First step of the blue-green safety net (a state machine EventBridge starts when a migration ends FAILED,
 * TIMED_OUT or ABORTED): reads that execution's history and says what the net must undo. Changes nothing.
 */
export async function handler(event: unknown): Promise<MigrationNetPlan> {
  return runStep(instrumentation, async () => {
    const { event: change } = parseInput(z.object({ event: statusChangeEventSchema }), event);
    const env = settings();
    if (change.detail.stateMachineArn !== env.MIGRATION_STATE_MACHINE_ARN)
      throw new StepError(
        'InvalidInput',
        'invalid input: event.detail.stateMachineArn is not the migration workflow',
      );
    sfn ??= new SFNClient({});
    const plan = await assessMigration(sfn, {
      executionArn: change.detail.executionArn,
      stateMachineArn: change.detail.stateMachineArn,
      stepTimeoutSeconds: env.STEP_TIMEOUT_SECONDS,
      stateTimeouts: env.STATE_TIMEOUTS,
      now: Date.now(),
    });
    instrumentation.logger.info('migration safety net', {
      action: plan.action,
      reason: plan.reason,
      execution: plan.execution.name,
      status: plan.execution.status,
    });
    return plan;
  });
}
