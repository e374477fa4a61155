import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Records a reviewed cdk-nag AwsSolutions finding on the construct that causes it. `finding` is the rule id as
 * cdk-nag prints it, e.g. `AwsSolutions-IAM5[Resource::*]`; the reason is kept in the cloud assembly.
 */
export function acknowledgeNagFinding(construct: IConstruct, finding: string, reason: string): void {
  Validations.of(construct).acknowledge({ id: `AwsSolutions::${finding}`, reason });
}
