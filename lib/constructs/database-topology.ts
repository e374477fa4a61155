import { Arn, CfnDynamicReference, CfnDynamicReferenceService, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { TopologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { acknowledgeDeployTimeCalls } from '../nag';

export interface TopologyMemberProps {
  readonly region: string;
  readonly instanceIdentifier: string;
  readonly endpoint: string;
  /** Endpoint.Port (a token: CloudFormation gives it as a string). */
  readonly port: string;
}

export interface DatabaseTopologyProps {
  readonly parameterNames: TopologyParameterNames;
  /** The roles as first deployed: the writer and its cross-region replica. */
  readonly writer: TopologyMemberProps;
  readonly replica: TopologyMemberProps;
}

/**
 * The topology record (lambdas/shared/topology.ts) in SSM Parameter Store, in this stack's region: the first
 * deploy writes it, and nothing in CloudFormation ever writes it again. Each parameter is created with
 * PutParameter `Overwrite: false` and the custom resources make no call on update or delete, so a later
 * deploy, a changed first-deploy value or a deleted stack leaves what the workflows wrote; an existing record
 * (a redeployed stack) is adopted as it is. The records read it through dynamic references (`recordTarget`).
 */
export class DatabaseTopology extends Construct {
  private readonly names: TopologyParameterNames;

  constructor(scope: Construct, id: string, props: DatabaseTopologyProps) {
    super(scope, id);
    this.names = props.parameterNames;
    const stack = Stack.of(this);
    const document = stack.toJsonString({
      generation: 1,
      writer: props.writer,
      replica: props.replica,
      retired: [],
      changedBy: 'first deploy',
    });
    const seed = (seedId: string, name: string, value: string) => {
      const parameterArn = Arn.format(
        { service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, '') },
        stack,
      );
      new cr.AwsCustomResource(this, seedId, {
        onCreate: {
          service: 'SSM',
          action: 'putParameter',
          parameters: { Name: name, Value: value, Type: 'String', Overwrite: false },
          physicalResourceId: cr.PhysicalResourceId.of(name),
          // A record the workflows already wrote (a redeployed stack) is adopted, never overwritten.
          ignoreErrorCodesMatching: 'ParameterAlreadyExists',
        },
        policy: cr.AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({ actions: ['ssm:PutParameter'], resources: [parameterArn] }),
        ]),
        installLatestAwsSdk: false,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    };
    seed('Document', this.names.document, document);
    seed('PrimaryRecord', this.names.primaryRecord, props.writer.endpoint);
    seed('SecondaryRecord', this.names.secondaryRecord, props.replica.endpoint);
    // The writer the health probes watch as deployed; the topology sync confirms later writers.
    seed('HealthCheckedWriter', this.names.healthCheckedWriter, props.writer.endpoint);

    acknowledgeDeployTimeCalls(this, 'SSM PutParameter on the topology parameters');
  }

  /**
   * What a failover record answers: a dynamic reference CloudFormation resolves when it creates or updates the
   * record, so a deploy writes the topology's current target, never the first deploy's. Whatever uses it
   * must depend on this construct (the parameter must exist first).
   */
  recordTarget(role: 'primary' | 'secondary'): string {
    return new CfnDynamicReference(
      CfnDynamicReferenceService.SSM,
      role === 'primary' ? this.names.primaryRecord : this.names.secondaryRecord,
    ).toString();
  }
}
