import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DUMP_CHECK_REPORT_DAYS, DUMP_CHECK_REPORT_PREFIX } from '../../lambdas/backups/dump-objects';
import { acknowledgeNagFinding, acknowledgeNistFinding } from '../nag';

/** The id of the backup bucket's replication rule (S3 publishes its replication metrics per rule). */
export const BACKUP_REPLICATION_RULE_ID = 'replicate-backups';

export interface BackupReplicationTarget {
  readonly bucketName: string;
  readonly region: string;
  readonly account: string;
  readonly keyArn: string;
}

export interface BackupBucketProps {
  readonly bucketName: string;
  readonly key: kms.IKey;
  readonly noncurrentVersionExpiration: Duration;
  /** When set, every object is replicated there with Replication Time Control (15-minute SLA and metrics). */
  readonly replicateTo?: BackupReplicationTarget;
  /**
   * The logical dumps' prefix and how long a dump stays current. Each bucket expires its own: S3 replication
   * does not replicate what a lifecycle rule deletes.
   */
  readonly dumps: { readonly prefix: string; readonly retention: Duration };
}

/**
 * A bucket for database dumps: versioned, KMS-encrypted with the region's key, TLS-only, never public, with
 * server access logs, old dump versions expired, and optionally replicated to the other region.
 */
export class BackupBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: BackupBucketProps) {
    super(scope, id);
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      bucketName: `${props.bucketName}-access-logs`,
      // Server access log delivery supports SSE-S3 only.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const [rule, reason] of [
      ['S3DefaultEncryptionKMS', 'S3 server access log delivery supports SSE-S3 only.'],
      [
        'S3BucketVersioningEnabled',
        'Access logs are written once and expire after a year; nothing overwrites them.',
      ],
      [
        'S3BucketReplicationEnabled',
        'Access logs are diagnostics of this region; each region keeps its own.',
      ],
    ] as const)
      acknowledgeNistFinding(accessLogs, rule, reason);

    const replication = props.replicateTo;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      versioned: true,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'backups/',
      lifecycleRules: [
        {
          id: 'expire-old-dump-versions',
          noncurrentVersionExpiration: props.noncurrentVersionExpiration,
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
        {
          // The scheduled dumps and their manifests; their old versions then follow the rule above.
          id: 'expire-dumps',
          prefix: props.dumps.prefix,
          expiration: props.dumps.retention,
        },
        {
          // The dump restore tests' reports (the DR region's bucket writes them): kept longer than the dumps.
          id: 'expire-dump-restore-reports',
          prefix: DUMP_CHECK_REPORT_PREFIX,
          expiration: Duration.days(DUMP_CHECK_REPORT_DAYS),
        },
        {
          // The failover drill's S3 replication probes (one per drill, in both buckets).
          id: 'expire-drill-probes',
          prefix: 'dr-drill/',
          expiration: Duration.days(7),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
      replicationRules:
        replication === undefined
          ? undefined
          : [
              {
                id: BACKUP_REPLICATION_RULE_ID,
                priority: 1,
                destination: s3.Bucket.fromBucketAttributes(this, 'ReplicaBucket', {
                  bucketName: replication.bucketName,
                  region: replication.region,
                  account: replication.account,
                }),
                kmsKey: kms.Key.fromKeyArn(this, 'ReplicaKey', replication.keyArn),
                sseKmsEncryptedObjects: true,
                replicationTimeControl: s3.ReplicationTimeValue.FIFTEEN_MINUTES,
                metrics: s3.ReplicationTimeValue.FIFTEEN_MINUTES,
                deleteMarkerReplication: true,
              },
            ],
    });
    if (replication === undefined)
      acknowledgeNistFinding(
        this.bucket,
        'S3BucketReplicationEnabled',
        'This is the DR copy: the primary bucket replicates into it (Replication Time Control).',
      );
    const replicationRole = this.bucket.node.tryFindChild('ReplicationRole');
    if (replicationRole !== undefined && replication !== undefined) {
      const reason =
        'CDK-generated replication role: object-level access to every key of exactly the source and replica ' +
        'buckets (replication copies all objects) and KMS data-key actions on exactly their two keys.';
      for (const finding of [
        `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*]`,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${replication.bucketName}/*]`,
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      ]) {
        acknowledgeNagFinding(replicationRole, finding, reason);
      }
    }
  }
}
