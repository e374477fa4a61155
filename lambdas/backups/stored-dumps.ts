/**
 * The check that a stored dump restores: its dump and manifest downloaded from a backup bucket (either
 * region's), restored into a throwaway database and compared (restore-check.ts). dump-listing.ts finds them.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DumpConnection } from './dump';
import { DumpError } from './dump';
import { checkDumpRestores, type RestoreCheckReport } from './restore-check';
import { DUMP_SUFFIX } from './dump-objects';
import type { StoredDump } from './dump-listing';

/**
 * Downloads a dump and its manifest, restores the dump into `target` (an empty throwaway database) and
 * compares it with the manifest (checkDumpRestores); the downloaded file is removed after. A manifest that is not JSON fails the `manifest` check;
 * a download that fails throws DumpError naming the object.
 */
export async function checkStoredDump(options: {
  readonly s3: Pick<S3Client, 'send'>;
  readonly bucket: string;
  readonly dump: StoredDump;
  readonly workDir: string;
  readonly target: DumpConnection;
  readonly pgRestore: string;
}): Promise<RestoreCheckReport> {
  const { s3, bucket, dump } = options;
  const manifestText = await download(s3, bucket, dump.manifestKey, (body) => text(body));
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestText);
  } catch {
    return {
      ok: false,
      checks: [{ name: 'manifest', passed: false, detail: `s3://${bucket}/${dump.manifestKey} is not JSON` }],
    };
  }
  const dumpFile = join(options.workDir, `${dump.sourceInstance}${DUMP_SUFFIX}`);
  try {
    await download(s3, bucket, dump.dumpKey, (body) =>
      pipeline(body, createWriteStream(dumpFile, { mode: 0o600 })),
    );
    return await checkDumpRestores({
      dumpFile,
      manifest,
      target: options.target,
      pgRestore: options.pgRestore,
    });
  } finally {
    await rm(dumpFile, { force: true });
  }
}

async function download<T>(
  s3: Pick<S3Client, 'send'>,
  bucket: string,
  key: string,
  read: (body: Readable) => Promise<T>,
): Promise<T> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (object.Body === undefined) throw new Error('no body');
    return await read(object.Body as Readable);
  } catch (error) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new DumpError('DumpFailed', `download of s3://${bucket}/${key} failed: ${detail}`, {
      cause: error,
    });
  }
}
