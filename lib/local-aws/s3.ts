/**
 * SIMULATED S3, following the catalogue (lib/local-aws/catalogue/s3.ts): buckets in a region, SSE-KMS default
 * encryption (a put needs kms:GenerateDataKey), cross-region replication after a delay with its
 * ReplicationStatus, HEAD answering 404 for a missing key only to a caller that may list the bucket (403
 * otherwise), and 301 PermanentRedirect for a client in the wrong region.
 */
import type { Simulator, SimulatorCall } from './world';
import { str } from './input';

export interface SimulatedBucket {
  readonly name: string;
  readonly region: string;
  /** Default encryption key (SSE-KMS), when set. */
  readonly kmsKeyArn?: string;
  /** Replication rule: destination bucket and how long an object takes to arrive. */
  replication?: { readonly destination: string; delayMs: number; fails?: boolean };
}

interface StoredObject {
  readonly putAt: number;
  readonly size: number;
  /** For a replica: when it becomes visible. */
  readonly visibleAt: number;
  readonly replica: boolean;
  /** The body, when it was put as text. */
  readonly body?: string;
}

export class S3Simulator implements Simulator {
  readonly service = 's3' as const;
  readonly label = 'SIMULATED S3';
  readonly buckets = new Map<string, SimulatedBucket>();
  private readonly objects = new Map<string, StoredObject>();

  constructor(private readonly options: { now?: () => number } = {}) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  addBucket(bucket: SimulatedBucket): void {
    this.buckets.set(bucket.name, bucket);
  }

  /** Keys of a bucket whose objects are visible now. */
  keys(bucket: string): string[] {
    return [...this.objects.entries()]
      .filter(([k, o]) => k.startsWith(`${bucket}/`) && o.visibleAt <= this.now())
      .map(([k]) => k.slice(bucket.length + 1))
      .sort();
  }

  async handle(call: SimulatorCall): Promise<unknown> {
    const bucketName = str(call.input.Bucket);
    const bucket = this.buckets.get(bucketName);
    const arn = `arn:${call.site.partition}:s3:::${bucketName}`;
    if (bucket !== undefined && bucket.region !== call.site.region)
      call.fail(
        'PermanentRedirect',
        'The bucket you are attempting to access must be addressed using the specified endpoint.',
      );
    const key = str(call.input.Key);
    switch (call.operation) {
      case 'PutObject': {
        if (bucket === undefined) return call.fail('AccessDenied', 'Access Denied');
        if (bucket.kmsKeyArn !== undefined)
          await call.authorize([
            {
              action: 'kms:GenerateDataKey',
              resources: [bucket.kmsKeyArn],
              context: { 'kms:ViaService': `s3.${bucket.region}.amazonaws.com` },
            },
          ]);
        const body = call.input.Body;
        const size =
          typeof body === 'string'
            ? Buffer.byteLength(body)
            : body instanceof Uint8Array
              ? body.byteLength
              : 0;
        const at = this.now();
        const text = typeof body === 'string' ? { body } : {};
        this.objects.set(`${bucketName}/${key}`, { putAt: at, size, visibleAt: at, replica: false, ...text });
        const rule = bucket.replication;
        if (rule !== undefined && rule.fails !== true)
          this.objects.set(`${rule.destination}/${key}`, {
            putAt: at,
            size,
            visibleAt: at + rule.delayMs,
            replica: true,
            ...text,
          });
        return {
          ETag: `"${at.toString(16)}"`,
          ...(bucket.kmsKeyArn === undefined ? {} : { SSEKMSKeyId: bucket.kmsKeyArn }),
        };
      }
      case 'HeadObject': {
        const stored = this.objects.get(`${bucketName}/${key}`);
        if (stored === undefined || stored.visibleAt > this.now()) {
          // A missing key is 404 only for a caller that may list the bucket.
          if (!(await call.allows({ action: 's3:ListBucket', resources: [arn] })))
            call.fail('AccessDenied', 'Forbidden');
          return call.fail('NotFound', 'Not Found');
        }
        const rule = bucket?.replication;
        const status = stored.replica
          ? 'REPLICA'
          : rule === undefined
            ? undefined
            : rule.fails === true
              ? 'FAILED'
              : this.now() >= stored.putAt + rule.delayMs
                ? 'COMPLETED'
                : 'PENDING';
        return {
          ContentLength: stored.size,
          LastModified: new Date(stored.visibleAt),
          ...(status === undefined ? {} : { ReplicationStatus: status }),
        };
      }
      case 'GetObject': {
        const stored = this.objects.get(`${bucketName}/${key}`);
        if (stored === undefined || stored.visibleAt > this.now()) {
          // A missing key is NoSuchKey only for a caller that may list the bucket.
          if (!(await call.allows({ action: 's3:ListBucket', resources: [arn] })))
            call.fail('AccessDenied', 'Access Denied');
          return call.fail('NoSuchKey', 'The specified key does not exist.');
        }
        return {
          ContentLength: stored.size,
          LastModified: new Date(stored.visibleAt),
          Body: stored.body ?? '',
        };
      }
      case 'ListObjectsV2': {
        if (bucket === undefined) return call.fail('NoSuchBucket', 'The specified bucket does not exist');
        const prefix = str(call.input.Prefix);
        const max = Math.min(1000, Number(call.input.MaxKeys ?? 1000));
        const all = this.keys(bucketName).filter((k) => k.startsWith(prefix));
        const after = call.input.ContinuationToken === undefined ? '' : str(call.input.ContinuationToken);
        const rest = all.filter((k) => k > after);
        const page = rest.slice(0, max);
        return {
          Contents: page.map((k) => {
            const o = this.objects.get(`${bucketName}/${k}`);
            return { Key: k, Size: o?.size ?? 0, LastModified: new Date(o?.visibleAt ?? 0) };
          }),
          KeyCount: page.length,
          IsTruncated: rest.length > max,
          ...(rest.length > max ? { NextContinuationToken: page.at(-1) } : {}),
        };
      }
      default:
        throw new Error(`${this.label}: ${call.operation} is catalogued but not simulated`);
    }
  }
}
