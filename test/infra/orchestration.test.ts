import { Match, Template } from 'aws-cdk-lib/assertions';
import { synthApp } from './test-config';

type Fn = {
  Properties: {
    Handler: string;
    Description: string;
    VpcConfig?: { SecurityGroupIds: unknown[] };
    Environment: { Variables: Record<string, unknown> };
    Timeout: number;
    Role: unknown;
  };
};
type Policy = {
  Properties: {
    Roles: { Ref: string }[];
    PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[] };
  };
};

describe('blue-green steps (orchestration stack)', () => {
  const { stacks } = synthApp();
  const template = Template.fromStack(stacks.orchestration);
  const functions = Object.values(
    template.findResources('AWS::Lambda::Function') as Record<string, Fn>,
  ).filter((f) => f.Properties.Description.startsWith('Blue-green step'));
  const byDescription = (start: string) => {
    const found = functions.find((f) => f.Properties.Description.startsWith(`Blue-green step: ${start}`));
    if (found === undefined) throw new Error(`no step ${start}`);
    return found;
  };
  const statementsFor = (fn: Fn) => {
    const roleRef = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Policy>)
      .filter((p) => p.Properties.Roles.some((r) => r.Ref === roleRef))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
  };

  it('deploys in the orchestration region (the secondary by default)', () => {
    expect(stacks.orchestration.region).toBe('us-east-1');
    expect(functions).toHaveLength(6);
  });

  it('runs the database steps in the VPC with the recovery-tooling group, the others outside it', () => {
    for (const step of ['reach a database', 'plan pending', 'apply pending', 'verify green']) {
      const fn = byDescription(step);
      expect(fn.Properties.VpcConfig?.SecurityGroupIds).toEqual([
        { 'Fn::ImportValue': expect.stringContaining('RecoveryToolingSecurityGroup') as unknown },
      ]);
    }
    for (const step of ['smoke-test', 'flip'])
      expect(byDescription(step).Properties.VpcConfig).toBeUndefined();
  });

  it('bundles the migrations folder into the migration and verify steps', () => {
    for (const step of ['plan pending', 'apply pending', 'verify green']) {
      expect(byDescription(step).Properties.Environment.Variables.MIGRATIONS_DIR).toBe(
        '/var/task/migrations',
      );
    }
    expect(byDescription('apply pending').Properties.Timeout).toBe(900);
  });

  it('lets database steps read only secrets under the configured prefix', () => {
    const statements = statementsFor(byDescription('apply pending'));
    const secretRead = statements.filter((s) =>
      ([] as string[]).concat(s.Action).includes('secretsmanager:GetSecretValue'),
    );
    expect(secretRead).toHaveLength(1);
    expect(JSON.stringify(secretRead[0]?.Resource)).toContain(
      ':secretsmanager:us-east-1:111122223333:secret:pg-dr/*',
    );
    expect(statements.some((s) => JSON.stringify(s.Action).includes('route53'))).toBe(false);
  });

  it('lets the DNS flip UPSERT only the database record of the configured zone', () => {
    const statements = statementsFor(byDescription('flip'));
    const route53 = statements.filter((s) => JSON.stringify(s.Action).includes('route53'));
    expect(route53).toEqual([
      {
        Action: 'route53:ChangeResourceRecordSets',
        Effect: 'Allow',
        Resource: {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':route53:::hostedzone/Z0EXAMPLE12345']],
        },
        Condition: {
          'ForAllValues:StringEquals': {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['db.provability-fabric.org'],
            'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
            'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
          },
        },
      },
      {
        Action: 'route53:ListResourceRecordSets',
        Effect: 'Allow',
        Resource: {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':route53:::hostedzone/Z0EXAMPLE12345']],
        },
      },
      {
        Action: 'route53:GetChange',
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':route53:::change/*']] },
      },
      { Action: 'route53:TestDNSAnswer', Effect: 'Allow', Resource: '*' },
    ]);
    expect(statements.some((s) => JSON.stringify(s.Action).includes('secretsmanager'))).toBe(false);
  });

  it('exports every step function name for the workflow and the CLI', () => {
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual(
      ['connectivityCheck', 'dnsFlip', 'migrate', 'migrationPlan', 'smokeTest', 'verify'].map(
        (n) => expect.stringMatching(new RegExp(`^${n}FunctionName`)) as unknown as string,
      ),
    );
    template.hasOutput('dnsFlipFunctionName', { Value: Match.anyValue() });
  });
});
