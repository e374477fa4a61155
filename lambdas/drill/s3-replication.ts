import { randomUUID } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DRILL_PROBE_PREFIX } from '../shared/metric-names';
import { sleep as defaultSleep } from '../shared/sleep';
import { ReplicationProbeError } from './errors';

/** Where the drill's S3 probe objects live (the step's IAM and dr doctor use the same prefix). */
export { DRILL_PROBE_PREFIX };

/**
 * Backup replication, measured: puts a probe object in the primary bucket and times its arrival in the
 * replica bucket (HeadObject polled, bounded). S3 RTC promises 15 minutes; the drill's budget is tighter.
 */
export async function probeS3Replication(
  clients: { source: Pick<S3Client, 'send'>; replica: Pick<S3Client, 'send'> },
  buckets: { source: string; replica: string },
  options: { timeoutMs: number; pollMs: number },
  deps: { sleep?: (ms: number) => Promise<void>; now?: () => number } = {},
): Promise<{ key: string; replicatedAfterMs: number }> {
  const sleep = deps.sleep ?? defaultSleep;
  const now = deps.now ?? Date.now;
  const key = `${DRILL_PROBE_PREFIX}probe-${new Date(now()).toISOString()}-${randomUUID()}`;
  await clients.source.send(
    new PutObjectCommand({
      Bucket: buckets.source,
      Key: key,
      Body: `pg-dr drill probe ${key}\n`,
      ContentType: 'text/plain',
    }),
  );
  const started = now();
  for (;;) {
    try {
      await clients.replica.send(new HeadObjectCommand({ Bucket: buckets.replica, Key: key }));
      return { key, replicatedAfterMs: now() - started };
    } catch (error) {
      // HEAD answers carry no body: the SDK knows only the status (404 NotFound, anything else "Unknown").
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 403)
        throw new ReplicationProbeError(
          'S3ProbeRefused',
          `HeadObject of ${buckets.replica}/${key} was refused (403): the role needs s3:GetObject on the object ` +
            'and s3:ListBucket on the bucket (without it, S3 answers 403 for an object that is not there yet)',
        );
      if (status === 301)
        throw new ReplicationProbeError(
          'S3ProbeRefused',
          `HeadObject of ${buckets.replica}/${key} was redirected (301): the bucket is in another region than the client`,
        );
      if (status !== 404) throw error;
    }
    if (now() - started >= options.timeoutMs) {
      throw new ReplicationProbeError(
        'S3ObjectNotReplicated',
        `probe object ${key} had not reached ${buckets.replica} after ${Math.round(options.timeoutMs / 1000)} s`,
      );
    }
    await sleep(options.pollMs);
  }
}
