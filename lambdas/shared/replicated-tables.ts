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

/** A name part that needs no quotes in a table key: lower case letters, digits, underscore, dollar. */
const PLAIN_PART = /^[a-z_][a-z0-9_$]*$/;

/**
 * A table's key: `schema.table`, each part as it is when it is plain (lower case, no dot, no quote), quoted
 * otherwise (`"Tenant.A"."User"`). One string per table, unambiguous even with a dot in a name, readable in
 * messages, and PostgreSQL's own qualified-name text (`to_regclass(key)` finds the table). `tableKeySql` is
 * the same rule in SQL, for keys built by a query.
 */
export function tableKey(schema: string, name: string): string {
  const part = (p: string) => (PLAIN_PART.test(p) ? p : `"${p.replace(/"/g, '""')}"`);
  return `${part(schema)}.${part(name)}`;
}

/** tableKey in SQL, over two text expressions (e.g. `n.nspname`, `c.relname`). */
export function tableKeySql(schema: string, name: string): string {
  const part = (p: string) =>
    `CASE WHEN ${p} ~ '^[a-z_][a-z0-9_$]*$' THEN ${p}::text ELSE '"' || replace(${p}, '"', '""') || '"' END`;
  return `(${part(schema)} || '.' || ${part(name)})`;
}

/** A table key's schema and table names (the inverse of tableKey). */
export function parseTableKey(key: string): { schema: string; name: string } {
  const parts: string[] = [];
  let i = 0;
  while (i <= key.length && parts.length < 2) {
    if (key[i] === '"') {
      let text = '';
      let j = i + 1;
      for (; j < key.length; j++) {
        if (key[j] === '"') {
          if (key[j + 1] === '"') {
            text += '"';
            j += 1;
          } else break;
        } else text += key.charAt(j);
      }
      parts.push(text);
      i = j + 2;
    } else {
      const dot = key.indexOf('.', i);
      const end = dot === -1 || parts.length === 1 ? key.length : dot;
      parts.push(key.slice(i, end));
      i = end + 1;
    }
  }
  const [schema = '', name = ''] = parts;
  return { schema, name };
}

/**
 * Blue's application tables (table keys): every top-level permanent table (a partitioned table stands for
 * its partitions) outside the system schemas and NOT_REPLICATED. What zero loss promises to carry to green,
 * whatever the publication says.
 */
export async function applicationTables(client: Client): Promise<string[]> {
  const { rows } = await client.query<{ t: string }>(
    `SELECT ${tableKeySql('n.nspname', 'c.relname')} AS t
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence <> 't' AND ${SYSTEM_SCHEMAS}
      ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`,
  );
  return rows.map((r) => r.t).filter((t) => !NOT_REPLICATED.includes(t));
}
