import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { DUMP_METRICS, DUMP_SERVICE, METRICS_NAMESPACE } from '../shared/metric-names';
import { DUMP_PREFIX } from '../shared/patterns';
import { parseEnvironment, runStep, stepInstrumentation } from '../shared/step';
import { dumpAgeSeconds, newestDump } from './dump-listing';

const environmentSchema = z.object({
  DUMP_BUCKET: z.string().min(3),
  DUMP_PREFIX: z.string().regex(DUMP_PREFIX),
});

export interface DumpStatus {
  readonly bucket: string;
  /** The newest dump's manifest, or null when the bucket holds none. */
  readonly newest: string | null;
  readonly seconds: number | null;
}

export const instrumentation = stepInstrumentation('dump-status', DUMP_SERVICE);
export const figures = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: DUMP_SERVICE });
let s3: S3Client | undefined;

/** Publishes DumpAge for this region's bucket (nothing when it holds no dump); what it found. */
export async function publishDumpAge(): Promise<DumpStatus> {
  const env = parseEnvironment(environmentSchema);
  s3 ??= new S3Client({});
  const newest = await newestDump(s3, env.DUMP_BUCKET, env.DUMP_PREFIX);
  const seconds = dumpAgeSeconds(newest, new Date());
  if (seconds !== undefined) {
    figures.addMetric(DUMP_METRICS.age, MetricUnit.Seconds, seconds);
    figures.publishStoredMetrics();
  } else instrumentation.logger.warn('no dump in the bucket', { bucket: env.DUMP_BUCKET });
  return {
    bucket: env.DUMP_BUCKET,
    newest: newest?.manifestKey ?? null,
    seconds: seconds ?? null,
  };
}

/**
 * Runs hourly in the primary region: publishes DumpAge, the seconds since the run of the newest dump in this
 * region's backup bucket started. With no dump at all nothing is published, and the stale alarm counts the
 * missing figure as too old. (The DR region's status is dump-restore-test-status-handler.ts.)
 */
export async function handler(): Promise<DumpStatus> {
  return runStep(instrumentation, publishDumpAge);
}
