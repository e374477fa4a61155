import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { Route53Client } from '@aws-sdk/client-route-53';
import { z } from 'zod';
import { parseInput, runStep, stepInstrumentation } from '../../shared/step';
import { observeAnswer, type AnswerObservation } from '../dns-answer';
import { DrillError } from '../errors';
import { HEALTH_CHECK_ID, HOST, HOSTED_ZONE_ID, RECENT_EPOCH_MS } from '../input';
import { healthCheckStatuses, ROUTE53_METRICS_REGION } from '../../shared/health-check-status';
import { DRILL_SERVICE } from '../report';

export const observeDnsEventSchema = z.strictObject({
  mode: z.enum(['failover', 'failback']),
  hostedZoneId: HOSTED_ZONE_ID,
  recordName: HOST,
  expected: HOST,
  previous: HOST,
  /** Epoch ms of the inversion or restore. */
  since: RECENT_EPOCH_MS,
  maxWaitSeconds: z.number().int().min(1).max(600),
  pollMs: z.number().int().min(50).max(10_000),
  /** Child checks that must stay healthy meanwhile: one turning unhealthy is a real outage, not the drill. */
  watch: z
    .array(z.strictObject({ healthCheckId: HEALTH_CHECK_ID, label: z.string().min(1).max(40) }))
    .max(5)
    .default([]),
});

/** Route 53's HealthCheckStatus metric changes once a minute at most: read it every few polls, not on every one. */
const WATCH_EVERY_POLLS = 5;

const instrumentation = stepInstrumentation('drill-observe-dns', DRILL_SERVICE);
let route53: Route53Client | undefined;
let cloudwatch: CloudWatchClient | undefined;

/**
 * Times Route 53's answer changing after the inversion (failover) or the restore (failback), with
 * TestDNSAnswer, bounded. Fails as FailoverNotObserved / FailbackNotObserved, or HealthCheckUnhealthy when a
 * watched check fails meanwhile (then the outage is real and the drill must stop).
 */
export async function handler(event: unknown): Promise<AnswerObservation> {
  return runStep(instrumentation, async () => {
    const input = parseInput(observeDnsEventSchema, event);
    route53 ??= new Route53Client({ region: 'us-east-1' });
    const client = route53;
    cloudwatch ??= new CloudWatchClient({ region: ROUTE53_METRICS_REGION });
    const metrics = cloudwatch;
    const checkWatched = async (poll: number) => {
      if ((poll - 1) % WATCH_EVERY_POLLS !== 0 || input.watch.length === 0) return;
      const statuses = await healthCheckStatuses(
        metrics,
        input.watch.map((w) => w.healthCheckId),
        { now: Date.now() },
      );
      for (const { healthCheckId, label } of input.watch) {
        if (statuses.get(healthCheckId) === 'unhealthy') {
          throw new DrillError(
            'HealthCheckUnhealthy',
            `the ${label} health check (${healthCheckId}) turned unhealthy during the drill: a real outage, not the drill`,
          );
        }
      }
    };
    const result = await observeAnswer(
      { route53: client },
      {
        hostedZoneId: input.hostedZoneId,
        recordName: input.recordName,
        recordType: 'CNAME',
        expected: input.expected,
        previous: input.previous,
      },
      {
        pollMs: input.pollMs,
        maxWaitMs: input.maxWaitSeconds * 1000,
        since: input.since,
        timeoutError: input.mode === 'failover' ? 'FailoverNotObserved' : 'FailbackNotObserved',
        beforePoll: checkWatched,
      },
    );
    instrumentation.logger.info(`${input.mode} observed`, { ...result });
    return result;
  });
}
