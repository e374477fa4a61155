import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { z } from 'zod';
import { DatabaseError, type PostgresFailureKind } from './postgres-errors';
import { echoName, echoNames, redact } from './redact';
import { RoutableError } from './routable-error';

import { METRICS_NAMESPACE, STEP_METRICS, STEPS_SERVICE } from './metric-names';

export { STEPS_SERVICE } from './metric-names';

/**
 * A step failure Step Functions can route on: the Lambda error type is `name` (e.g. `DatabaseUnreachable`),
 * the cause is `message`, which never contains a secret.
 */
export class StepError extends RoutableError {}

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

/** How many problems one InvalidInput message lists before saying how many more there were. */
const MAX_PROBLEMS = 10;

/**
 * Validates an event; the error names each bad field and what it accepts, never the value given. Names the
 * caller made up (unknown keys, record keys in a path) are echoed through echoName: bounded and redacted.
 */
export function parseInput<S extends z.ZodType>(schema: S, event: unknown): z.output<S> {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field =
      issue.path.length === 0 ? 'event' : issue.path.map((key) => echoName(String(key))).join('.');
    if (issue.code === 'unrecognized_keys') return `${field} has unknown field(s) ${echoNames(issue.keys)}`;
    if (issue.path.length > 0 && valueAt(event, issue.path) === undefined) return `${field} is required`;
    if (issue.code === 'invalid_value')
      return `${field} must be one of ${issue.values.map(String).join(', ')}`;
    return `${field} ${issue.message}`;
  });
  const more = problems.length - MAX_PROBLEMS;
  const listed = problems.slice(0, MAX_PROBLEMS).join('; ');
  throw new StepError(
    'InvalidInput',
    redact(`invalid input: ${listed}${more > 0 ? `; and ${more} more problem(s)` : ''}`),
  );
}

/** The step's environment (what CDK set at synth): a missing or malformed variable is StepMisconfigured, by name. */
export function parseEnvironment<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new StepError(
    'StepMisconfigured',
    `missing environment: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
  );
}

/**
 * A StepError whose message went through the redaction rule. The cause is kept only when the message was
 * already safe: a cause whose message needed redacting would carry the secret along.
 */
function redactedStepError(name: string, message: string, cause: unknown): StepError {
  const safe = redact(message);
  return new StepError(name, safe, safe === message ? { cause } : undefined);
}

/** Maps any failure to a StepError with a routable name and a redacted message. */
export function toStepError(error: unknown): StepError {
  if (error instanceof StepError) {
    return redact(error.message) === error.message
      ? error
      : redactedStepError(error.name, error.message, error);
  }
  // A step's own routable failure (CutoverError, DnsFlipError, ...): its name is the error type.
  if (error instanceof RoutableError) return redactedStepError(String(error.name), error.message, error);
  if (error instanceof DatabaseError)
    return redactedStepError(DATABASE_ERROR_NAMES[error.kind], error.message, error);
  return redactedStepError('StepFailed', error instanceof Error ? error.message : String(error), error);
}

export interface StepInstrumentation {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export function stepInstrumentation(step: string, service: string = STEPS_SERVICE): StepInstrumentation {
  const logger = new Logger({ serviceName: service, persistentKeys: { step } });
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
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
    metrics.addMetric(STEP_METRICS.succeeded, MetricUnit.Count, 1);
    logger.info('step succeeded', { durationMs: Math.round(performance.now() - started) });
    return result;
  } catch (error) {
    const stepError = toStepError(error);
    metrics.addMetric(STEP_METRICS.failed, MetricUnit.Count, 1);
    logger.error('step failed', { errorType: stepError.name, reason: stepError.message });
    throw stepError;
  } finally {
    metrics.addMetric(
      STEP_METRICS.duration,
      MetricUnit.Milliseconds,
      Math.round(performance.now() - started),
    );
    metrics.publishStoredMetrics();
  }
}
