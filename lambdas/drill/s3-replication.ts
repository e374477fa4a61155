import { randomUUID } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { sleep as defaultSleep } from '../shared/sleep';
import { ReplicationProbeError } from './errors';

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
  const key = `dr-drill/probe-${new Date(now()).toISOString()}-${randomUUID()}`;
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
      const name = (error as { name?: string }).name;
      if (name !== 'NotFound' && name !== 'NoSuchKey') throw error;
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
