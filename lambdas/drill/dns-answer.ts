import { TestDNSAnswerCommand, type RRType } from '@aws-sdk/client-route-53';
import { normalizeName } from '../shared/dns-name';
import { sleep as defaultSleep } from '../shared/sleep';
import { DrillError, type DrillDependencies } from './errors';

export interface AnswerObservation {
  /** Milliseconds from `since` until Route 53 answered the expected value. */
  readonly observedAfterMs: number;
  /** Milliseconds from `since` until Route 53 first stopped answering `previous` (when given). */
  readonly leftPreviousAfterMs: number | null;
  readonly answer: readonly string[];
  readonly polls: number;
}

export interface ObserveQuery {
  readonly hostedZoneId: string;
  readonly recordName: string;
  readonly recordType: RRType;
  readonly expected: string;
  /** What Route 53 answered before the change: the moment it stops is when Route 53 acted on the change. */
  readonly previous?: string;
}

export interface ObserveOptions {
  readonly pollMs: number;
  /** Give up this long after `since`. */
  readonly maxWaitMs: number;
  /** Epoch ms the measurement starts from (the inversion or restore); now by default. */
  readonly since?: number;
  readonly timeoutError?: 'FailoverNotObserved' | 'FailbackNotObserved';
  /** Runs before every poll; throwing stops the observation (e.g. a watched health check turned unhealthy). */
  readonly beforePoll?: (poll: number) => Promise<void>;
}

/**
 * Polls TestDNSAnswer (what Route 53 answers, without resolver caches) until the record answers `expected`,
 * bounded by maxWaitMs after `since`. Times DNS failover (expect the secondary) and failback (the primary).
 */
export async function observeAnswer(
  deps: DrillDependencies,
  query: ObserveQuery,
  options: ObserveOptions,
): Promise<AnswerObservation> {
  const sleep = deps.sleep ?? defaultSleep;
  const now = deps.now ?? Date.now;
  const since = options.since ?? now();
  const expected = normalizeName(query.expected);
  const previous = query.previous === undefined ? undefined : normalizeName(query.previous);
  let leftPreviousAfterMs: number | null = null;

  for (let polls = 1; ; polls++) {
    await options.beforePoll?.(polls);
    const { RecordData } = await deps.route53.send(
      new TestDNSAnswerCommand({
        HostedZoneId: query.hostedZoneId,
        RecordName: query.recordName,
        RecordType: query.recordType,
      }),
    );
    const answer = (RecordData ?? []).map(normalizeName);
    const elapsed = now() - since;
    if (previous !== undefined && leftPreviousAfterMs === null && !answer.includes(previous))
      leftPreviousAfterMs = elapsed;
    if (answer.includes(expected)) return { observedAfterMs: elapsed, leftPreviousAfterMs, answer, polls };
    if (elapsed >= options.maxWaitMs) {
      throw new DrillError(
        options.timeoutError ?? 'FailoverNotObserved',
        `${query.recordName} still answered ${answer.join(', ') || 'nothing'} ${Math.round(elapsed / 1000)} s after the change, expected ${expected}`,
      );
    }
    await sleep(Math.min(options.pollMs, Math.max(0, options.maxWaitMs - elapsed)));
  }
}
