import { Stack, Validations } from 'aws-cdk-lib';
import * as cr from 'aws-cdk-lib/custom-resources';
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

/** Records a reviewed cdk-nag NIST 800-53 rev 5 finding on a construct (and everything under it). */
export function acknowledgeNistFinding(construct: IConstruct, rule: string, reason: string): void {
  Validations.of(construct).acknowledge({ id: `NIST.800.53.R5::NIST.800.53.R5-${rule}`, reason });
}

/** NIST 800-53 rev 5 findings reviewed once for the whole app: the same reason holds for every occurrence. */
export function acknowledgeNistAppDecisions(app: IConstruct): void {
  acknowledgeNistFinding(
    app,
    'IAMNoInlinePolicy',
    'Each role has its own generated policy, scoped to the resources that one function or state machine uses; ' +
      'a customer-managed copy per role would add objects to manage without narrowing anything.',
  );
  acknowledgeNistFinding(
    app,
    'CloudWatchLogGroupEncrypted',
    'CloudWatch Logs encrypts every log group at rest; these logs carry no secrets (the test suite fails if a ' +
      'password appears in any output), so a customer key would add key policy surface without protecting data.',
  );
  acknowledgeNistFinding(
    app,
    'LambdaConcurrency',
    'Invocations are bounded by their callers (one schedule per minute per probe, one state machine run at a ' +
      'time); reserving concurrency would take it from the application sharing the account.',
  );
  acknowledgeNistFinding(
    app,
    'LambdaDLQ',
    'Step functions are invoked synchronously by Step Functions, which handles and notifies every failure; the ' +
      'scheduled probes and freshness check are watched by alarms on their output and errors instead of a queue.',
  );
}

/**
 * The function CDK provides behind every AwsCustomResource of a stack (one per stack, found by its fixed id)
 * runs only while CloudFormation deploys: records its reviewed findings. `calls` says what its policy allows.
 */
export function acknowledgeDeployTimeCalls(scope: IConstruct, calls: string): void {
  const stack = Stack.of(scope);
  const provider = stack.node.tryFindChild(
    `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`,
  );
  if (provider === undefined) throw new Error('the AwsCustomResource provider function was not found');
  acknowledgeNagFinding(
    provider,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "AWS-maintained policy limited to writing the deploy-time function's own CloudWatch Logs.",
  );
  acknowledgeNistFinding(
    provider,
    'LambdaInsideVPC',
    `Runs only while CloudFormation deploys this stack, and calls only ${calls} (its whole policy); it reaches ` +
      'AWS APIs only, never a database, so it needs no place in a VPC.',
  );
}
