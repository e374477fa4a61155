import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { DrConfig } from '../config';
import { BackupBucket } from '../constructs/backup-bucket';
import { RegionalKey } from '../constructs/regional-key';
import { RegionalNetwork } from '../constructs/regional-network';
import { drNames } from '../names';

export interface SecondaryFoundationStackProps extends StackProps {
  readonly config: DrConfig;
}

/**
 * What the primary region needs to exist in the secondary region first: the VPC it peers with, the key its
 * secret replica and replicated backups are encrypted with, and the bucket backups replicate into.
 */
export class SecondaryFoundationStack extends Stack {
  readonly network: RegionalNetwork;
  readonly dataKey: RegionalKey;
  readonly backups: BackupBucket;
  /**
   * Keys of the secrets read in this region: the data key, and an adopted primary's customer managed key of
   * its secret's replica here (`adoptPrimary.secretReplicaKeyArn`).
   */
  readonly secretKeys: readonly kms.IKey[];

  constructor(scope: Construct, id: string, props: SecondaryFoundationStackProps) {
    super(scope, id, props);
    const { config } = props;
    const names = drNames(config);
    this.network = new RegionalNetwork(this, 'Network', {
      cidr: config.network.secondaryCidr,
      availabilityZones: config.network.secondaryAvailabilityZones,
      secretsManagerEndpointZones: config.network.secretsManagerEndpointZones,
    });
    this.dataKey = new RegionalKey(this, 'DataKey', {
      alias: names.keyAlias('secondary'),
      description: 'Encrypts the DR read replica, the secret replica and replicated backups',
    });
    const adoptedKey = config.adoptPrimary?.secretReplicaKeyArn;
    this.secretKeys = [
      this.dataKey.key,
      ...(adoptedKey === undefined ? [] : [kms.Key.fromKeyArn(this, 'AdoptedSecretReplicaKey', adoptedKey)]),
    ];
    this.backups = new BackupBucket(this, 'Backups', {
      bucketName: names.backupBucket(config.secondaryRegion),
      key: this.dataKey.key,
      noncurrentVersionExpiration: Duration.days(config.backups.noncurrentVersionExpirationDays),
      dumps: {
        prefix: config.backups.dumps.prefix,
        retention: Duration.days(config.backups.dumps.retentionDays),
      },
    });
  }
}
