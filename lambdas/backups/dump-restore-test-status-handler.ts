import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { DUMP_METRICS } from '../shared/metric-names';
import { parseEnvironment, runStep } from '../shared/step';
import { hoursSinceLastSuccess } from '../shared/workflow-freshness';
import { figures, instrumentation, publishDumpAge, type DumpStatus } from './dump-age-handler';

const environmentSchema = z.object({
  /** The dump restore test, whose last pass this status times. */
  RESTORE_TEST_STATE_MACHINE_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:.+$/),
});

let sfn: SFNClient | undefined;

/**
 * Runs hourly in the DR region: DumpAge of the dumps S3 replication delivered there (dump-age-handler.ts), and
 * the hours since a dump restore test last passed (or since it was deployed), which the "no successful dump
 * restore test" alarm watches.
 */
export async function handler(): Promise<
  DumpStatus & { readonly restoreTest: Awaited<ReturnType<typeof hoursSinceLastSuccess>> }
> {
  return runStep(instrumentation, async () => {
    const env = parseEnvironment(environmentSchema);
    sfn ??= new SFNClient({});
    const restoreTest = await hoursSinceLastSuccess(sfn, env.RESTORE_TEST_STATE_MACHINE_ARN, Date.now());
    figures.addMetric(DUMP_METRICS.hoursSinceRestoreTest, MetricUnit.NoUnit, restoreTest.hours);
    figures.publishStoredMetrics();
    return { ...(await publishDumpAge()), restoreTest };
  });
}
