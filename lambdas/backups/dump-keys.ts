/**
 * Where the scheduled dumps go and what the dump task is given: the keys of a dump and its manifest, and the
 * task's input. Constants and schemas only: the workflow's steps and the listings load no pg_dump code.
 */
import { z } from 'zod';
import { databaseRefSchema } from '../shared/database-ref';
import { DUMP_PREFIX } from '../shared/patterns';
import { rdsInstanceIdentifier } from '../shared/schemas';

/**
 * A dump's object key after the prefix, without its suffix: `<instance>/<yyyy>/<mm>/<dd>/<yyyymmddThhmmssZ>-<run>`
 * (groups: the instance, then the run's start stamp).
 */
export const DUMP_KEY_TAIL = /([a-z][a-z0-9-]{0,62})\/\d{4}\/\d{2}\/\d{2}\/(\d{8}T\d{6}Z)-[a-z0-9]{1,16}/;

const DUMP_KEY_BASE = new RegExp(`^${DUMP_PREFIX.source.slice(1, -1)}${DUMP_KEY_TAIL.source}$`);

/** What the workflow gives the dump task (as PG_DR_DUMP, JSON). */
export const scheduledDumpSchema = z.strictObject({
  /** The writer: its secret, and the endpoint to dump (the secret's host otherwise). */
  source: databaseRefSchema,
  sourceInstance: rdsInstanceIdentifier,
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'must be an S3 bucket name' }),
  /** dumpKeyBase(): where the dump and its manifest go. */
  keyBase: z.string().regex(DUMP_KEY_BASE, { error: 'must be a dump key (dumpKeyBase)' }),
});
export type ScheduledDump = z.infer<typeof scheduledDumpSchema>;

/**
 * Where a dump taken at `startedAt` of `sourceInstance` goes, under `prefix` (empty, or ending in `/`): by
 * instance and UTC day, so that the newest of an instance is the last key of its folder, and `run` (a short
 * lower-case token, for example from the execution name) keeps two runs in one second apart.
 */
export function dumpKeyBase(prefix: string, sourceInstance: string, startedAt: Date, run: string): string {
  const iso = startedAt.toISOString();
  const day = iso.slice(0, 10).replaceAll('-', '/');
  const stamp = `${iso.slice(0, 10).replaceAll('-', '')}T${iso.slice(11, 19).replaceAll(':', '')}Z`;
  return `${prefix}${sourceInstance}/${day}/${stamp}-${run}`;
}
