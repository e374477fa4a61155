import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { drillInputSchema } from '../../lambdas/drill/input';
import { workflowDefinitionText } from '../../lib/workflow-definition';
import { synthApp } from './test-config';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
type Policy = { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } } };
type Fn = {
  Properties: { Description?: string; Role: { 'Fn::GetAtt': [string, string] }; VpcConfig?: unknown };
};
type Alarm = {
  Properties: {
    AlarmName: string;
    Threshold: number;
    ComparisonOperator: string;
    MetricName?: string;
    Namespace?: string;
    Dimensions?: unknown;
    AlarmActions: unknown[];
    OKActions: unknown[];
    TreatMissingData: string;
  };
};

const actionsOf = (s: Statement) => ([] as string[]).concat(s.Action);

/** Renders CloudFormation intrinsics in the schedule input to plausible values, so the input can be validated. */
function renderInput(value: unknown): string {
  let endpoints = 0;
  const part = (p: unknown): string => {
    if (typeof p === 'string') return p;
    const text = JSON.stringify(p);
    if (text.includes('AWS::Partition')) return 'aws';
    if (text.includes('AWS::Region')) return 'us-east-1';
    if (text.includes('AWS::AccountId')) return '111122223333';
    const check =
      /(PrimaryRecordHealth|DrillRecordHealth|PrimaryDatabaseHealth|SecondaryDatabaseHealth|SidecarHealth|PrimaryRemoteHealth)/.exec(
        text,
      );
    if (check !== null) {
      const digit = String(
        [
          'PrimaryRecordHealth',
          'DrillRecordHealth',
          'PrimaryDatabaseHealth',
          'SecondaryDatabaseHealth',
          'SidecarHealth',
          'PrimaryRemoteHealth',
        ].indexOf(check[1] ?? '') + 1,
      );
      return `${digit.repeat(8)}-${digit.repeat(4)}-4${digit.repeat(3)}-8${digit.repeat(3)}-${digit.repeat(12)}`;
    }
    return `endpoint-${++endpoints}.example.internal`;
  };
  const joined = value as { 'Fn::Join'?: [string, unknown[]] };
  if (joined['Fn::Join'] === undefined) return part(value);
  const [separator, parts] = joined['Fn::Join'];
  return parts.map(part).join(separator);
}

describe('failover drill (orchestration stack)', () => {
  const { stacks } = synthApp();
  const template = Template.fromStack(stacks.orchestration);
  const functions = Object.values(
    template.findResources('AWS::Lambda::Function') as Record<string, Fn>,
  ).filter((f) => f.Properties.Description?.startsWith('Failover drill'));
  const statementsOfRole = (roleRef: string) =>
    Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Policy>)
      .filter((p) => p.Properties.Roles.some((r) => r.Ref === roleRef))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
  const statementsFor = (fn: Fn) => statementsOfRole(fn.Properties.Role['Fn::GetAtt'][0]);
  const drillFn = (start: string) => {
    const found = functions.find((f) => f.Properties.Description?.startsWith(`Failover drill: ${start}`));
    if (found === undefined) throw new Error(`no drill step ${start}`);
    return found;
  };

  it('starts the drill every Sunday at 02:00 UTC with a valid input that names secrets, never passwords', () => {
    const rules = template.findResources('AWS::Events::Rule', {
      Properties: { Name: 'pg-dr-weekly-failover-drill' },
    }) as Record<
      string,
      {
        Properties: {
          ScheduleExpression: string;
          State: string;
          Targets: { Arn: unknown; Input: unknown }[];
        };
      }
    >;
    const rule = Object.values(rules)[0];
    expect(rule?.Properties.ScheduleExpression).toBe('cron(0 2 ? * SUN *)');
    expect(rule?.Properties.State).toBe('ENABLED');
    const target = rule?.Properties.Targets[0];
    expect(JSON.stringify(target?.Arn)).toContain('FailoverDrillStateMachine');
    const input = JSON.parse(renderInput(target?.Input)) as Record<string, unknown>;
    const parsed = drillInputSchema.safeParse(input);
    expect(parsed.error?.issues).toBeUndefined();
    // No host: the drill drills the roles the topology names when it starts (its preflight reads them).
    expect(JSON.stringify(input)).not.toMatch(/"host"|rds\.amazonaws\.com/);
    expect(parsed.data).toMatchObject({
      database: { secretId: 'pg-dr/postgres-master', port: 5432, database: 'app' },
      // By default the drill fails over its own record, never production DNS.
      dns: { hostedZoneId: 'Z0EXAMPLE12345', recordName: 'db-drill.provability-fabric.org' },
      healthChecks: { invert: '22222222-2222-4222-8222-222222222222' },
      backups: {
        sourceBucket: 'pg-dr-backups-111122223333-us-west-2',
        replicaBucket: 'pg-dr-backups-111122223333-us-east-1',
      },
      budgets: { serviceDisruptionSeconds: 90, dnsFailoverSeconds: 60, s3ReplicationSeconds: 60 },
      exclusiveWith: [
        'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-failover-drill',
        'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-blue-green-migration',
        'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-region-failover',
      ],
      migrationDryRun: { dryRun: true },
    });
    expect(JSON.stringify(target?.Input)).not.toMatch(/password/i);
  });

  it('can be switched off and rescheduled', () => {
    const off = Template.fromStack(
      synthApp({ drill: { schedule: { enabled: false, expression: 'cron(30 5 ? * SAT *)' } } }).stacks
        .orchestration,
    );
    off.hasResourceProperties('AWS::Events::Rule', {
      Name: 'pg-dr-weekly-failover-drill',
      State: 'DISABLED',
      ScheduleExpression: 'cron(30 5 ? * SAT *)',
    });
  });

  it('deploys the drill from its ASL file with every placeholder substituted, logs without execution data', () => {
    const asl = workflowDefinitionText('failover-drill.asl.json');
    const placeholders = [...new Set([...asl.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1]))].sort();
    const machines = template.findResources('AWS::StepFunctions::StateMachine', {
      Properties: { StateMachineName: 'pg-dr-failover-drill' },
    }) as Record<
      string,
      {
        Properties: {
          DefinitionString: unknown;
          DefinitionSubstitutions: Record<string, unknown>;
          LoggingConfiguration: unknown;
        };
      }
    >;
    const machine = Object.values(machines)[0];
    expect(machine?.Properties.DefinitionString).toBe(asl);
    expect(Object.keys(machine?.Properties.DefinitionSubstitutions ?? {}).sort()).toEqual(placeholders);
    expect(machine?.Properties.LoggingConfiguration).toMatchObject({
      IncludeExecutionData: false,
      Level: 'ALL',
    });
  });

  it('lets only the health-check step and the safety net change a health check, and only the drill record check', () => {
    const updaters = functions.filter((fn) =>
      statementsFor(fn).some((s) => actionsOf(s).includes('route53:UpdateHealthCheck')),
    );
    const safetyNet = functions.find((f) =>
      f.Properties.Description?.startsWith('Failover drill safety net'),
    );
    expect(updaters).toEqual([drillFn('invert or restore'), safetyNet]);
    for (const fn of updaters) {
      const update = statementsFor(fn).find((s) => actionsOf(s).includes('route53:UpdateHealthCheck'));
      expect(actionsOf(update as Statement).sort()).toEqual([
        'route53:GetHealthCheck',
        'route53:UpdateHealthCheck',
      ]);
      expect(JSON.stringify(update?.Resource)).toContain('healthcheck/');
      expect(JSON.stringify(update?.Resource)).toContain('DrillRecordHealth');
      expect(JSON.stringify(update?.Resource)).not.toContain('*');
    }
  });

  it('reads health from CloudWatch, answers from TestDNSAnswer, the zone, its record sets and the drill check: never changes a record', () => {
    const route53 = functions
      .flatMap((fn) => statementsFor(fn))
      .filter((s) => actionsOf(s).some((a) => a.startsWith('route53:')));
    expect(new Set(route53.flatMap(actionsOf))).toEqual(
      new Set([
        'route53:GetHealthCheck',
        'route53:UpdateHealthCheck',
        'route53:GetHostedZone',
        'route53:ListResourceRecordSets',
        'route53:TestDNSAnswer',
      ]),
    );
    const zone = route53.find((s) => actionsOf(s).includes('route53:GetHostedZone'));
    expect(JSON.stringify(zone?.Resource)).toContain(':route53:::hostedzone/Z0EXAMPLE12345');
    // Route 53's documented HealthCheckStatus metric, not the diagnostic GetHealthCheckStatus API.
    const readers = functions.filter((fn) =>
      statementsFor(fn).some((s) => actionsOf(s).includes('cloudwatch:GetMetricData')),
    );
    expect(readers).toEqual([drillFn('validate the input'), drillFn('time Route 53')]);
  });

  it('keeps the database step in the VPC reading only the master secret and those under the prefix (a cut-over green opened by its own); the probe writes one prefix', () => {
    const database = drillFn('database preflight');
    expect(database.Properties.VpcConfig).toBeDefined();
    const secrets = statementsFor(database)
      .filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'))
      .map((s) => JSON.stringify(s.Resource));
    expect(secrets).toHaveLength(2);
    expect(secrets[0]).toContain(':secret:pg-dr/postgres-master-??????');
    expect(secrets[1]).toContain(':secret:pg-dr/*');
    const probe = statementsFor(drillFn('time a probe object'));
    expect(probe.find((s) => actionsOf(s).includes('s3:PutObject'))?.Resource).toEqual({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':s3:::pg-dr-backups-111122223333-us-west-2/dr-drill/*'],
      ],
    });
    expect(probe.find((s) => actionsOf(s).includes('s3:GetObject'))?.Resource).toEqual({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':s3:::pg-dr-backups-111122223333-us-east-1/dr-drill/*'],
      ],
    });
  });

  it('lets the drill start only the migration workflow (the dry run)', () => {
    const role = Object.keys(template.findResources('AWS::IAM::Role')).find((id) =>
      id.startsWith('FailoverDrillStateMachineRole'),
    );
    const statements = statementsOfRole(role ?? '');
    const start = statements.find((s) => actionsOf(s).includes('states:StartExecution'));
    expect(JSON.stringify(start?.Resource)).toContain(':stateMachine:pg-dr-blue-green-migration');
    expect(statements.flatMap(actionsOf)).not.toContain('route53:UpdateHealthCheck');
  });

  it('pages on-call for a failed drill, each budget, and no successful drill in 8 days', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Record<string, Alarm>);
    const byName = (name: string) => {
      const alarm = alarms.find((a) => a.Properties.AlarmName === name);
      if (alarm === undefined) throw new Error(`no alarm ${name}`);
      expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain('pg-dr-on-call');
      expect(alarm.Properties.OKActions).toEqual(alarm.Properties.AlarmActions);
      return alarm.Properties;
    };
    for (const [name, metric, threshold] of [
      ['pg-dr-drill-disruption-over-budget', 'ServiceDisruption', 90],
      ['pg-dr-drill-dns-failover-over-budget', 'DnsFailover', 60],
      ['pg-dr-drill-s3-replication-over-budget', 'S3ReplicationLatency', 60],
      ['pg-dr-no-successful-drill', 'HoursSinceLastSuccessfulDrill', 192],
    ] as const) {
      expect(byName(name)).toMatchObject({
        Namespace: 'PostgresDR',
        MetricName: metric,
        Dimensions: [{ Name: 'service', Value: 'dr-drill' }],
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
    expect(byName('pg-dr-drill-failed')).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(byName('pg-dr-drill-freshness-check-failing')).toMatchObject({
      MetricName: 'Errors',
      Threshold: 0,
    });
  });

  it('takes budgets from the configuration', () => {
    const t = Template.fromStack(
      synthApp({
        drill: {
          budgets: { serviceDisruptionSeconds: 120, dnsFailoverSeconds: 45, s3ReplicationSeconds: 30 },
        },
      }).stacks.orchestration,
    );
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pg-dr-drill-disruption-over-budget',
      Threshold: 120,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'pg-dr-drill-dns-failover-over-budget',
      Threshold: 45,
    });
  });

  it('has a dashboard of the drill figures against their budgets', () => {
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard', {
      Properties: { DashboardName: 'pg-dr-disaster-recovery' },
    });
    const body = JSON.stringify(Object.values(dashboards)[0]);
    for (const metric of [
      'ServiceDisruption',
      'DnsFailover',
      'DnsFailback',
      'S3ReplicationLatency',
      'DatabaseReplicationLag',
      'ReplicaLag',
    ])
      expect(body).toContain(metric);
    expect(body).toContain('Disruption budget 90 s');
  });

  it('shows restore from backup on the dashboard: each restore test’s duration and the backups’ age, from the DR region, and the logical dumps', () => {
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard', {
      Properties: { DashboardName: 'pg-dr-disaster-recovery' },
    });
    // The body as the dashboard has it, its deploy-time references as placeholders.
    const parts = (
      Object.values(dashboards)[0] as { Properties: { DashboardBody: { 'Fn::Join': [string, unknown[]] } } }
    ).Properties.DashboardBody['Fn::Join'][1];
    const body = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'ref')).join('')) as {
      widgets: { properties: { metrics?: unknown[][] } }[];
    };
    const metrics = body.widgets.flatMap((w) => w.properties.metrics ?? []);
    for (const name of [
      'RestoreDuration',
      'BackupAge',
      'HoursSinceLastSuccessfulRestoreTest',
      'RestoreTestSucceeded',
    ])
      expect(metrics.find((m) => m[1] === name)).toEqual([
        'PostgresDR',
        name,
        'service',
        'dr-restore-test',
        expect.objectContaining({ region: 'us-east-1' }),
      ]);
    expect(JSON.stringify(body)).toContain('Backup age alarm 7200 s');
    // The logical dumps: each run's figures in the primary region, the newest dump's age in both regions.
    for (const name of ['DumpBytes', 'DumpDuration', 'DumpSucceeded'])
      expect(metrics.find((m) => m[1] === name)).toEqual([
        'PostgresDR',
        name,
        'service',
        'dr-dump',
        expect.objectContaining({ region: 'us-west-2' }),
      ]);
    expect(metrics.filter((m) => m[1] === 'DumpAge').map((m) => (m[4] as { region: string }).region)).toEqual(
      ['us-west-2', 'us-east-1'],
    );
    expect(JSON.stringify(body)).toContain('Dump age alarm 108000 s');
  });

  it('shows every alarm that pages on-call, in every stack and region, on the dashboard', () => {
    const all = Object.values(stacks).flatMap((entry: unknown) =>
      entry instanceof Map ? [...(entry as Map<string, unknown>).values()] : [entry],
    ) as Stack[];
    // A paging alarm: one whose actions notify an SNS topic.
    const paging = all.flatMap((stack) =>
      Object.values(
        Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm') as Record<
          string,
          { Properties: { AlarmName?: string; AlarmActions?: unknown[] } }
        >,
      )
        .filter((a) => (a.Properties.AlarmActions ?? []).length > 0)
        .map((a) => ({ name: a.Properties.AlarmName ?? '(unnamed)', region: stack.region })),
    );
    const body = JSON.stringify(
      Object.values(
        template.findResources('AWS::CloudWatch::Dashboard', {
          Properties: { DashboardName: 'pg-dr-disaster-recovery' },
        }),
      )[0],
    );
    expect(paging.length).toBeGreaterThanOrEqual(11);
    const missing = paging.filter(
      (a) => !body.includes(`:alarm:${a.name}`) && !body.includes(`alarm/${a.name})`),
    );
    expect(missing).toEqual([]);
    // The migration's own alarm, in the dashboard's region, in its alarm status widget.
    expect(body).toContain(':alarm:pg-dr-migration-failed');
  });

  it('hands every drill that ends without succeeding (failed, timed out, stopped) to its safety net', () => {
    const rules = template.findResources('AWS::Events::Rule', {
      Properties: { EventPattern: { source: ['aws.states'] } },
    }) as Record<
      string,
      {
        Properties: {
          EventPattern: { detail: { status: string[] } };
          Targets: { Arn: unknown; Input?: string }[];
        };
      }
    >;
    const rule = Object.values(rules).find((r) =>
      JSON.stringify(r.Properties.EventPattern).includes('FailoverDrillStateMachine'),
    );
    expect(rule?.Properties.EventPattern.detail.status).toEqual(['FAILED', 'TIMED_OUT', 'ABORTED']);
    const target = rule?.Properties.Targets[0];
    expect(JSON.stringify(target?.Arn)).toContain('DrillStepssafetyNet');
    // The event itself: the safety net reads that execution's history to know what it changed.
    expect(target?.Input).toBeUndefined();
  });

  it('runs the hourly freshness check', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: Match.arrayWith([Match.objectLike({ Arn: Match.anyValue() })]),
    });
  });
});

/** The schedule's drill input, rendered. */
function scheduleInput(stacks: ReturnType<typeof synthApp>['stacks']) {
  const orchestration = Template.fromStack(stacks.orchestration);
  const rule = Object.values(
    orchestration.findResources('AWS::Events::Rule', { Properties: { Name: 'pg-dr-weekly-failover-drill' } }),
  )[0];
  return JSON.parse(
    renderInput((rule as { Properties: { Targets: { Input: unknown }[] } }).Properties.Targets[0]?.Input),
  ) as { dns: { recordName: string }; healthChecks: { invert: string } };
}

describe('failover drill against the production record, chosen explicitly', () => {
  const { stacks } = synthApp({ drill: { record: 'production' } });

  it('creates no drill record and inverts the production PRIMARY check', () => {
    Template.fromStack(stacks.failoverDns).resourceCountIs('AWS::Route53::RecordSet', 2);
    const input = scheduleInput(stacks);
    expect(input.dns.recordName).toBe('db.provability-fabric.org');
    expect(input.healthChecks.invert).toBe('11111111-1111-4111-8111-111111111111');
  });
});

describe('failover drill against a separate drill record (the default)', () => {
  const { stacks } = synthApp({ drill: { recordName: 'drill-db.provability-fabric.org' } });

  it('creates a second failover pair with its own PRIMARY check, and the drill inverts that one', () => {
    const dns = Template.fromStack(stacks.failoverDns);
    dns.resourceCountIs('AWS::Route53::RecordSet', 4);
    dns.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'drill-db.provability-fabric.org.',
      Failover: 'PRIMARY',
      HealthCheckId: { Ref: Match.stringLikeRegexp('DrillRecordHealth') },
    });
    const orchestration = Template.fromStack(stacks.orchestration);
    const rule = Object.values(
      orchestration.findResources('AWS::Events::Rule', {
        Properties: { Name: 'pg-dr-weekly-failover-drill' },
      }),
    )[0];
    const input = JSON.parse(
      renderInput((rule as { Properties: { Targets: { Input: unknown }[] } }).Properties.Targets[0]?.Input),
    ) as {
      dns: { recordName: string };
      healthChecks: { invert: string };
    };
    expect(input.dns.recordName).toBe('drill-db.provability-fabric.org');
    expect(input.healthChecks.invert).toBe('22222222-2222-4222-8222-222222222222');
  });
});
