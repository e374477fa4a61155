import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { DUMP_METRICS, DUMP_SERVICE, METRICS_NAMESPACE } from '../shared/metric-names';
import { DUMP_PREFIX } from '../shared/patterns';
import { rdsInstanceIdentifier } from '../shared/schemas';
import { parseEnvironment, parseInput, runStep, stepInstrumentation } from '../shared/step';
import { readTopology } from '../shared/topology';
import { topologyLocation } from '../shared/topology-location';
import { concludeDump, prepareDump, type ConcludedDump, type PreparedDump } from './dump-run';
import {
  ecsTaskSchema,
  endedTask,
  caughtErrorSchema,
  explainTaskFailure,
  runtimeUrl,
  taskEnvironment,
  type TaskPlacement,
} from './task-steps';

const execution = {
  startedAt: z.iso.datetime({ offset: true }),
  executionName: z.string().min(1).max(80),
};

export const dumpStepsEventSchema = z.discriminatedUnion('mode', [
  /** What to dump (the topology's writer) and where, and the URL the task fetches its script from. */
  z.strictObject({ mode: z.literal('prepare'), ...execution }),
  /** Whether the ended task left a whole dump: DumpSucceeded 1, DumpBytes, DumpDuration. */
  z.strictObject({
    mode: z.literal('conclude'),
    startedAt: execution.startedAt,
    keyBase: z.string().min(1).max(1024),
    sourceInstance: rdsInstanceIdentifier,
    /** The runTask.sync result: the stopped task as ECS describes it. */
    task: ecsTaskSchema,
  }),
  /**
   * runTask.sync failed the state (States.TaskFailed: a container exited non-zero, or the task never started);
   * its Cause is the stopped task as JSON. Always fails, with DumpFailed saying why.
   */
  z.strictObject({
    mode: z.literal('explain'),
    sourceInstance: rdsInstanceIdentifier,
    /** The error: States.TaskFailed, or an ECS API error (States.TaskFailed matches any but a timeout). */
    failure: caughtErrorSchema,
  }),
  /** The run failed (the Catch of any state): DumpSucceeded 0. */
  z.strictObject({ mode: z.literal('failed'), startedAt: execution.startedAt }),
]);
export type DumpStepsEvent = z.infer<typeof dumpStepsEventSchema>;

const environmentSchema = z.object({
  DUMP_BUCKET: z.string().min(3),
  DUMP_PREFIX: z.string().regex(DUMP_PREFIX),
  DATABASE_NAME: z.string().min(1),
  DATABASE_PORT: z.coerce.number().int().min(1).max(65535),
  MASTER_SECRET_NAME: z.string().min(1).max(512),
  ...taskEnvironment,
});

export type DumpStepsResult =
  | (PreparedDump & TaskPlacement)
  | (Omit<ConcludedDump, 'manifest'> & { readonly bytes: number; readonly lsn: string })
  | { readonly recorded: 'failed' };

const instrumentation = stepInstrumentation('scheduled-dump', DUMP_SERVICE);
const figures = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: DUMP_SERVICE });
let s3: S3Client | undefined;
let ssm: SSMClient | undefined;

/**
 * The scheduled dump's steps (statemachines/dump.asl.json): prepare the run, conclude it from the bucket, and
 * record a failed one. Publishes DumpSucceeded (1 or 0), DumpBytes and DumpDuration.
 */
export async function handler(event: unknown): Promise<DumpStepsResult> {
  return runStep(instrumentation, async () => {
    const input = parseInput(dumpStepsEventSchema, event);
    const env = parseEnvironment(environmentSchema);
    s3 ??= new S3Client({});
    switch (input.mode) {
      case 'prepare': {
        const located = topologyLocation();
        ssm ??= new SSMClient({ region: located.region });
        const topology = await readTopology(ssm, located.names);
        const prepared = prepareDump(
          topology,
          {
            bucket: env.DUMP_BUCKET,
            prefix: env.DUMP_PREFIX,
            databaseName: env.DATABASE_NAME,
            port: env.DATABASE_PORT,
            masterSecretName: env.MASTER_SECRET_NAME,
          },
          input,
        );
        instrumentation.logger.info('dump prepared', {
          sourceInstance: prepared.sourceInstance,
          keyBase: prepared.keyBase,
        });
        return { ...prepared, ...(await runtimeUrl(s3, env)) };
      }
      case 'conclude': {
        const concluded = await concludeDump(
          s3,
          {
            bucket: env.DUMP_BUCKET,
            keyBase: input.keyBase,
            sourceInstance: input.sourceInstance,
            startedAt: input.startedAt,
            task: endedTask(input.task),
          },
          new Date(),
        );
        figures.addMetric(DUMP_METRICS.succeeded, MetricUnit.Count, 1);
        figures.addMetric(DUMP_METRICS.bytes, MetricUnit.Bytes, concluded.manifest.bytes);
        figures.addMetric(DUMP_METRICS.duration, MetricUnit.Seconds, concluded.seconds);
        figures.publishStoredMetrics();
        instrumentation.logger.info('dump concluded', {
          manifestKey: concluded.manifestKey,
          bytes: concluded.manifest.bytes,
          seconds: concluded.seconds,
          lsn: concluded.manifest.lsn,
        });
        const { manifest, ...rest } = concluded;
        return { ...rest, bytes: manifest.bytes, lsn: manifest.lsn };
      }
      case 'explain':
        throw explainTaskFailure(
          input.failure.Error,
          input.failure.Cause,
          `the dump of ${input.sourceInstance}`,
        );
      case 'failed':
        figures.addMetric(DUMP_METRICS.succeeded, MetricUnit.Count, 0);
        figures.publishStoredMetrics();
        return { recorded: 'failed' };
    }
  });
}
