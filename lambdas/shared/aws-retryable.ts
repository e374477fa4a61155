import { StepError } from './step';

/**
 * Worth another round: AWS throttled, failed on its side, or an RDS instance changed state between a describe
 * and an action (InvalidDBInstanceState: also a source still taking its first backup after a promotion).
 * Everything else (refused parameters, missing permission, quota) is not going to change by waiting.
 */
export function isAwsRetryable(error: unknown): boolean {
  const e = error as { name?: string; $fault?: string; $retryable?: unknown };
  return (
    e.$fault === 'server' ||
    e.$retryable !== undefined ||
    e.name === 'ThrottlingException' ||
    e.name === 'InvalidDBInstanceStateFault'
  );
}

/** A retryable AWS failure as the `RdsRetryable` step error the workflows retry and then wait a round on. */
export function asRdsRetryable(error: unknown): unknown {
  return isAwsRetryable(error)
    ? new StepError('RdsRetryable', `AWS could not take the step now: ${(error as Error).message}`, {
        cause: error,
      })
    : error;
}
