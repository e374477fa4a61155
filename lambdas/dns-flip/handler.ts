import { Route53Client } from '@aws-sdk/client-route-53';
import { z } from 'zod';
import { parseInput, runStep, stepInstrumentation } from '../shared/step';
import { DNS_RECORD_NAME } from '../shared/patterns';
import { hostedZoneId } from '../shared/schemas';
import { setIdentifier } from '../workflow-input/schema';
import { flipRecord, rollbackRecord, type FlipResult, type FlipTiming, type RecordField } from './flip';

const dnsName = z.string().regex(DNS_RECORD_NAME, { error: 'must be a DNS name' });
const timing = {
  pollIntervalMs: z.number().int().min(0).max(60_000).default(5_000),
  maxWaitMs: z.number().int().min(1_000).max(600_000).default(180_000),
};

/**
 * The record snapshot a flip returned: exactly the fields a flip writes (RECORD_FIELDS), no other. A field a
 * flip never writes (AliasTarget, Weight, GeoLocation, ...) is refused, naming it, before any Route 53 call.
 */
const snapshotSchema = z.strictObject({
  Name: dnsName,
  Type: z.enum(['CNAME', 'A', 'AAAA']),
  TTL: z.number().int().min(0),
  ResourceRecords: z
    .array(z.strictObject({ Value: z.string().min(1).max(4000) }))
    .min(1)
    .max(100),
  SetIdentifier: z.string().max(128).optional(),
  Failover: z.enum(['PRIMARY', 'SECONDARY']).optional(),
  HealthCheckId: z.string().max(64).optional(),
} satisfies Record<RecordField, z.ZodType>);

export const dnsFlipEventSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('flip'),
    hostedZoneId,
    recordName: dnsName,
    recordType: z.enum(['CNAME', 'A', 'AAAA']).default('CNAME'),
    setIdentifier: setIdentifier.optional(),
    target: dnsName,
    ...timing,
  }),
  z.strictObject({ mode: z.literal('rollback'), hostedZoneId, previous: snapshotSchema, ...timing }),
]);
export type DnsFlipEvent = z.input<typeof dnsFlipEventSchema>;

const instrumentation = stepInstrumentation('dns-flip');
let route53: Route53Client | undefined;

/**
 * Flips the database record to green (mode `flip`), or restores the snapshot a flip returned (mode
 * `rollback`). Fails as RecordNotFound, RecordAmbiguous, RecordUnsupported, DnsChangeNotInSync, DnsAnswerMismatch or
 * Route53Unavailable.
 */
export async function handler(event: unknown): Promise<FlipResult | Omit<FlipResult, 'previous'>> {
  return runStep(instrumentation, async () => {
    const input = parseInput(dnsFlipEventSchema, event);
    // Route 53's API lives in us-east-1 whatever region the function runs in.
    route53 ??= new Route53Client({ region: 'us-east-1' });
    const deps = { route53 };
    const flipTiming: FlipTiming = {
      pollIntervalMs: input.pollIntervalMs,
      maxWaitMs: input.maxWaitMs,
      maxRetries: 5,
      retryBaseMs: 500,
    };
    if (input.mode === 'flip') {
      const result = await flipRecord(deps, flipTiming, {
        hostedZoneId: input.hostedZoneId,
        recordName: input.recordName,
        recordType: input.recordType,
        target: input.target,
        ...(input.setIdentifier === undefined ? {} : { setIdentifier: input.setIdentifier }),
      });
      instrumentation.logger.info('record flipped', {
        changed: result.changed,
        insyncAfterMs: result.insyncAfterMs,
        answer: result.answer,
      });
      return result;
    }
    const result = await rollbackRecord(deps, flipTiming, input.hostedZoneId, input.previous);
    instrumentation.logger.info('record rolled back', {
      insyncAfterMs: result.insyncAfterMs,
      answer: result.answer,
    });
    return result;
  });
}
