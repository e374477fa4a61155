/**
 * The report a dump restore check leaves in the DR region's bucket, for the workflow and `dr backups` to read:
 * what was restored, each check, how long pg_restore took. Schema and reader only (its readers load no pg code).
 */
import type { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { jsonOf } from '../shared/json-text';
import { RoutableError } from '../shared/routable-error';
import { DUMP_CHECK_REPORT_PREFIX } from './dump-objects';

/** A run's report: `dump-restore-checks/<yyyymmddThhmmssZ>-<run>.json`. */
export const DUMP_CHECK_REPORT_KEY = new RegExp(
  `^${DUMP_CHECK_REPORT_PREFIX}\\d{8}T\\d{6}Z-[a-z0-9]{1,16}\\.json$`,
);

/** The report of the run started at `startedAt` (to the second) whose execution name gives `run` (runToken). */
export function dumpCheckReportKey(startedAt: Date, run: string): string {
  const iso = startedAt.toISOString();
  return `${DUMP_CHECK_REPORT_PREFIX}${iso.slice(0, 10).replaceAll('-', '')}T${iso.slice(11, 19).replaceAll(':', '')}Z-${run}.json`;
}

export const dumpCheckReportSchema = z.object({
  ok: z.boolean(),
  dumpKey: z.string().optional(),
  sourceInstance: z.string().optional(),
  dumpStartedAt: z.iso.datetime().optional(),
  checks: z.array(z.object({ name: z.string(), passed: z.boolean(), detail: z.string() })).max(50),
  restoreSeconds: z.number().min(0).optional(),
  /** Why no check ran (NoDumpToRestore, a tool missing, the server not starting). */
  error: z.object({ name: z.string().max(100), message: z.string().max(4000) }).optional(),
});
export type DumpCheckReport = z.infer<typeof dumpCheckReportSchema>;

/**
 * The report at `key`, or undefined when there is none (the task never wrote it). Throws DumpFailed when the
 * object is not a report; any other S3 error as it came.
 */
export async function readDumpCheckReport(
  client: Pick<S3Client, 'send'>,
  bucket: string,
  key: string,
): Promise<DumpCheckReport | undefined> {
  let body: string;
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (object.Body === undefined) return undefined;
    body = await text(object.Body as Readable);
  } catch (error) {
    if (error instanceof Error && error.name === 'NoSuchKey') return undefined;
    throw error;
  }
  const report = jsonOf(dumpCheckReportSchema, body);
  if (report === undefined)
    throw new RoutableError(
      'DumpFailed',
      `the report s3://${bucket}/${key} is not a dump restore check report`,
    );
  return report;
}
