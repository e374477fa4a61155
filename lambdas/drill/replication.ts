import { randomUUID } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from 'pg';
import { sleep as defaultSleep } from '../shared/sleep';

export class ReplicationProbeError extends Error {
  constructor(name: 'HeartbeatNotReplicated' | 'S3ObjectNotReplicated', message: string) {
    super(message);
    this.name = name;
  }
}

export const HEARTBEAT_TABLE = 'dr_drill_heartbeat';

/**
 * The database's data-loss window, measured: writes a heartbeat row on the primary and times its arrival on
 * the cross-region replica (bounded). What a failover at that moment would have lost is at most this long.
 */
export async function probeDatabaseReplication(
  primary: Client,
  replica: Client,
  options: { timeoutMs: number; pollMs: number },
  sleep: (ms: number) => Promise<void> = defaultSleep,
): Promise<{ token: string; replicatedAfterMs: number }> {
  await primary.query(
    `CREATE TABLE IF NOT EXISTS public.${HEARTBEAT_TABLE} (token uuid PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now())`,
  );
  const token = randomUUID();
  await primary.query(`INSERT INTO public.${HEARTBEAT_TABLE} (token) VALUES ($1)`, [token]);
  // Keep the table small: a few rows a week are written, none is needed after a month.
  await primary.query(`DELETE FROM public.${HEARTBEAT_TABLE} WHERE written_at < now() - interval '30 days'`);
  const started = performance.now();
  for (;;) {
    // The table itself may not have replayed yet on a first drill: look it up before reading it.
    const exists = await replica.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname = $1`,
      [HEARTBEAT_TABLE],
    );
    if ((exists.rows[0]?.n ?? 0) > 0) {
      const found = await replica.query(`SELECT 1 FROM public.${HEARTBEAT_TABLE} WHERE token = $1`, [token]);
      if ((found.rowCount ?? 0) > 0)
        return { token, replicatedAfterMs: Math.round(performance.now() - started) };
    }
    if (performance.now() - started >= options.timeoutMs) {
      throw new ReplicationProbeError(
        'HeartbeatNotReplicated',
        `heartbeat ${token} written on the primary had not reached the replica after ${options.timeoutMs} ms`,
      );
    }
    await sleep(options.pollMs);
  }
}

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
