import { RemovalPolicy, type Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambdas/shared/metric-names';
import { acknowledgeLambdaBaseline, acknowledgeNistFinding } from '../nag';
import { LAMBDA_BUNDLING, lambdaEntry, NODE_RUNTIME, recordEntry } from './lambda-packaging';

export interface StepLambdaSpec {
  /** Path under lambdas/, e.g. ['drill', 'steps', 'report-handler.ts']. */
  readonly entry: string[];
  readonly handler: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  /** Powertools service name (logs and metrics). */
  readonly service: string;
  /** Database steps run in the VPC; the others need AWS public endpoints the VPC does not reach. */
  readonly vpc?: {
    readonly vpc: ec2.IVpc;
    readonly subnets: ec2.SubnetSelection;
    readonly securityGroup: ec2.ISecurityGroup;
  };
  readonly environment?: Record<string, string>;
  /** A fixed physical name, for a function other stacks or regions name (otherwise CloudFormation names it). */
  readonly functionName?: string;
  readonly bundling?: Partial<nodejs.BundlingOptions>;
}

/**
 * One workflow step as a Lambda: bundled locally by esbuild, ARM, traced, with its own log group, Powertools
 * settings, and the reviewed cdk-nag baseline. Created directly in `scope`, so ids stay stable.
 */
export function stepLambda(scope: Construct, id: string, spec: StepLambdaSpec): nodejs.NodejsFunction {
  const fn = new nodejs.NodejsFunction(scope, id, {
    ...(spec.functionName === undefined ? {} : { functionName: spec.functionName }),
    description: spec.description,
    entry: lambdaEntry(...spec.entry),
    handler: spec.handler,
    runtime: NODE_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    memorySize: spec.memorySize,
    timeout: spec.timeout,
    tracing: lambda.Tracing.ACTIVE,
    logGroup: new logs.LogGroup(scope, `${id}Logs`, {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    }),
    ...(spec.vpc === undefined
      ? {}
      : { vpc: spec.vpc.vpc, vpcSubnets: spec.vpc.subnets, securityGroups: [spec.vpc.securityGroup] }),
    environment: {
      POWERTOOLS_SERVICE_NAME: spec.service,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      // Inside the VPC the steps talk to RDS: trust the RDS certificate authorities the runtime ships.
      ...(spec.vpc === undefined ? {} : { NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' }),
      ...spec.environment,
    },
    bundling: { ...LAMBDA_BUNDLING, ...spec.bundling },
  });
  recordEntry(fn, ...spec.entry);
  if (spec.vpc === undefined)
    acknowledgeNistFinding(
      fn,
      'LambdaInsideVPC',
      'This step reads no database: it calls public AWS APIs (Route 53, S3 in another region, Step Functions, ' +
        'RDS) or nothing, and the VPCs have no NAT gateway by design, so it runs outside them.',
    );
  if (fn.role !== undefined) acknowledgeLambdaBaseline(fn.role, { inVpc: spec.vpc !== undefined });
  return fn;
}
