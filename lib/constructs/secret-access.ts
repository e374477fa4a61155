import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { acknowledgeNagFinding } from '../nag';

/**
 * Lets a function decrypt secrets encrypted with these keys, only on behalf of Secrets Manager in its own
 * region. Granted on the role, not the key policy: the keys may live in another stack, and editing their
 * policy would make that stack depend on this one.
 */
export function grantSecretDecrypt(fn: lambda.Function, keys: readonly kms.IKey[]): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['kms:Decrypt'],
      resources: keys.map((key) => key.keyArn),
      conditions: {
        StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(fn).region}.amazonaws.com` },
      },
    }),
  );
}

/** Lets a function GetSecretValue on the secrets whose ARN resource name matches `pattern`, in its own region. */
function allowSecretValue(fn: lambda.Function, pattern: string): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [
        Arn.format(
          {
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: pattern,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          },
          Stack.of(fn),
        ),
      ],
    }),
  );
}

/** Lets a function read one secret by name (GetSecretValue only), in the function's own region. */
export function grantSecretRead(fn: lambda.Function, secretName: string): void {
  // Secrets Manager appends six random characters to a secret's ARN.
  allowSecretValue(fn, `${secretName}-??????`);
}

/**
 * Lets a function read every secret named under a prefix (GetSecretValue only), in its own region: for the
 * secrets of databases chosen after synth (a migration's blue and green, the writer a topology names).
 */
export function grantSecretsUnderPrefix(fn: lambda.Function, prefix: string, why: string): void {
  allowSecretValue(fn, `${prefix}*`);
  const stack = Stack.of(fn);
  if (fn.role !== undefined)
    acknowledgeNagFinding(
      fn.role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${stack.region}:${stack.account}:secret:${prefix}*]`,
      `${why}: access is limited to secrets named under ${prefix}.`,
    );
}
