/**
 * The dump restore test's entry point: an ECS task in the DR region on the official postgres image of the
 * engine's major version (its initdb, pg_ctl and pg_restore), run by the dump restore test workflow. It restores
 * the newest dump of this region's backup bucket into a throwaway server inside the task, checks it against its
 * manifest (newest-dump-check.ts), and puts the report where the workflow reads it (PG_DR_CHECK_REPORT, a key
 * under dump-restore-checks/). Exits 0 when every check passed, 1 otherwise; the report says which and why,
 * a run stopped at its deadline included (TaskTimedOut).
 */
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { DUMP_SERVICE } from '../shared/metric-names';
import { DUMP_PREFIX } from '../shared/patterns';
import { parseEnvironment } from '../shared/step';
import { type DumpCheckReport, DUMP_CHECK_REPORT_KEY } from './dump-check-report';
import { checkNewestDump } from './newest-dump-check';
import { armDeadline } from './task-deadline';
import { serverAccount } from './throwaway-server';

const environmentSchema = z.object({
  DUMP_BUCKET: z.string().min(3),
  DUMP_PREFIX: z.string().regex(DUMP_PREFIX),
  /** Where this run's report goes (the workflow names it per run). */
  PG_DR_CHECK_REPORT: z.string().regex(DUMP_CHECK_REPORT_KEY),
  PG_RESTORE: z.string().min(1).default('pg_restore'),
  /** initdb and pg_ctl (the image's PATH by default). */
  PG_BIN_DIR: z.string().min(1).optional(),
  DUMP_WORK_DIR: z.string().min(1).default(tmpdir()),
  DUMP_MAX_SECONDS: z.coerce.number().int().min(1).optional(),
});

/** How long the report of a run stopped at its deadline may take to put, before the process ends anyway. */
export const DEADLINE_REPORT_MS = 20_000;

/**
 * Runs one check; resolves to the process's exit code. At the deadline a TaskTimedOut report is put (within
 * DEADLINE_REPORT_MS), unless the run's own is already on its way, and then `onDeadline` runs.
 */
export async function runDumpCheckTask(
  logger: Logger,
  onDeadline: () => void,
  s3: Pick<S3Client, 'send'> = new S3Client({}),
): Promise<number> {
  const environment = parseEnvironment(environmentSchema);
  // Set by whichever report is put first: the run's own, or the deadline's (a closure TS cannot narrow).
  const state = { reported: false };
  const putReport = async (report: DumpCheckReport, abortSignal?: AbortSignal): Promise<boolean> => {
    state.reported = true;
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: environment.DUMP_BUCKET,
          Key: environment.PG_DR_CHECK_REPORT,
          Body: JSON.stringify(report),
          ContentType: 'application/json',
        }),
        abortSignal === undefined ? {} : { abortSignal },
      );
      return true;
    } catch (error) {
      logger.error('dump restore check report not written', {
        key: environment.PG_DR_CHECK_REPORT,
        errorType: error instanceof Error ? error.name : 'Error',
      });
      return false;
    }
  };
  const seconds = environment.DUMP_MAX_SECONDS;
  const clearDeadline = armDeadline(logger, seconds, 'dump restore check', () => {
    if (state.reported) {
      onDeadline();
      return;
    }
    const timedOut: DumpCheckReport = {
      ok: false,
      checks: [],
      error: {
        name: 'TaskTimedOut',
        message: `the dump restore check ran out of its ${seconds ?? 0} s (backups.dumps.maxMinutes)`,
      },
    };
    void putReport(timedOut, AbortSignal.timeout(DEADLINE_REPORT_MS)).finally(onDeadline);
  });
  const account = serverAccount();
  // The server's account must pass through the task's storage to its own folder (search only, no listing).
  if (account !== undefined)
    chmodSync(environment.DUMP_WORK_DIR, statSync(environment.DUMP_WORK_DIR).mode | 0o011);
  const workDir = mkdtempSync(join(environment.DUMP_WORK_DIR, 'pg-dr-check-'));
  let report: DumpCheckReport;
  try {
    const { dump, report: checked } = await checkNewestDump({
      s3,
      bucket: environment.DUMP_BUCKET,
      prefix: environment.DUMP_PREFIX,
      workDir,
      pgRestore: environment.PG_RESTORE,
      ...(environment.PG_BIN_DIR === undefined ? {} : { binDir: environment.PG_BIN_DIR }),
      ...(account === undefined ? {} : { account }),
    });
    report = {
      ok: checked.ok,
      dumpKey: dump.dumpKey,
      sourceInstance: dump.sourceInstance,
      dumpStartedAt: dump.startedAt.toISOString(),
      checks: [...checked.checks],
      ...(checked.restoreSeconds === undefined ? {} : { restoreSeconds: checked.restoreSeconds }),
    };
  } catch (error) {
    // Messages name fields and resources, never a secret (pg tools' words are redacted where they are read).
    report = {
      ok: false,
      error: {
        name: error instanceof Error ? error.name : 'Error',
        message: error instanceof Error ? error.message : String(error),
      },
      checks: [],
    };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  // Past the deadline, its report is the run's: this one is not put over it.
  if (state.reported) return 1;
  const written = await putReport(report);
  clearDeadline();
  if (!written) return 1;
  logger[report.ok ? 'info' : 'error']('dump restore check', { ...report });
  return report.ok ? 0 : 1;
}

if (require.main === module) {
  const logger = new Logger({ serviceName: DUMP_SERVICE });
  runDumpCheckTask(logger, () => process.exit(1)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      logger.error('dump restore check failed', {
        reason: error instanceof Error ? error.message : String(error),
      });
      process.exitCode = 1;
    },
  );
}
