import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { RDSClient } from '@aws-sdk/client-rds';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { asRdsRetryable } from '../shared/aws-retryable';
import { RESTORE_TEST_METRICS, RESTORE_TEST_SERVICE } from '../shared/metric-names';
import { awsRegion, rdsInstanceIdentifier } from '../shared/schemas';
import { parseEnvironment, parseInput, runStep, stepInstrumentation } from '../shared/step';
import { readTopology } from '../shared/topology';
import { topologyLocation } from '../shared/topology-location';
import { restoreTestFigures } from './figures';
import {
  advanceRestoreTest,
  deleteRestoreTest,
  restoreTestIdentifier,
  restoreTestSubject,
  startRestoreTest,
  type RestoreDeletion,
  type RestoreProgress,
  type RestoreStarted,
  type RestoreTestSubject,
} from './restore';

export const restoreTestEventSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    /** Delete what earlier tests left, then restore the writer's latest backup into a throwaway instance. */
    mode: z.literal('start'),
    /** The execution's start time (`$$.Execution.StartTime`): it names the throwaway instance. */
    startedAt: z.iso.datetime({ offset: true }),
  }),
  z.strictObject({ mode: z.literal('advance'), instanceIdentifier: rdsInstanceIdentifier }),
  z.strictObject({
    /** Delete the throwaway instance and publish the outcome: every path of the workflow ends here. */
    mode: z.literal('conclude'),
    /** The execution's start time: names the throwaway instance, also on a path where the start step failed. */
    startedAt: z.iso.datetime({ offset: true }),
    passed: z.boolean(),
    /** When RDS accepted the restore and when it was first seen available (absent when it never was). */
    restoreStartedAt: z.iso.datetime().optional(),
    restoreEndedAt: z.iso.datetime().optional(),
  }),
]);
export type RestoreTestEvent = z.infer<typeof restoreTestEventSchema>;

const environmentSchema = z.object({
  RESOURCE_PREFIX: z.string().min(1),
  /** This region (the DR region): where the backup is restored. */
  RESTORE_REGION: awsRegion,
  RESTORE_SUBNET_GROUP: z.string().min(1),
  RESTORE_SECURITY_GROUP_IDS: z
    .string()
    .transform((ids) => ids.split(','))
    .pipe(
      z
        .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/))
        .min(1)
        .max(5),
    ),
  RESTORE_PARAMETER_GROUP: z.string().min(1),
  DATABASE_PORT: z.coerce.number().int().min(1).max(65535),
  MASTER_SECRET_NAME: z.string().min(1).max(512),
});

export type RestoreTestResult =
  | (RestoreStarted & { readonly subject: RestoreTestSubject })
  | RestoreProgress
  | (RestoreDeletion & { readonly passed: boolean; readonly restoreSeconds: number | null });

const instrumentation = stepInstrumentation('restore-test', RESTORE_TEST_SERVICE);
const figures = restoreTestFigures();
let rds: RDSClient | undefined;
let ssm: SSMClient | undefined;

/** Seconds between two ISO times, or null when either is missing. */
export function restoreSeconds(started?: string, ended?: string): number | null {
  if (started === undefined || ended === undefined) return null;
  return Math.max(0, Math.round((Date.parse(ended) - Date.parse(started)) / 1000));
}

/**
 * The restore test's RDS steps in the DR region (the workflow statemachines/restore-test.asl.json calls them):
 * start the restore, follow it, and conclude (delete the throwaway instance, publish RestoreTestSucceeded and
 * RestoreDuration). AWS failures that may pass are RdsRetryable.
 */
export async function handler(event: unknown): Promise<RestoreTestResult> {
  return runStep(instrumentation, async () => {
    const input = parseInput(restoreTestEventSchema, event);
    const env = parseEnvironment(environmentSchema);
    rds ??= new RDSClient({ region: env.RESTORE_REGION });
    try {
      if (input.mode === 'start') {
        const located = topologyLocation();
        ssm ??= new SSMClient({ region: located.region });
        const topology = await readTopology(ssm, located.names);
        const subject = restoreTestSubject(topology, env.RESTORE_REGION, {
          port: env.DATABASE_PORT,
          secretId: env.MASTER_SECRET_NAME,
        });
        const started = await startRestoreTest(
          rds,
          {
            region: env.RESTORE_REGION,
            subnetGroupName: env.RESTORE_SUBNET_GROUP,
            securityGroupIds: env.RESTORE_SECURITY_GROUP_IDS,
            parameterGroupName: env.RESTORE_PARAMETER_GROUP,
            port: env.DATABASE_PORT,
          },
          {
            writer: subject.writer,
            identifier: restoreTestIdentifier(env.RESOURCE_PREFIX, input.startedAt),
            resourcePrefix: env.RESOURCE_PREFIX,
          },
        );
        instrumentation.logger.info('restore started', { ...started });
        return { ...started, subject };
      }
      if (input.mode === 'advance') return await advanceRestoreTest(rds, input.instanceIdentifier);
      const deleted = await deleteRestoreTest(
        rds,
        restoreTestIdentifier(env.RESOURCE_PREFIX, input.startedAt),
        env.RESOURCE_PREFIX,
      );
      const seconds = restoreSeconds(input.restoreStartedAt, input.restoreEndedAt);
      figures.addMetric(RESTORE_TEST_METRICS.succeeded, MetricUnit.Count, input.passed ? 1 : 0);
      if (seconds !== null) figures.addMetric(RESTORE_TEST_METRICS.duration, MetricUnit.Seconds, seconds);
      figures.publishStoredMetrics();
      instrumentation.logger.info('restore test concluded', { ...deleted, passed: input.passed, seconds });
      return { ...deleted, passed: input.passed, restoreSeconds: seconds };
    } catch (error) {
      throw asRdsRetryable(error);
    }
  });
}
