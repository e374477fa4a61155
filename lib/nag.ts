import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Records a reviewed cdk-nag AwsSolutions finding on the construct that causes it. `finding` is the rule id as
 * cdk-nag prints it, e.g. `AwsSolutions-IAM5[Resource::*]`; the reason is kept in the cloud assembly.
 */
export function acknowledgeNagFinding(construct: IConstruct, finding: string, reason: string): void {
  Validations.of(construct).acknowledge({ id: `AwsSolutions::${finding}`, reason });
}

/**
 * The reviewed findings every Lambda of this app has: AWS-maintained execution policies (logs; ENIs when in a
 * VPC) and X-Ray's resource-less actions.
 */
export function acknowledgeLambdaBaseline(role: IConstruct, options: { inVpc: boolean }): void {
  acknowledgeNagFinding(
    role,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "AWS-maintained policy limited to writing the function's own CloudWatch Logs.",
  );
  if (options.inVpc) {
    acknowledgeNagFinding(
      role,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      'AWS-maintained policy Lambda needs to attach the function to its VPC (ENI management).',
    );
  }
  acknowledgeNagFinding(
    role,
    'AwsSolutions-IAM5[Resource::*]',
    'X-Ray PutTraceSegments/PutTelemetryRecords, and Route 53 TestDNSAnswer where a step reads DNS answers, support no resource-level permissions.',
  );
}
