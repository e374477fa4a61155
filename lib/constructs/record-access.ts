import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { acknowledgeNagFinding } from '../nag';

/**
 * Lets a function point these CNAMEs of one zone at new values (lambdas/dns-flip/flip.ts): UPSERT only, of
 * these names only, then wait for the change and read the sets and Route 53's answers back. IAM cannot tell a name's failover sets apart: a grant for a name covers its PRIMARY set too.
 */
export function grantRecordUpserts(
  fn: lambda.Function,
  records: {
    readonly hostedZoneId: string;
    readonly recordNames: readonly string[];
  },
): void {
  const stack = Stack.of(fn);
  const zoneArn = `arn:${stack.partition}:route53:::hostedzone/${records.hostedZoneId}`;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['route53:ChangeResourceRecordSets'],
      resources: [zoneArn],
      conditions: {
        'ForAllValues:StringEquals': {
          // Route 53 compares the names lower-cased, without the final dot.
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': records.recordNames.map((n) =>
            n.toLowerCase().replace(/\.$/, ''),
          ),
          'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
          'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
        },
      },
    }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['route53:ListResourceRecordSets'], resources: [zoneArn] }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['route53:GetChange'],
      resources: [`arn:${stack.partition}:route53:::change/*`],
    }),
  );
  // TestDNSAnswer has no resource-level permissions; it only reads answers (the flip's default confirmation).
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['route53:TestDNSAnswer'], resources: ['*'] }));
  if (fn.role !== undefined)
    acknowledgeNagFinding(
      fn.role,
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::change/*]',
      'Change ids are created by each ChangeResourceRecordSets call; GetChange only reads their status.',
    );
}
