import * as path from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';

export const NODE_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** The Lambda entry points live beside the CDK app; esbuild bundles them locally at synth (never Docker). */
export function lambdaEntry(...parts: string[]): string {
  return path.join(__dirname, '..', '..', 'lambdas', ...parts);
}

/**
 * How every function is bundled. pg's optional native binding is never used. The SDK is bundled, not taken
 * from the runtime, so the deployed code runs the versions the tests ran.
 */
export const LAMBDA_BUNDLING: nodejs.BundlingOptions = {
  minify: true,
  sourceMap: true,
  target: 'node24',
  externalModules: ['pg-native'],
  forceDockerBundling: false,
};

/**
 * Records which source file a function runs, in its template metadata, so a test can derive the AWS calls
 * the code makes and compare them with the role's permissions.
 */
export function recordEntry(fn: lambda.Function, ...parts: string[]): void {
  (fn.node.defaultChild as lambda.CfnFunction).addMetadata('pg-dr:entry', ['lambdas', ...parts].join('/'));
}
