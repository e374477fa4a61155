/**
 * The logical dumps a backup bucket holds, found by their manifests (a manifest is written only beside a dump
 * that is whole, scheduled-dump.ts): the newest one and its age. The same reading serves either region's
 * bucket: the DR region's holds what S3 replication has copied so far. Listing only: no object is read.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { RoutableError } from '../shared/routable-error';
import { DUMP_KEY_TAIL } from './dump-keys';
import { DUMP_SUFFIX, MANIFEST_SUFFIX } from './dump-objects';

export interface StoredDump {
  readonly sourceInstance: string;
  readonly manifestKey: string;
  readonly dumpKey: string;
  /** When the run that took it started (from its key): a dump is at least this old. */
  readonly startedAt: Date;
}

const MANIFEST_KEY_TAIL = new RegExp(`^${DUMP_KEY_TAIL.source}${MANIFEST_SUFFIX.replaceAll('.', '\\.')}$`);

/** The dump a manifest key names, or undefined for any other key under the prefix. */
export function storedDump(prefix: string, key: string): StoredDump | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const match = MANIFEST_KEY_TAIL.exec(key.slice(prefix.length));
  const [, sourceInstance, stamp] = match ?? [];
  if (sourceInstance === undefined || stamp === undefined) return undefined;
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`;
  const startedAt = new Date(iso);
  if (Number.isNaN(startedAt.getTime())) return undefined;
  const base = key.slice(0, -MANIFEST_SUFFIX.length);
  return { sourceInstance, manifestKey: key, dumpKey: `${base}${DUMP_SUFFIX}`, startedAt };
}

/** Pages of a listing read at most: 1,000 keys each, far more than a year of daily dumps per instance. */
export const MAX_LISTING_PAGES = 100;

/**
 * The newest dump under `prefix` (of any instance: a blue-green cutover or a failover changes the writer's
 * name), or undefined when there is none. A manifest counts only beside its dump file, listed and not empty:
 * in the primary bucket the manifest is written last, but S3 replication copies each object on its own, so
 * the DR bucket can hold a manifest whose dump has not arrived (or failed to). Throws DumpListingTooLong when
 * the listing does not end within MAX_LISTING_PAGES (the prefix holds something else too).
 */
export async function newestDump(
  s3: Pick<S3Client, 'send'>,
  bucket: string,
  prefix: string,
): Promise<StoredDump | undefined> {
  const manifests: StoredDump[] = [];
  const dumpFiles = new Set<string>();
  let token: string | undefined;
  for (let page = 0; page < MAX_LISTING_PAGES; page++) {
    const listing = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of listing.Contents ?? []) {
      if (object.Key === undefined) continue;
      const dump = storedDump(prefix, object.Key);
      if (dump !== undefined) manifests.push(dump);
      else if (object.Key.endsWith(DUMP_SUFFIX) && (object.Size ?? 0) > 0) dumpFiles.add(object.Key);
    }
    if (listing.IsTruncated !== true)
      return manifests
        .filter((m) => dumpFiles.has(m.dumpKey))
        .reduce<StoredDump | undefined>(
          (n, m) => (n === undefined || m.startedAt > n.startedAt ? m : n),
          undefined,
        );
    token = listing.NextContinuationToken;
  }
  throw new RoutableError(
    'DumpListingTooLong',
    `s3://${bucket}/${prefix}: more than ${MAX_LISTING_PAGES * 1000} keys; give the dumps a prefix of their own`,
  );
}

/** Seconds since the newest dump's run started, at `now`; undefined when there is no dump. */
export function dumpAgeSeconds(dump: StoredDump | undefined, now: Date): number | undefined {
  return dump === undefined
    ? undefined
    : Math.max(0, Math.round((now.getTime() - dump.startedAt.getTime()) / 1000));
}
