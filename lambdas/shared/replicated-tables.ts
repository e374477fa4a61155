import type { Client } from 'pg';

/** Replicated through the subscription like any table; a row written on blue marks a point in its history. */
export const BARRIER_TABLE = 'dr_cutover_barrier';

/** The drill's heartbeat: each primary's own probe, written where it runs. */
export const HEARTBEAT_TABLE = 'dr_drill_heartbeat';

/** Schemas that are never application tables (SQL over `pg_namespace n`). */
export const SYSTEM_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'`;

/**
 * Tables that may stay out of the publication and are never compared: Prisma's bookkeeping (the migrate step
 * writes green's own), the cutover's barrier (it adds it itself) and the drill's heartbeat.
 */
export const NOT_REPLICATED: readonly string[] = [
  'public._prisma_migrations',
  `public.${BARRIER_TABLE}`,
  `public.${HEARTBEAT_TABLE}`,
];

/**
 * Blue's application tables (`schema.table`): every top-level permanent table (a partitioned table stands for
 * its partitions) outside the system schemas and NOT_REPLICATED. What zero loss promises to carry to green,
 * whatever the publication says.
 */
export async function applicationTables(client: Client): Promise<string[]> {
  const { rows } = await client.query<{ t: string }>(
    `SELECT n.nspname || '.' || c.relname AS t
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence <> 't' AND ${SYSTEM_SCHEMAS}
      ORDER BY 1`,
  );
  return rows.map((r) => r.t).filter((t) => !NOT_REPLICATED.includes(t));
}
