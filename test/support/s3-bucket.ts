/**
 * A bucket in memory behind aws-sdk-client-mock: PutObject stores the body (a string, bytes, or a stream read
 * whole) and records the put in order; GetObject reads a stored body back as a stream, NoSuchKey otherwise;
 * ListObjectsV2 lists the keys under the prefix with their sizes, in one page.
 * `refusePut` makes the puts of some keys fail with AccessDenied (nothing stored, nothing recorded).
 */
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import {
  GetObjectCommand,
  type GetObjectCommandInput,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3ClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-s3';
import type { AwsStub } from 'aws-sdk-client-mock';

export interface BucketInMemory {
  /** Bodies by key: what a get reads. A test may change or delete one. */
  readonly objects: Map<string, Buffer>;
  /** Keys put, in order. */
  readonly puts: string[];
}

type S3Stub = AwsStub<ServiceInputTypes, ServiceOutputTypes, S3ClientResolvedConfig>;

export function bucketInMemory(s3: S3Stub, refusePut?: (key: string) => boolean): BucketInMemory {
  const bucket: BucketInMemory = { objects: new Map(), puts: [] };
  s3.on(PutObjectCommand).callsFake(async (put: PutObjectCommandInput) => {
    const body = put.Body;
    const bytes =
      typeof body === 'string' || body instanceof Uint8Array
        ? Buffer.from(body)
        : await buffer(body as Readable);
    const key = put.Key ?? '';
    if (refusePut?.(key) === true) throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    bucket.objects.set(key, bytes);
    bucket.puts.push(key);
    return { ETag: '"e"' };
  });
  s3.on(GetObjectCommand).callsFake((get: GetObjectCommandInput) => {
    const bytes = bucket.objects.get(get.Key ?? '');
    if (bytes === undefined)
      throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    return { Body: Readable.from([bytes]) };
  });
  // One page, keys in order, as S3 lists them.
  s3.on(ListObjectsV2Command).callsFake((list: ListObjectsV2CommandInput) => ({
    Contents: [...bucket.objects.entries()]
      .filter(([key]) => key.startsWith(list.Prefix ?? ''))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([Key, bytes]) => ({ Key, Size: bytes.length })),
    IsTruncated: false,
  }));
  return bucket;
}
