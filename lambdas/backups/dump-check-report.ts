/**
 * The report a dump restore check leaves in the DR region's bucket, for the workflow to read: what was
 * restored, each check, how long pg_restore took. Schema only (the workflow's steps load no pg code).
 */
import { z } from 'zod';
import { DUMP_PREFIX } from '../shared/patterns';

/** Where a run's report goes: `<prefix>restore-checks/<yyyymmddThhmmssZ>-<run>.json`. */
export const DUMP_CHECK_REPORT_KEY = new RegExp(
  `^${DUMP_PREFIX.source.slice(1, -1)}restore-checks/\\d{8}T\\d{6}Z-[a-z0-9]{1,16}\\.json$`,
);

export function dumpCheckReportKey(prefix: string, startedAt: Date, run: string): string {
  const iso = startedAt.toISOString();
  return `${prefix}restore-checks/${iso.slice(0, 10).replaceAll('-', '')}T${iso.slice(11, 19).replaceAll(':', '')}Z-${run}.json`;
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
