import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { DUMP_METRICS, DUMP_SERVICE, METRICS_NAMESPACE } from '../shared/metric-names';
import { RoutableError } from '../shared/routable-error';
import { parseEnvironment, parseInput, runStep, stepInstrumentation } from '../shared/step';
import {
  DUMP_CHECK_REPORT_KEY,
  dumpCheckReportKey,
  readDumpCheckReport,
  type DumpCheckReport,
} from './dump-check-report';
import { taskFailure, runToken } from './dump-run';
import {
  caughtErrorSchema,
  ecsTaskSchema,
  endedTask,
  explainTaskFailure,
  runtimeUrl,
  taskEnvironment,
  type TaskPlacement,
} from './task-steps';

export const dumpCheckStepsEventSchema = z.discriminatedUnion('mode', [
  /** Where this run's report goes, and the task's script URL and network. */
  z.strictObject({
    mode: z.literal('prepare'),
    startedAt: z.iso.datetime({ offset: true }),
    executionName: z.string().min(1).max(80),
  }),
  /**
   * The run's outcome from its report (whatever the task's exit code: a check that fails exits 1 after writing
   * it). Used only when there is no report: `task`, the stopped task runTask.sync returned; `failure`, its
   * error when the state failed (Step Functions' Error and Cause, whole: a Cause it may leave out is no
   * States.Runtime in the Parameters).
   */
  z.strictObject({
    mode: z.literal('conclude'),
    reportKey: z.string().regex(DUMP_CHECK_REPORT_KEY),
    /** Read only when there is no report: a task this does not parse never fails a run whose report is in. */
    task: z.unknown().optional(),
    failure: caughtErrorSchema.optional(),
  }),
  /** The run failed (the Catch of any state): DumpRestoreTestSucceeded 0. */
  z.strictObject({ mode: z.literal('failed') }),
]);

const environmentSchema = z.object({
  DUMP_BUCKET: z.string().min(3),
  ...taskEnvironment,
});

export type DumpCheckStepsResult =
  ({ readonly reportKey: string } & TaskPlacement) | DumpCheckReport | { readonly recorded: 'failed' };

/** RestoreChecksFailed, DumpFailed, or the name of the error that kept the check from running (NoDumpToRestore). */
export class DumpCheckError extends RoutableError {}

const instrumentation = stepInstrumentation('dump-restore-test', DUMP_SERVICE);
const figures = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: DUMP_SERVICE });
let s3: S3Client | undefined;

/** Why a run left no report: its failed state's error, else its stopped task, else only that. */
function missingReport(
  input: Extract<z.infer<typeof dumpCheckStepsEventSchema>, { mode: 'conclude' }>,
): Error {
  const subject = 'the dump restore check';
  if (input.failure !== undefined)
    return explainTaskFailure(input.failure.Error, input.failure.Cause, subject);
  const task = ecsTaskSchema.safeParse(input.task);
  const failure = task.success ? taskFailure(endedTask(task.data), subject) : undefined;
  return new DumpCheckError(
    'DumpFailed',
    failure === undefined
      ? `${subject} left no report at ${input.reportKey}`
      : `${failure}; it left no report at ${input.reportKey}`,
  );
}

/** Why a report failed: its error (NoDumpToRestore, a tool or the server), or the checks that failed. */
function reportFailure(report: DumpCheckReport): DumpCheckError {
  if (report.error !== undefined)
    return new DumpCheckError(
      report.error.name,
      `the dump restore check could not run: ${report.error.message}`,
    );
  const failed = report.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`);
  return new DumpCheckError(
    'RestoreChecksFailed',
    `${report.dumpKey ?? 'the newest dump'} restored but failed its checks: ${failed.join('; ')}`,
  );
}

/**
 * The dump restore test's steps (statemachines/dump-restore-test.asl.json): prepare the run, conclude it from
 * its report, record a failed one. Publishes DumpRestoreTestSucceeded (1 or 0) and DumpRestoreDuration.
 */
export async function handler(event: unknown): Promise<DumpCheckStepsResult> {
  return runStep(instrumentation, async () => {
    const input = parseInput(dumpCheckStepsEventSchema, event);
    const env = parseEnvironment(environmentSchema);
    s3 ??= new S3Client({});
    switch (input.mode) {
      case 'prepare':
        return {
          reportKey: dumpCheckReportKey(new Date(input.startedAt), runToken(input.executionName)),
          ...(await runtimeUrl(s3, env)),
        };
      case 'conclude': {
        const report = await readDumpCheckReport(s3, env.DUMP_BUCKET, input.reportKey);
        if (report === undefined) throw missingReport(input);
        if (!report.ok) throw reportFailure(report);
        figures.addMetric(DUMP_METRICS.restoreTestSucceeded, MetricUnit.Count, 1);
        if (report.restoreSeconds !== undefined)
          figures.addMetric(DUMP_METRICS.restoreDuration, MetricUnit.Seconds, report.restoreSeconds);
        figures.publishStoredMetrics();
        instrumentation.logger.info('dump restore test passed', {
          dumpKey: report.dumpKey,
          restoreSeconds: report.restoreSeconds,
        });
        return report;
      }
      case 'failed':
        figures.addMetric(DUMP_METRICS.restoreTestSucceeded, MetricUnit.Count, 0);
        figures.publishStoredMetrics();
        return { recorded: 'failed' };
    }
  });
}
