/**
 * What the backup workflows' steps share around their ECS task (the scheduled dump, the dump restore test):
 * the presigned URL of the task's script, where the task runs, and reading a stopped task from a runTask.sync
 * result or from the Cause of its failure.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { z } from 'zod';
import { jsonOf } from '../shared/json-text';
import { redact } from '../shared/redact';
import { DumpRunError, taskFailure, type EndedDumpTask } from './dump-run';

/** What CDK tells the steps about the task (DumpTaskRuntime.stepsEnvironment). */
export const taskEnvironment = {
  /** The bundled task script, a CDK asset the task fetches by a presigned URL. */
  RUNTIME_BUCKET: z.string().min(3),
  RUNTIME_KEY: z.string().min(1),
  /** Where the task runs: the compute subnets and its security group. */
  DUMP_SUBNET_IDS: z
    .string()
    .transform((ids) => ids.split(','))
    .pipe(
      z
        .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/))
        .min(1)
        .max(16),
    ),
  DUMP_SECURITY_GROUP_ID: z.string().regex(/^sg-[0-9a-f]{8,17}$/),
};

export interface TaskPlacement {
  /** The presigned URL of the task script: this toolkit's own code (no data, no secret). */
  readonly runtimeUrl: string;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
}

/** The task's script URL and network, as the workflow passes them to RunTask. */
export async function runtimeUrl(
  s3: S3Client,
  env: {
    readonly RUNTIME_BUCKET: string;
    readonly RUNTIME_KEY: string;
    readonly DUMP_SUBNET_IDS: readonly string[];
    readonly DUMP_SECURITY_GROUP_ID: string;
  },
): Promise<TaskPlacement> {
  return {
    runtimeUrl: await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket: env.RUNTIME_BUCKET, Key: env.RUNTIME_KEY }),
      {
        expiresIn: RUNTIME_URL_SECONDS,
      },
    ),
    subnets: env.DUMP_SUBNET_IDS,
    securityGroups: [env.DUMP_SECURITY_GROUP_ID],
  };
}

/**
 * How long the task's runtime URL is asked to stay valid: enough for Fargate to place the task and start it. A
 * URL signed with temporary credentials ends with them, if sooner (the steps function's session).
 */
export const RUNTIME_URL_SECONDS = 3600;

/** ECS documents no length for a stop reason: a long one is cut, never a reason to refuse the task. */
const reason = (max: number) =>
  z
    .string()
    .optional()
    .transform((s) => s?.slice(0, max));

/** The stopped task as Step Functions gives it (PascalCase), only the fields read. */
export const ecsTaskSchema = z.looseObject({
  Containers: z
    .array(
      z.looseObject({
        Name: z.string().optional(),
        ExitCode: z.number().int().optional(),
        Reason: reason(1024),
      }),
    )
    .max(10),
  StopCode: reason(100),
  StoppedReason: reason(1024),
});

/**
 * The error a Catch puts at its ResultPath (Error and Cause), passed whole: a Parameters path to a Cause that
 * is absent would fail the state with States.Runtime, which no Catch takes.
 */
export const caughtErrorSchema = z.looseObject({
  Error: z.string().max(256),
  Cause: z.string().max(262_144).optional(),
});

/** The task as the conclusion reads it. */
export const endedTask = (task: z.infer<typeof ecsTaskSchema>): EndedDumpTask => ({
  containers: task.Containers.map((c) => ({ name: c.Name, exitCode: c.ExitCode, reason: c.Reason })),
  stopCode: task.StopCode,
  stoppedReason: task.StoppedReason,
});

/**
 * The error of a failed runTask.sync, from its Cause: the stopped task when it parses as one. The Cause is
 * never repeated (it holds the task's overrides, the script's presigned URL among them).
 */
export function explainTaskFailure(error: string, cause: string | undefined, subject: string): DumpRunError {
  const task = jsonOf(ecsTaskSchema, cause);
  const failure = task === undefined ? undefined : taskFailure(endedTask(task), subject);
  return new DumpRunError(
    'DumpFailed',
    failure ??
      `${subject} did not run to its end: ${redact(error)}, with no stopped task in its cause (the execution's history has it)`,
  );
}
