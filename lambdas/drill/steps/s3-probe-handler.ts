import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { parseInput, runStep, stepInstrumentation } from '../../shared/step';
import { DRILL_SERVICE } from '../report';
import { probeS3Replication } from '../s3-replication';

const bucket = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'must be an S3 bucket name' });
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'must be an AWS region' });

export const s3ProbeEventSchema = z.strictObject({
  sourceBucket: bucket,
  sourceRegion: region,
  replicaBucket: bucket,
  replicaRegion: region,
  timeoutSeconds: z.number().int().min(1).max(840),
  pollMs: z.number().int().min(50).max(10_000),
});

const instrumentation = stepInstrumentation('drill-s3-probe', DRILL_SERVICE);
const clients = new Map<string, S3Client>();
const s3In = (r: string) => {
  const existing = clients.get(r);
  if (existing !== undefined) return existing;
  const created = new S3Client({ region: r });
  clients.set(r, created);
  return created;
};

/** Times a probe object's cross-region replication (S3ObjectNotReplicated past the limit). */
export async function handler(event: unknown): Promise<{ key: string; replicatedAfterMs: number }> {
  return runStep(instrumentation, async () => {
    const input = parseInput(s3ProbeEventSchema, event);
    const result = await probeS3Replication(
      { source: s3In(input.sourceRegion), replica: s3In(input.replicaRegion) },
      { source: input.sourceBucket, replica: input.replicaBucket },
      { timeoutMs: input.timeoutSeconds * 1000, pollMs: input.pollMs },
    );
    instrumentation.logger.info('probe object replicated', { ...result });
    return result;
  });
}
