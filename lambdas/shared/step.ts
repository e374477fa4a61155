import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { z } from 'zod';
import { DatabaseError, type PostgresFailureKind } from './postgres-errors';

export const STEPS_NAMESPACE = 'PostgresDR';
export const STEPS_SERVICE = 'dr-blue-green';

/**
 * A step failure Step Functions can route on: the Lambda error type is `name` (e.g. `DatabaseUnreachable`),
 * the cause is `message`, which never contains a secret.
 */
export class StepError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const DATABASE_ERROR_NAMES: Record<PostgresFailureKind, string> = {
  unreachable: 'DatabaseUnreachable',
  timeout: 'DatabaseTimeout',
  auth_failed: 'DatabaseAuthFailed',
  tls_failed: 'DatabaseTlsFailed',
  read_only: 'DatabaseReadOnly',
  query_failed: 'DatabaseQueryFailed',
};

function valueAt(event: unknown, path: readonly PropertyKey[]): unknown {
  let value = event;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** Validates an event; the error names each bad field and what it accepts, never the value given. */
export function parseInput<S extends z.ZodType>(schema: S, event: unknown): z.output<S> {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length === 0 ? 'event' : issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') return `${field} has unknown field(s) ${issue.keys.join(', ')}`;
    if (issue.path.length > 0 && valueAt(event, issue.path) === undefined) return `${field} is required`;
    if (issue.code === 'invalid_value')
      return `${field} must be one of ${issue.values.map(String).join(', ')}`;
    return `${field} ${issue.message}`;
  });
  throw new StepError('InvalidInput', `invalid input: ${problems.join('; ')}`);
}

/** Maps any failure to a StepError with a routable name. */
export function toStepError(error: unknown): StepError {
  if (error instanceof StepError) return error;
  if (error instanceof DatabaseError) return new StepError(DATABASE_ERROR_NAMES[error.kind], error.message);
  return new StepError('StepFailed', error instanceof Error ? error.message : String(error));
}

export interface StepInstrumentation {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export function stepInstrumentation(step: string, service: string = STEPS_SERVICE): StepInstrumentation {
  const logger = new Logger({ serviceName: service, persistentKeys: { step } });
  const metrics = new Metrics({
    namespace: STEPS_NAMESPACE,
    serviceName: service,
    defaultDimensions: { Step: step },
  });
  return { logger, metrics };
}

/**
 * Runs a step: logs start and outcome, emits StepSucceeded/StepFailed and StepDuration, and rethrows failures
 * as StepErrors. The event is never logged (it may name secrets; it never holds one, but stays out anyway).
 */
export async function runStep<T>(instrumentation: StepInstrumentation, work: () => Promise<T>): Promise<T> {
  const { logger, metrics } = instrumentation;
  const started = performance.now();
  logger.info('step started');
  try {
    const result = await work();
    metrics.addMetric('StepSucceeded', MetricUnit.Count, 1);
    logger.info('step succeeded', { durationMs: Math.round(performance.now() - started) });
    return result;
  } catch (error) {
    const stepError = toStepError(error);
    metrics.addMetric('StepFailed', MetricUnit.Count, 1);
    logger.error('step failed', { errorType: stepError.name, reason: stepError.message });
    throw stepError;
  } finally {
    metrics.addMetric('StepDuration', MetricUnit.Milliseconds, Math.round(performance.now() - started));
    metrics.publishStoredMetrics();
  }
}
