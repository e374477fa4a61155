import { Route53Client } from '@aws-sdk/client-route-53';
import { z } from 'zod';
import { parseInput, runStep, StepError, stepInstrumentation } from '../../shared/step';
import { setHealthCheckInverted } from '../health-check';
import { HEALTH_CHECK_ID } from '../input';
import { DRILL_SERVICE } from '../report';

export const healthCheckEventSchema = z.strictObject({
  mode: z.enum(['invert', 'restore']),
  healthCheckId: HEALTH_CHECK_ID,
});

const instrumentation = stepInstrumentation('drill-health-check', DRILL_SERVICE);
let route53: Route53Client | undefined;

/** Health checks this function may touch (set at deploy); IAM enforces the same list. */
function allowed(): readonly string[] | undefined {
  const list = process.env.DRILL_HEALTH_CHECK_IDS;
  return list === undefined ? undefined : list.split(',').filter((id) => id !== '');
}

/**
 * Inverts the primary record's health check (the simulated failure) or restores it. Never disables it:
 * Route 53 treats a disabled check as healthy. Returns `at`, the epoch ms the change was accepted, which
 * the drill measures from.
 */
export async function handler(
  event: unknown,
): Promise<{ healthCheckId: string; inverted: boolean; changed: boolean; at: number }> {
  return runStep(instrumentation, async () => {
    const input = parseInput(healthCheckEventSchema, event);
    const permitted = allowed();
    if (permitted !== undefined && !permitted.includes(input.healthCheckId)) {
      throw new StepError(
        'HealthCheckNotAllowed',
        `health check ${input.healthCheckId} is not one this drill was deployed to change`,
      );
    }
    route53 ??= new Route53Client({ region: 'us-east-1' });
    const result = await setHealthCheckInverted({ route53 }, input.healthCheckId, input.mode === 'invert', {
      maxAttempts: 5,
      retryBaseMs: 500,
    });
    const at = Date.now();
    instrumentation.logger.info(input.mode === 'invert' ? 'health check inverted' : 'health check restored', {
      healthCheckId: input.healthCheckId,
      changed: result.changed,
    });
    return { ...result, at };
  });
}
