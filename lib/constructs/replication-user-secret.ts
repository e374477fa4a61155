import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledgeNagFinding, acknowledgeNistFinding } from '../nag';

export interface ReplicationUserSecretProps {
  readonly secretName: string;
  readonly username: string;
  readonly key: kms.IKey;
  /** The other region gets a replica, so green's subscription can be set up from either side. */
  readonly replica: { readonly region: string; readonly key: kms.IKey };
}

/**
 * The password of the dedicated replication user a blue-green subscription connects as (docs/blue-green-workflow.md, The
 * replication user). Generated here, never rotated: a logical replication subscription stores its password in its
 * connection string and would fail at its next reconnect after a rotation (the master secret rotates every
 * 30 days, which is why a subscription must not use it). The operator creates the user with this password
 * (GRANT rds_replication) and uses it in CREATE SUBSCRIPTION; the cutover refuses a subscription that connects
 * as blue's rotated secret user.
 */
export class ReplicationUserSecret extends Construct {
  readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: ReplicationUserSecretProps) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      secretName: props.secretName,
      description: `Password of ${props.username}, the dedicated logical replication user (never rotated)`,
      encryptionKey: props.key,
      replicaRegions: [{ region: props.replica.region, encryptionKey: props.replica.key }],
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: props.username }),
        generateStringKey: 'password',
        passwordLength: 40,
        // A subscription's connection string is quoted with single quotes and split on spaces: keep both out.
        excludeCharacters: ` '"\\@/%`,
      },
    });
    const reason =
      'A logical replication subscription keeps its password in its connection string: rotating it would break ' +
      'the subscription at its next reconnect (and a cutover with it). The user can only replicate (rds_replication), ' +
      'and its password stays in this KMS-encrypted secret.';
    acknowledgeNagFinding(this.secret, 'AwsSolutions-SMG4', reason);
    acknowledgeNistFinding(this.secret, 'SecretsManagerRotationEnabled', reason);
  }
}
