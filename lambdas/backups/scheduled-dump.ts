/**
 * The scheduled logical dump: what the dump task (an ECS task on the engine's own postgres image, dump-task.ts)
 * does with the writer the workflow names. pg_dump -Fc into the task's storage, then the dump into the backup
 * bucket, then its manifest beside it: a manifest is written only for a dump that is whole in the bucket, so
 * whoever reads the newest manifest finds a complete dump. The bucket replicates both to the DR region.
 */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ResolveDatabase } from '../shared/database';
import { dumpDatabase, DumpError, type DumpManifest } from './dump';
import type { ScheduledDump } from './dump-keys';
import { DUMP_SUFFIX, MANIFEST_SUFFIX } from './dump-objects';

export interface ScheduledDumpResult {
  readonly dumpKey: string;
  readonly manifestKey: string;
  readonly manifest: DumpManifest;
}

/** Parts of 64 MiB: the largest dump the task's storage can hold (under 200 GiB) is about 3,200 of S3's 10,000. */
const PART_BYTES = 64 * 1024 * 1024;

/**
 * Takes the dump and puts it, then its manifest, in the bucket. The local file is removed whatever happens.
 * Fails with DumpError (DumpFailed) naming the step: pg_dump's own (redacted) message, or the upload's.
 */
export async function takeScheduledDump(
  input: ScheduledDump,
  deps: {
    readonly resolve: ResolveDatabase;
    readonly s3: S3Client;
    readonly pgDump: string;
    /** A folder on the task's storage for the dump file. */
    readonly workDir: string;
    /** PEM bundle of the RDS CAs, for pg_dump's verify-full. */
    readonly caFile: string;
  },
): Promise<ScheduledDumpResult> {
  const settings = await deps.resolve(input.source);
  const outFile = join(deps.workDir, `${input.sourceInstance}${DUMP_SUFFIX}`);
  const dumpKey = `${input.keyBase}${DUMP_SUFFIX}`;
  const manifestKey = `${input.keyBase}${MANIFEST_SUFFIX}`;
  try {
    const manifest = await dumpDatabase({
      source: { settings, caFile: deps.caFile },
      sourceInstance: input.sourceInstance,
      pgDump: deps.pgDump,
      outFile,
    });
    const { size } = await stat(outFile);
    if (size !== manifest.bytes)
      throw new DumpError('DumpFailed', `${outFile}: ${size} bytes on disk, pg_dump wrote ${manifest.bytes}`);
    await putObject(`s3://${input.bucket}/${dumpKey}`, () =>
      new Upload({
        client: deps.s3,
        partSize: PART_BYTES,
        leavePartsOnError: false,
        params: {
          Bucket: input.bucket,
          Key: dumpKey,
          Body: createReadStream(outFile),
          ContentType: 'application/octet-stream',
          Metadata: { sha256: manifest.sha256 },
        },
      }).done(),
    );
    await putObject(`s3://${input.bucket}/${manifestKey}`, () =>
      deps.s3.send(
        new PutObjectCommand({
          Bucket: input.bucket,
          Key: manifestKey,
          Body: `${JSON.stringify(manifest, null, 2)}\n`,
          ContentType: 'application/json',
        }),
      ),
    );
    return { dumpKey, manifestKey, manifest };
  } finally {
    await rm(outFile, { force: true });
  }
}

async function putObject(where: string, put: () => Promise<unknown>): Promise<void> {
  try {
    await put();
  } catch (error) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new DumpError('DumpFailed', `upload to ${where} failed: ${detail}`, { cause: error });
  }
}
