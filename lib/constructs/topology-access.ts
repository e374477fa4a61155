import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  topologyParameterNames,
  type TopologyParameterNames,
} from '../../lambdas/shared/topology-parameters';

/** Where the topology lives: the failover DNS stack's region, and the prefix its parameters are named from. */
export interface TopologyLocation {
  readonly region: string;
  readonly resourcePrefix: string;
}

export type TopologyParameter = keyof TopologyParameterNames;

const parameterArns = (
  fn: lambda.Function,
  where: TopologyLocation,
  parameters: readonly TopologyParameter[],
) => {
  const stack = Stack.of(fn);
  const names = topologyParameterNames(where.resourcePrefix);
  return parameters.map(
    (p) => `arn:${stack.partition}:ssm:${where.region}:${stack.account}:parameter${names[p]}`,
  );
};

/**
 * Tells a step where the topology is (TOPOLOGY_REGION, RESOURCE_PREFIX: lambdas/shared/topology-location.ts)
 * and lets it read these of its parameters, and nothing else in Parameter Store.
 */
export function grantTopologyRead(
  fn: lambda.Function,
  where: TopologyLocation,
  parameters: readonly TopologyParameter[] = ['document'],
): void {
  fn.addEnvironment('TOPOLOGY_REGION', where.region);
  fn.addEnvironment('RESOURCE_PREFIX', where.resourcePrefix);
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['ssm:GetParameter'],
      resources: parameterArns(fn, where, parameters),
    }),
  );
}

/** Lets a step overwrite these topology parameters (PutParameter only); reading them is grantTopologyRead. */
export function grantTopologyWrite(
  fn: lambda.Function,
  where: TopologyLocation,
  parameters: readonly TopologyParameter[],
): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['ssm:PutParameter'],
      resources: parameterArns(fn, where, parameters),
    }),
  );
}
