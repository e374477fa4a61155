import {
  GetHealthCheckCommand,
  TestDNSAnswerCommand,
  UpdateHealthCheckCommand,
  type Route53Client,
  type RRType,
} from '@aws-sdk/client-route-53';
import { normalizeName } from '../dns-flip/flip';
import { sleep as defaultSleep } from '../shared/sleep';

export class DrillError extends Error {
  constructor(name: 'HealthCheckUpdateFailed' | 'FailoverNotObserved', message: string) {
    super(message);
    this.name = name;
  }
}

export interface DrillDependencies {
  readonly route53: Pick<Route53Client, 'send'>;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

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

export interface AnswerObservation {
  /** Milliseconds from the start of observing until Route 53 answered the expected value. */
  readonly observedAfterMs: number;
  readonly answer: readonly string[];
  readonly polls: number;
}

/**
 * Polls TestDNSAnswer (what Route 53 answers, without resolver caches) until the record answers `expected`,
 * bounded by maxWaitMs. Used to time DNS failover (expect the secondary) and failback (expect the primary).
 */
export async function observeAnswer(
  deps: DrillDependencies,
  query: { hostedZoneId: string; recordName: string; recordType: RRType; expected: string },
  options: { pollMs: number; maxWaitMs: number },
): Promise<AnswerObservation> {
  const sleep = deps.sleep ?? defaultSleep;
  const now = deps.now ?? Date.now;
  const started = now();
  const expected = normalizeName(query.expected);

  for (let polls = 1; ; polls++) {
    const { RecordData } = await deps.route53.send(
      new TestDNSAnswerCommand({
        HostedZoneId: query.hostedZoneId,
        RecordName: query.recordName,
        RecordType: query.recordType,
      }),
    );
    const last = (RecordData ?? []).map(normalizeName);
    if (last.includes(expected)) return { observedAfterMs: now() - started, answer: last, polls };
    if (now() - started >= options.maxWaitMs) {
      throw new DrillError(
        'FailoverNotObserved',
        `${query.recordName} still answered ${last.join(', ') || 'nothing'} after ${Math.round((now() - started) / 1000)} s, expected ${expected}`,
      );
    }
    await sleep(options.pollMs);
  }
}
