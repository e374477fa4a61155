import { GetHealthCheckCommand, UpdateHealthCheckCommand } from '@aws-sdk/client-route-53';
import { sleep as defaultSleep } from '../shared/sleep';
import { DrillError, type DrillDependencies } from './errors';

export { DrillError, type DrillDependencies } from './errors';

/** Route 53 refuses a concurrent update (version mismatch) or throttles: both are worth another try. */
const RETRYABLE = new Set([
  'HealthCheckVersionMismatch',
  'Throttling',
  'ThrottlingException',
  'PriorRequestNotComplete',
]);

/**
 * Inverts (or restores) a health check: an inverted check reports the opposite of what it sees, which is how a
 * drill makes Route 53 fail over without touching the database. Never "disable": Route 53 treats a disabled
 * check as healthy. Idempotent, and safe against concurrent edits (HealthCheckVersion), bounded retries.
 */
export async function setHealthCheckInverted(
  deps: DrillDependencies,
  healthCheckId: string,
  inverted: boolean,
  options: { maxAttempts: number; retryBaseMs: number },
): Promise<{ healthCheckId: string; inverted: boolean; changed: boolean }> {
  const sleep = deps.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      const current = await deps.route53.send(new GetHealthCheckCommand({ HealthCheckId: healthCheckId }));
      const check = current.HealthCheck;
      // Disabled (on-call's hold) and inverted, Route 53 calls a check unhealthy: never invert a held check.
      if (inverted && check?.HealthCheckConfig?.Disabled === true)
        throw new DrillError(
          'HealthCheckHeld',
          `health check ${healthCheckId} is disabled: on-call holds DNS on the primary (dr hold); the drill does not invert it`,
        );
      if ((check?.HealthCheckConfig?.Inverted ?? false) === inverted)
        return { healthCheckId, inverted, changed: false };
      await deps.route53.send(
        new UpdateHealthCheckCommand({
          HealthCheckId: healthCheckId,
          HealthCheckVersion: check?.HealthCheckVersion,
          Inverted: inverted,
        }),
      );
      return { healthCheckId, inverted, changed: true };
    } catch (error) {
      if (error instanceof DrillError) throw error;
      const name = (error as { name?: string }).name ?? 'Error';
      if (!RETRYABLE.has(name) || attempt >= options.maxAttempts) {
        throw new DrillError(
          'HealthCheckUpdateFailed',
          `could not set health check ${healthCheckId} to ${inverted ? 'inverted' : 'not inverted'} after ${attempt} attempt(s): ${name}`,
        );
      }
      await sleep(Math.min(10_000, options.retryBaseMs * 2 ** (attempt - 1)));
    }
  }
}
