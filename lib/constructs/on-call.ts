import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface OnCallProps {
  readonly topicName: string;
  readonly email?: string;
  readonly httpsEndpoint?: string;
}

/**
 * The SNS topic that pages on-call. Alarms can only notify a topic in their own region, so there is one per
 * region that raises alarms, each with the same subscriptions.
 */
export class OnCall extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: OnCallProps) {
    super(scope, id);
    const key = new kms.Key(this, 'TopicKey', {
      description: `Encrypts on-call notifications on ${props.topicName}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms publish to the encrypted topic with the service principal, not a role.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: props.topicName,
      displayName: 'PostgreSQL DR on-call',
      masterKey: key,
      enforceSSL: true,
    });
    if (props.email !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    }
    if (props.httpsEndpoint !== undefined) {
      this.topic.addSubscription(
        new subscriptions.UrlSubscription(props.httpsEndpoint, { protocol: sns.SubscriptionProtocol.HTTPS }),
      );
    }
  }
}
