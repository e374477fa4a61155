import { error, row, type ServiceEntry } from './types';
import { str } from '../input';

const API = 'https://docs.aws.amazon.com/AmazonS3/latest/API';
const UG = 'https://docs.aws.amazon.com/AmazonS3/latest/userguide';
const objectArn = (input: Record<string, unknown>, partition: string) =>
  `arn:${partition}:s3:::${str(input.Bucket)}/${str(input.Key)}`;
const bucketArn = (input: Record<string, unknown>, partition: string) =>
  `arn:${partition}:s3:::${str(input.Bucket)}`;

const WRONG_REGION = (op: string) =>
  error(
    `s3.${op}.wrong-region`,
    'PermanentRedirect',
    301,
    'The bucket is in another region than the client: the SDK does not follow the redirect unless followRegionRedirects is set (a HEAD gets the 301 with no body).',
    `${UG}/ErrorCodeBilling.html`,
    'PermanentRedirect: The bucket that you are attempting to access must be addressed using the specified endpoint. 301 Moved Permanently',
  );

export const S3: ServiceEntry = {
  service: 's3',
  title: 'Amazon S3',
  global: false,
  accessDenied: error(
    's3.access-denied',
    'AccessDenied',
    403,
    'A call IAM does not allow fails with AccessDenied (403); a HEAD request gets a bare 403 with no body, which the SDK surfaces by status only (name "Unknown").',
    `${API}/API_HeadObject.html`,
    "if the HEAD request generates an error, it returns a generic code, such as 400 Bad Request, 403 Forbidden, 404 Not Found ... It's not possible to retrieve the exact exception of these error codes.",
  ),
  throttling: error(
    's3.throttling',
    'SlowDown',
    503,
    'Over the request rate of a prefix (3,500 writes, 5,500 reads per second): 503 SlowDown, retried by the SDK.',
    `${UG}/optimizing-performance.html`,
    'your application can achieve at least 3,500 PUT/COPY/POST/DELETE or 5,500 GET/HEAD requests per second per partitioned Amazon S3 prefix',
  ),
  common: [
    error(
      's3.internal-error',
      'InternalError',
      500,
      'S3 failed internally: retry.',
      `${API}/ErrorResponses.html`,
      'InternalError: An internal error occurred. Try again. HTTP Status Code: 500 Internal Server Error',
    ),
  ],
  operations: [
    {
      service: 's3',
      operation: 'PutObject',
      calledBy: ['lambdas/drill/steps/s3-probe-handler.ts', 'lambdas/backups/scheduled-dump.ts'],
      reference: `${API}/API_PutObject.html`,
      iam: (input, w) => [{ action: 's3:PutObject', resources: [objectArn(input, w.partition)] }],
      relies: [
        row(
          's3.PutObject.kms',
          'Into a bucket whose default encryption is SSE-KMS, the caller also needs kms:GenerateDataKey on that key.',
          `${API}/API_PutObject.html`,
          'If the object is encrypted with SSE-KMS, you must also have the kms:GenerateDataKey and kms:Decrypt permissions in IAM identity-based policies and KMS key policies for the KMS key.',
        ),
        row(
          's3.PutObject.replication',
          'A new object in a bucket with a replication rule gets ReplicationStatus PENDING, then COMPLETED (or FAILED); its copy in the destination is REPLICA. With RTC, 99.99 % replicate within 15 minutes.',
          `${UG}/replication-time-control.html`,
          'S3 RTC replicates most objects that you upload to Amazon S3 in seconds, and 99.99 percent of those objects within 15 minutes.',
        ),
      ],
      errors: [WRONG_REGION('PutObject')],
    },
    {
      service: 's3',
      operation: 'HeadObject',
      calledBy: ['lambdas/drill/steps/s3-probe-handler.ts'],
      reference: `${API}/API_HeadObject.html`,
      iam: (input, w) => [{ action: 's3:GetObject', resources: [objectArn(input, w.partition)] }],
      relies: [
        row(
          's3.HeadObject.missing-needs-list',
          'A missing key is 404 only when the caller may s3:ListBucket the bucket; without it, 403 (so the drill’s probe may list the DR bucket).',
          `${API}/API_HeadObject.html`,
          'If you have the s3:ListBucket permission on the bucket, Amazon S3 returns an HTTP status code 404 Not Found error. If you don’t have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403 Forbidden error.',
        ),
        row(
          's3.HeadObject.replication-status',
          'Returns ReplicationStatus (x-amz-replication-status) for objects a replication rule covers: PENDING, COMPLETED, FAILED at the source, REPLICA at the destination.',
          `${API}/API_HeadObject.html`,
          'If requesting an object from the source bucket, Amazon S3 will return the x-amz-replication-status header if the object in your request is eligible for replication.',
        ),
      ],
      errors: [
        error(
          's3.HeadObject.not-found',
          'NotFound',
          404,
          'No such key (and the caller may list the bucket).',
          `${API}/API_HeadObject.html`,
          'Amazon S3 returns an HTTP status code 404 Not Found error.',
        ),
        WRONG_REGION('HeadObject'),
      ],
    },
    {
      service: 's3',
      operation: 'GetObject',
      calledBy: ['lambdas/backups/stored-dumps.ts'],
      reference: `${API}/API_GetObject.html`,
      iam: (input, w) => [{ action: 's3:GetObject', resources: [objectArn(input, w.partition)] }],
      relies: [
        row(
          's3.GetObject.missing-needs-list',
          'A missing key is NoSuchKey (404) only when the caller may s3:ListBucket the bucket; without it, AccessDenied (403).',
          `${API}/API_GetObject.html`,
          'If the object you request doesn’t exist, the error that Amazon S3 returns depends on whether you also have the s3:ListBucket permission.',
        ),
      ],
      errors: [
        error(
          's3.GetObject.no-such-key',
          'NoSuchKey',
          404,
          'No such key (and the caller may list the bucket).',
          `${API}/ErrorResponses.html`,
          'NoSuchKey: The specified key does not exist.',
        ),
        WRONG_REGION('GetObject'),
      ],
    },
    {
      service: 's3',
      operation: 'ListObjectsV2',
      calledBy: ['lib/cli/doctor-command.ts', 'lambdas/backups/stored-dumps.ts'],
      reference: `${API}/API_ListObjectsV2.html`,
      iam: (input, w) => [
        {
          action: 's3:ListBucket',
          resources: [bucketArn(input, w.partition)],
          context: { 's3:prefix': str(input.Prefix) },
        },
      ],
      relies: [
        row(
          's3.ListObjectsV2.order',
          'Up to 1,000 keys per call in UTF-8 binary order, with IsTruncated and NextContinuationToken.',
          `${API}/API_ListObjectsV2.html`,
          'Returns some or all (up to 1,000) of the objects in a bucket with each request.',
        ),
      ],
      errors: [
        error(
          's3.ListObjectsV2.no-such-bucket',
          'NoSuchBucket',
          404,
          'The bucket does not exist.',
          `${API}/API_ListObjectsV2.html`,
          'NoSuchBucket: The specified bucket does not exist.',
        ),
        WRONG_REGION('ListObjectsV2'),
      ],
    },
  ],
};
