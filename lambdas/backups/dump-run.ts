/**
 * The scheduled dump workflow's own steps around the dump task (statemachines/dump.asl.json): what to dump and
 * where (prepare), and whether the run left a whole dump in the bucket (conclude). The task's exit code alone
 * is not trusted: a run passes only when its manifest, written last, is in the bucket and whole.
 */
import type { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DatabaseRef } from '../shared/database-ref';
import { RoutableError } from '../shared/routable-error';
import { DUMP_CONTAINER } from './dump-runtime';
import type { Topology } from '../shared/topology-schema';
import { dumpKeyBase, type ScheduledDump } from './dump-keys';
import { DUMP_SUFFIX, MANIFEST_SUFFIX } from './dump-objects';
import { dumpManifestSchema, type DumpManifest } from './dump-manifest';

export class DumpRunError extends RoutableError<'DumpFailed' | 'DumpMissing'> {}

/** What the workflow's prepare step settles: the task's input (as PG_DR_DUMP) and where the dump goes. */
export interface PreparedDump {
  /** scheduledDumpSchema, as the JSON text the task reads from PG_DR_DUMP. */
  readonly dump: string;
  readonly keyBase: string;
  readonly sourceInstance: string;
}

/**
 * A short token of the execution's name for the key (lower-case letters and digits, its last 16): two runs
 * started in the same second are kept apart by their names.
 */
export function runToken(executionName: string): string {
  const token = executionName
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(-16);
  return token === '' ? 'run' : token;
}

/**
 * What to dump: the writer the topology names (in whatever region it is: after a failover the DR region's, which
 * this region reaches through the peering), opened by its own secret or the master secret.
 */
export function prepareDump(
  topology: Pick<Topology, 'writer'>,
  settings: {
    readonly bucket: string;
    readonly prefix: string;
    readonly databaseName: string;
    readonly port: number;
    readonly masterSecretName: string;
  },
  execution: { readonly startedAt: string; readonly executionName: string },
): PreparedDump {
  const { writer } = topology;
  const source: DatabaseRef = {
    secretId: writer.secretId ?? settings.masterSecretName,
    host: writer.endpoint,
    port: writer.port ?? settings.port,
    database: settings.databaseName,
  };
  const keyBase = dumpKeyBase(
    settings.prefix,
    writer.instanceIdentifier,
    new Date(execution.startedAt),
    runToken(execution.executionName),
  );
  const dump: ScheduledDump = {
    source,
    sourceInstance: writer.instanceIdentifier,
    bucket: settings.bucket,
    keyBase,
  };
  return { dump: JSON.stringify(dump), keyBase, sourceInstance: writer.instanceIdentifier };
}

/** The ended task as the workflow passes it on (from the runTask.sync result). */
export interface EndedDumpTask {
  readonly containers: readonly {
    readonly name?: string;
    readonly exitCode?: number;
    readonly reason?: string;
  }[];
  readonly stopCode?: string;
  readonly stoppedReason?: string;
}

/**
 * Why a stopped dump task failed, or undefined when its dump container exited 0: which container, its exit
 * code or that it never ran, and what ECS says (the stop code and reasons).
 */
export function taskFailure(task: EndedDumpTask, subject: string): string | undefined {
  const container = task.containers.find((c) => c.name === DUMP_CONTAINER);
  if (container?.exitCode === 0) return undefined;
  const runtime = task.containers.find((c) => c.name !== DUMP_CONTAINER && c.exitCode !== 0);
  const why = [
    container === undefined
      ? `no ${DUMP_CONTAINER} container in the task`
      : container.exitCode === undefined
        ? `the ${DUMP_CONTAINER} container never exited`
        : `the ${DUMP_CONTAINER} container exited ${container.exitCode}`,
    container?.reason,
    ...(runtime === undefined
      ? []
      : [
          `the ${runtime.name ?? '?'} container ${runtime.exitCode === undefined ? 'never exited' : `exited ${runtime.exitCode}`}`,
          runtime.reason,
        ]),
    task.stopCode,
    task.stoppedReason,
  ].filter((part): part is string => part !== undefined && part !== '');
  return `${subject} failed: ${why.join('; ')} (the task's log says why)`;
}

export interface ConcludedDump {
  readonly dumpKey: string;
  readonly manifestKey: string;
  readonly manifest: DumpManifest;
  /** From the run's start to now. */
  readonly seconds: number;
}

/**
 * Whether the run left a whole dump: its container exited 0, and its manifest is in the bucket, parses, and
 * names this run's source. DumpFailed when the task says it failed (with ECS's reason), DumpMissing when no
 * whole manifest is there.
 */
export async function concludeDump(
  s3: Pick<S3Client, 'send'>,
  run: {
    readonly bucket: string;
    readonly keyBase: string;
    readonly sourceInstance: string;
    readonly startedAt: string;
    readonly task: EndedDumpTask;
  },
  now: Date,
): Promise<ConcludedDump> {
  const failure = taskFailure(run.task, `the dump of ${run.sourceInstance}`);
  if (failure !== undefined) throw new DumpRunError('DumpFailed', failure);
  const manifestKey = `${run.keyBase}${MANIFEST_SUFFIX}`;
  const where = `s3://${run.bucket}/${manifestKey}`;
  let body: string;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: run.bucket, Key: manifestKey }));
    if (object.Body === undefined) throw new Error('no body');
    body = await text(object.Body as Readable);
  } catch (error) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new DumpRunError(
      'DumpMissing',
      `the dump task ended but its manifest ${where} cannot be read (${detail})`,
      {
        cause: error,
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new DumpRunError('DumpMissing', `the manifest ${where} is not JSON`);
  }
  const manifest = dumpManifestSchema.safeParse(parsed);
  if (!manifest.success)
    throw new DumpRunError(
      'DumpMissing',
      `the manifest ${where} is not whole: ${manifest.error.issues.map((i) => i.path.join('.') || 'manifest').join(', ')}`,
    );
  if (manifest.data.sourceInstance !== run.sourceInstance)
    throw new DumpRunError(
      'DumpMissing',
      `the manifest ${where} is of ${manifest.data.sourceInstance}, not of ${run.sourceInstance}`,
    );
  return {
    dumpKey: `${run.keyBase}${DUMP_SUFFIX}`,
    manifestKey,
    manifest: manifest.data,
    seconds: Math.max(0, Math.round((now.getTime() - Date.parse(run.startedAt)) / 1000)),
  };
}
