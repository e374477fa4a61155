import { Match, Template } from 'aws-cdk-lib/assertions';
import { workflowDefinitionText } from '../../lib/workflow-definition';
import { synthApp } from './test-config';

type Fn = {
  Properties: {
    Handler: string;
    Description?: string;
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
  ).filter((f) => /^(Blue-green|DR rebuild) step/.test(f.Properties.Description ?? ''));
  const byDescription = (start: string) => {
    const found = functions.find((f) => f.Properties.Description?.includes(` step: ${start}`));
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
    expect(functions).toHaveLength(10);
  });

  it('runs the database steps in the VPC with the recovery-tooling group, the others outside it', () => {
    for (const step of [
      'reach a database',
      'plan pending',
      'apply pending',
      'verify green',
      'zero-loss cutover',
    ]) {
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
      [
        'BlueGreenStateMachineArn',
        'BlueRetirementStateMachineArn',
        'DrRebuildDnsInput',
        'DrRebuildStateMachineArn',
        'FailoverApprovalActivityArn',
        'FailoverDrillStateMachineArn',
        'GreenProvisioningStateMachineArn',
        'RegionFailoverStateMachineArn',
        'connectivityCheck',
        'cutover',
        'dnsFlip',
        'drReplica',
        'endWayBack',
        'greenDatabase',
        'greenInstance',
        'greenSchema',
        'migrate',
        'migrationPlan',
        'retirementInstance',
        'smokeTest',
        'topology',
        'unfence',
        'validateInput',
        'verify',
      ].map((n) => expect.stringMatching(new RegExp(`^${n}`)) as unknown as string),
    );
    template.hasOutput('dnsFlipFunctionName', { Value: Match.anyValue() });
  });

  it.each([
    ['blue-green-migration.asl.json', 'pg-dr-blue-green-migration'],
    ['dr-rebuild.asl.json', 'pg-dr-dr-rebuild'],
    ['blue-green-safety-net.asl.json', 'pg-dr-blue-green-safety-net'],
    ['green-provisioning.asl.json', 'pg-dr-green-provisioning'],
  ])('deploys %s with every placeholder substituted', (file, name) => {
    const asl = workflowDefinitionText(file);
    const placeholders = [...new Set([...asl.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1]))].sort();
    const machine = Object.values(
      template.findResources('AWS::StepFunctions::StateMachine', {
        Properties: { StateMachineName: name },
      }),
    )[0] as {
      Properties: {
        DefinitionString: unknown;
        DefinitionSubstitutions: Record<string, unknown>;
        LoggingConfiguration: unknown;
        TracingConfiguration: unknown;
      };
    };
    // Deployed is exactly what the local runs execute: the file with its shared retriers filled in.
    expect(machine.Properties.DefinitionString).toBe(asl);
    expect(Object.keys(machine.Properties.DefinitionSubstitutions).sort()).toEqual(placeholders);
    expect(machine.Properties).toMatchObject({
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
      TracingConfiguration: { Enabled: true },
    });
  });

  it('logs every workflow under /aws/vendedlogs/, so the CloudWatch Logs resource policy never grows', () => {
    const machines = Object.values(
      template.findResources('AWS::StepFunctions::StateMachine') as Record<
        string,
        { Properties: { LoggingConfiguration: { Destinations: { CloudWatchLogsLogGroup: unknown }[] } } }
      >,
    );
    expect(machines.length).toBeGreaterThanOrEqual(2);
    const groups = template.findResources('AWS::Logs::LogGroup') as Record<
      string,
      { Properties: { LogGroupName?: string } }
    >;
    for (const machine of machines) {
      const target = JSON.stringify(machine.Properties.LoggingConfiguration.Destinations);
      const [id] = Object.entries(groups).find(([logicalId]) => target.includes(`"${logicalId}"`)) ?? [];
      expect(groups[id ?? '']?.Properties.LogGroupName).toMatch(/^\/aws\/vendedlogs\/states\/pg-dr-/);
    }
  });

  it('pages on-call when a migration execution fails, times out or is aborted', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pg-dr-migration-failed',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'failed + timedOut + aborted' }),
        Match.objectLike({
          Id: 'failed',
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ExecutionsFailed' }) }),
        }),
      ]),
      AlarmActions: [Match.anyValue()],
    });
  });

  it('lets the workflow invoke only its steps and publish only to the on-call topic', () => {
    const policies = Object.entries(
      template.findResources('AWS::IAM::Policy') as Record<string, Policy>,
    ).filter(([id]) => id.startsWith('BlueGreenWorkflowStateMachineRole'));
    const statements = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s) => ([] as string[]).concat(s.Action)).sort();
    expect(new Set(actions)).toEqual(
      new Set([
        'lambda:InvokeFunction',
        'states:StartExecution',
        'sns:Publish',
        'kms:Decrypt',
        'kms:GenerateDataKey*',
        'logs:CreateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:DescribeLogGroups',
        'logs:DescribeResourcePolicies',
        'logs:GetLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:UpdateLogDelivery',
        'xray:GetSamplingRules',
        'xray:GetSamplingTargets',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ]),
    );
    const publish = statements.find((s) => ([] as string[]).concat(s.Action).includes('sns:Publish'));
    expect(JSON.stringify(publish?.Resource)).toContain('pg-dr-on-call-us-east-1');
    // It starts the DR rebuild (and nothing else), and cannot invoke the DR rebuild's replica step itself.
    const start = statements.find((s) => ([] as string[]).concat(s.Action).includes('states:StartExecution'));
    expect(JSON.stringify(start?.Resource)).toContain('DrRebuildStateMachine');
    const invoke = JSON.stringify(
      statements.filter((s) => ([] as string[]).concat(s.Action).includes('lambda:InvokeFunction')),
    );
    expect(invoke).not.toContain('drReplica');
    expect(invoke).toContain('dnsFlip');
  });

  it('starts the blue-green safety net on every abnormal migration end, and lets it only read migrations', () => {
    const rules = Object.values(
      template.findResources('AWS::Events::Rule', {
        Properties: {
          EventPattern: {
            source: ['aws.states'],
            detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
          },
        },
      }) as Record<string, { Properties: { EventPattern: unknown; Targets: { Arn: unknown }[] } }>,
    );
    const migrationNet = rules.find((r) =>
      JSON.stringify(r.Properties.EventPattern).includes('pg-dr-blue-green-migration'),
    );
    expect(JSON.stringify(migrationNet?.Properties.Targets[0]?.Arn)).toContain(
      'MigrationSafetyNetStateMachine',
    );
    const assess = Object.values(template.findResources('AWS::Lambda::Function') as Record<string, Fn>).find(
      (f) => f.Properties.Description?.startsWith('Blue-green safety net'),
    );
    if (assess === undefined) throw new Error('no assess function');
    expect(assess.Properties.VpcConfig).toBeUndefined();
    expect(assess.Properties.Environment.Variables).toMatchObject({ STEP_TIMEOUT_SECONDS: '660' });
    // Each migration state is waited out for its own function's timeout, read from the migration's ASL.
    expect(JSON.parse(String(assess.Properties.Environment.Variables.STATE_TIMEOUTS))).toMatchObject({
      FlipDns: 600,
      RollbackDns: 600,
      FenceBlueAndCatchUp: 660,
      FinishCutover: 660,
      AbortCutover: 90,
      AbortCutoverAfterRollback: 90,
    });
    const actions = statementsFor(assess).flatMap((st) => ([] as string[]).concat(st.Action));
    expect(actions.filter((a) => a.startsWith('states:')).sort()).toEqual([
      'states:DescribeExecution',
      'states:GetExecutionHistory',
      'states:ListExecutions',
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pg-dr-migration-safety-net-failed',
      AlarmActions: [Match.anyValue()],
    });
  });

  it('pages on-call when a DR rebuild fails, times out or is stopped', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pg-dr-dr-rebuild-failed',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'failed + timedOut + aborted' })]),
      AlarmActions: [Match.anyValue()],
    });
  });

  it('lets the DR rebuild create a replica of the writer in either region, encrypted with that region’s key', () => {
    const fn = byDescription('create a cross-region');
    const env = fn.Properties.Environment.Variables;
    expect(env).toMatchObject({
      ACCOUNT_ID: '111122223333',
      REPLICA_MULTI_AZ: 'true',
      REPLICA_PORT: '5432',
      TOPOLOGY_REGION: 'us-east-1',
      RESOURCE_PREFIX: 'pg-dr',
    });
    // Both regions' placements (the home region's through cross-region references), as one JSON document.
    const placements = JSON.stringify(env.REPLICA_PLACEMENTS);
    for (const region of ['us-west-2', 'us-east-1']) expect(placements).toContain(`region\\":\\"${region}`);
    const statements = statementsFor(fn);
    const create = statements.find((s) =>
      ([] as string[]).concat(s.Action).includes('rds:CreateDBInstanceReadReplica'),
    );
    for (const region of ['us-west-2', 'us-east-1'])
      expect(JSON.stringify(create?.Resource)).toContain(`:rds:${region}:111122223333:db:*`);
    const kms = statements.filter((s) => ([] as string[]).concat(s.Action).includes('kms:CreateGrant'));
    expect(kms.map((s) => s.Condition)).toEqual([
      { StringEquals: { 'kms:ViaService': 'rds.us-west-2.amazonaws.com' } },
      { StringEquals: { 'kms:ViaService': 'rds.us-east-1.amazonaws.com' } },
    ]);
    // It attaches its region's parameter group (and no other) and reboots; it deletes nothing.
    const modify = statements.find((s) => ([] as string[]).concat(s.Action).includes('rds:ModifyDBInstance'));
    expect(JSON.stringify(modify?.Resource)).toMatch(/:rds:us-east-1:111122223333:pg:/);
    expect(JSON.stringify(modify?.Resource)).toMatch(/:rds:us-west-2:111122223333:pg:/);
    expect(JSON.stringify(modify?.Resource)).not.toContain(':pg:*');
    expect(statements.some((s) => JSON.stringify(s.Action).includes('rds:Delete'))).toBe(false);
    expect(statements.some((s) => JSON.stringify(s.Action).includes('rds:Promote'))).toBe(false);
    // It reads the topology's document (whose writer it protects) and writes nothing there.
    const ssm = statements.filter((s) => JSON.stringify(s.Action).includes('ssm:'));
    expect(ssm.map((s) => s.Action)).toEqual(['ssm:GetParameter']);
  });
});

describe('topology sync (orchestration stack): the health probes follow the topology', () => {
  const { stacks } = synthApp();
  const template = Template.fromStack(stacks.orchestration);
  const [logicalId, fn] = Object.entries(
    template.findResources('AWS::Lambda::Function', {
      Properties: { FunctionName: 'pg-dr-topology-sync' },
    }) as Record<string, Fn>,
  )[0] ?? ['', undefined];
  const statements = () => {
    const roleRef = (fn?.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Policy>)
      .filter((p) => p.Properties.Roles.some((r) => r.Ref === roleRef))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s) => !JSON.stringify(s.Action).includes('xray:'));
  };

  it('runs every minute and knows each probe by its fixed name and region', () => {
    expect(fn).toBeDefined();
    expect(JSON.parse(String(fn?.Properties.Environment.Variables.PROBES))).toEqual([
      { role: 'primary', region: 'us-west-2', functionName: 'pg-dr-primary-health-probe' },
      { role: 'primary-remote', region: 'us-east-1', functionName: 'pg-dr-primary-remote-health-probe' },
      { role: 'replica', region: 'us-east-1', functionName: 'pg-dr-replica-health-probe' },
    ]);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId, 'Arn'] } })],
    });
  });

  it('may read the topology, write only the health-checked writer and the record targets, change only the three probe functions, and UPSERT only the followed CNAMEs', () => {
    const all = statements();
    const find = (action: string) => all.filter((s) => JSON.stringify(s.Action).includes(action));
    const parameters = (action: string) =>
      find(action).flatMap((s) => JSON.stringify(s.Resource).match(/parameter\/[a-z/-]+/g) ?? []);
    expect(parameters('ssm:GetParameter').sort()).toEqual(
      [
        'parameter/pg-dr/topology/document',
        'parameter/pg-dr/topology/health-checked-writer',
        'parameter/pg-dr/topology/primary-record',
        'parameter/pg-dr/topology/secondary-record',
      ].sort(),
    );
    // Never the document: only the workflows change roles.
    expect(parameters('ssm:PutParameter').sort()).toEqual(
      [
        'parameter/pg-dr/topology/health-checked-writer',
        'parameter/pg-dr/topology/primary-record',
        'parameter/pg-dr/topology/secondary-record',
      ].sort(),
    );
    const [probeStatement] = find('lambda:UpdateFunctionConfiguration');
    const resources = JSON.stringify(probeStatement?.Resource);
    expect(resources.match(/:function:/g)).toHaveLength(3);
    expect(resources).not.toContain('*');
    const [upsert, ...others] = find('route53:ChangeResourceRecordSets');
    expect(others).toEqual([]);
    expect(upsert?.Condition).toEqual({
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': [
          'db.provability-fabric.org',
          'db-drill.provability-fabric.org',
        ],
        'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
        'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
      },
    });
    expect(all.flatMap((s) => [s.Action].flat()).sort()).toEqual(
      [
        'cloudwatch:GetMetricData',
        'cloudwatch:PutMetricData',
        'lambda:GetFunctionConfiguration',
        'lambda:UpdateFunctionConfiguration',
        'route53:ChangeResourceRecordSets',
        'route53:GetChange',
        'route53:ListResourceRecordSets',
        'route53:TestDNSAnswer',
        'ssm:GetParameter',
        'ssm:PutParameter',
      ].sort(),
    );
  });

  it("confirms a writer only after its probes watched it for the alarms' window and a minute more, by both observers' checks", () => {
    const env = fn?.Properties.Environment.Variables ?? {};
    expect(env.SETTLE_SECONDS).toBe(String((3 + 2) * 60));
    // The two observers' checks (imported from the failover DNS stack), joined with a comma.
    expect(JSON.stringify(env.WRITER_HEALTH_CHECK_IDS)).toMatch(
      /Fn::Join.*PrimaryDatabaseHealth.*PrimaryRemoteHealth/,
    );
    expect(JSON.parse(String(env.RECORDS))).toEqual([
      {
        recordName: 'db.provability-fabric.org',
        setIdentifier: 'db.provability-fabric.org-secondary',
        follows: 'secondary',
      },
      {
        recordName: 'db-drill.provability-fabric.org',
        setIdentifier: 'db-drill.provability-fabric.org-primary',
        follows: 'primary',
      },
      {
        recordName: 'db-drill.provability-fabric.org',
        setIdentifier: 'db-drill.provability-fabric.org-secondary',
        follows: 'secondary',
      },
    ]);
  });

  it('pages when it has failed or not run for 15 minutes (a probe still watches a retired database)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pg-dr-topology-sync-failing',
      MetricName: 'Errors',
      EvaluationPeriods: 15,
      TreatMissingData: 'breaching',
      AlarmActions: Match.anyValue(),
    });
  });
});
