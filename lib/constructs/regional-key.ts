import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface RegionalKeyProps {
  readonly alias: string;
  readonly description: string;
}

/**
 * The customer-managed key that encrypts one region's data at rest (RDS storage, the database secret, backup
 * objects). An encrypted cross-region replica needs a key in its own region, hence one per region.
 */
export class RegionalKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: RegionalKeyProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      alias: props.alias,
      description: props.description,
      enableKeyRotation: true,
      // Losing this key makes every snapshot and backup in the region unreadable.
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
    });
  }
}
