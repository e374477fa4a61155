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

/** The execution that names the throwaway: its start time (`$$.Execution.StartTime`) and name. */
const execution = {
  startedAt: z.iso.datetime({ offset: true }),
  executionName: z.string().min(1).max(80),
};

export const restoreTestEventSchema = z.discriminatedUnion('mode', [
  /** Delete what ended tests left, then restore the writer's latest backup into this test's throwaway. */
  z.strictObject({ mode: z.literal('start'), ...execution }),
  z.strictObject({ mode: z.literal('advance'), instanceIdentifier: rdsInstanceIdentifier }),
  z.strictObject({
    /** Publish the outcome (before the deletion, so a deletion that fails loses no figure). */
    mode: z.literal('record'),
    passed: z.boolean(),
    /** When RDS accepted the restore and when it was first seen available (absent when it never was). */
    restoreStartedAt: z.iso.datetime().optional(),
    restoreEndedAt: z.iso.datetime().optional(),
  }),
  /** Delete this test's throwaway: every path of the workflow ends here. RdsRetryable while RDS is busy with it. */
  z.strictObject({ mode: z.literal('delete'), ...execution }),
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
  | { readonly passed: boolean; readonly restoreSeconds: number | null }
  | RestoreDeletion;

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
 * start the restore, follow it, record the outcome (RestoreTestSucceeded, RestoreDuration) and delete the
 * throwaway instance. AWS failures that may pass, and an instance RDS is still busy with, are RdsRetryable.
 */
export async function handler(event: unknown): Promise<RestoreTestResult> {
  return runStep(instrumentation, async () => {
    const input = parseInput(restoreTestEventSchema, event);
    const env = parseEnvironment(environmentSchema);
    rds ??= new RDSClient({ region: env.RESTORE_REGION });
    try {
      switch (input.mode) {
        case 'start':
          return await start(
            rds,
            env,
            restoreTestIdentifier(env.RESOURCE_PREFIX, input.startedAt, input.executionName),
          );
        case 'advance':
          return await advanceRestoreTest(rds, input.instanceIdentifier);
        case 'record':
          return record(input);
        case 'delete':
          return await deleteRestoreTest(
            rds,
            restoreTestIdentifier(env.RESOURCE_PREFIX, input.startedAt, input.executionName),
            env.RESOURCE_PREFIX,
          );
      }
    } catch (error) {
      throw asRdsRetryable(error);
    }
  });
}

async function start(
  client: RDSClient,
  env: z.infer<typeof environmentSchema>,
  identifier: string,
): Promise<RestoreStarted & { readonly subject: RestoreTestSubject }> {
  const located = topologyLocation();
  ssm ??= new SSMClient({ region: located.region });
  const topology = await readTopology(ssm, located.names);
  const subject = restoreTestSubject(topology, env.RESTORE_REGION, {
    port: env.DATABASE_PORT,
    secretId: env.MASTER_SECRET_NAME,
  });
  const started = await startRestoreTest(
    client,
    {
      region: env.RESTORE_REGION,
      subnetGroupName: env.RESTORE_SUBNET_GROUP,
      securityGroupIds: env.RESTORE_SECURITY_GROUP_IDS,
      parameterGroupName: env.RESTORE_PARAMETER_GROUP,
      port: env.DATABASE_PORT,
    },
    { writer: subject.writer, identifier, resourcePrefix: env.RESOURCE_PREFIX },
  );
  if (started.sweptLeftovers.failed.length > 0)
    instrumentation.logger.warn('throwaways of ended tests not deleted', { ...started.sweptLeftovers });
  instrumentation.logger.info('restore started', { ...started });
  return { ...started, subject };
}

function record(input: Extract<RestoreTestEvent, { mode: 'record' }>): {
  passed: boolean;
  restoreSeconds: number | null;
} {
  const seconds = restoreSeconds(input.restoreStartedAt, input.restoreEndedAt);
  figures.addMetric(RESTORE_TEST_METRICS.succeeded, MetricUnit.Count, input.passed ? 1 : 0);
  if (seconds !== null) figures.addMetric(RESTORE_TEST_METRICS.duration, MetricUnit.Seconds, seconds);
  figures.publishStoredMetrics();
  instrumentation.logger.info('restore test recorded', { passed: input.passed, seconds });
  return { passed: input.passed, restoreSeconds: seconds };
}
