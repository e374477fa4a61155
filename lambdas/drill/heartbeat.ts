import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { sleep as defaultSleep } from '../shared/sleep';
import { ReplicationProbeError } from './errors';

import { HEARTBEAT_TABLE } from '../shared/replicated-tables';

export { HEARTBEAT_TABLE };

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
