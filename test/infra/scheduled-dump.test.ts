import { Match, Template } from 'aws-cdk-lib/assertions';
import { DUMP_METRICS } from '../../lambdas/shared/metric-names';
import { DUMP_MAX_MINUTES, parseConfig } from '../../lib/config';
import { drNames } from '../../lib/names';
import { workflowDefinition } from '../../lib/workflow-definition';
import { REQUIRED_CONFIG, synthApp, testConfig } from './test-config';

const CONFIG = testConfig();
const NAMES = drNames(CONFIG);
const PRIMARY = CONFIG.primaryRegion;
const ACCOUNT = CONFIG.account;
const BUCKET = NAMES.backupBucket(PRIMARY);

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
const actionsOf = (s: Statement) => ([] as string[]).concat(s.Action);

/** The statements of every policy attached to the role a resource's property names (by its logical id). */
function statementsOfRole(template: Template, roleRef: unknown): Statement[] {
  const roleId = (roleRef as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
  return Object.values(
    template.findResources('AWS::IAM::Policy') as Record<
      string,
      { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } } }
    >,
  )
    .filter((p) => p.Properties.Roles.some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** One synthesized default app for every assertion here (a synth takes seconds). */
const { stacks } = synthApp();

describe('the scheduled dump as deployed (primary region stack)', () => {
  const primary = Template.fromStack(stacks.primary);
  const taskDefinition = Object.values(
    primary.findResources('AWS::ECS::TaskDefinition') as Record<
      string,
      { Properties: Record<string, unknown> }
    >,
  )[0]?.Properties as {
    Cpu: string;
    Memory: string;
    EphemeralStorage: { SizeInGiB: number };
    TaskRoleArn: unknown;
    ContainerDefinitions: {
      Name: string;
      Essential: boolean;
      Image: unknown;
      EntryPoint: string[];
      Environment: { Name: string; Value: string }[];
      DependsOn?: { ContainerName: string; Condition: string }[];
      ReadonlyRootFilesystem: boolean;
    }[];
  };

  it('runs pg_dump of the engine’s major version on Fargate, after a first container readies node and the script', () => {
    expect(taskDefinition).toMatchObject({
      Cpu: '1024',
      Memory: '4096',
      EphemeralStorage: { SizeInGiB: 50 },
    });
    const [runtime, dump] = taskDefinition.ContainerDefinitions;
    expect(runtime).toMatchObject({ Name: 'runtime', Essential: false, ReadonlyRootFilesystem: true });
    expect(dump).toMatchObject({
      Name: 'dump',
      Essential: true,
      EntryPoint: ['/runtime/node'],
      DependsOn: [{ ContainerName: 'runtime', Condition: 'SUCCESS' }],
      ReadonlyRootFilesystem: true,
    });
    const major = CONFIG.database.engineVersion.split('.')[0];
    expect(JSON.stringify(dump?.Image)).toContain(`:postgres-${major}-bookworm`);
    expect(JSON.stringify(runtime?.Image)).toContain(':node-22-bookworm-slim');
    expect(dump?.Environment).toEqual(
      expect.arrayContaining([
        { Name: 'DUMP_MAX_SECONDS', Value: String(CONFIG.backups.dumps.maxMinutes * 60) },
        { Name: 'AWS_REGION', Value: PRIMARY },
      ]),
    );
  });

  it('copies both images from ECR Public into its own repository at deploy time (the VPC has no internet path)', () => {
    const deployments = JSON.stringify(primary.findResources('Custom::CDKECRDeployment'));
    const major = CONFIG.database.engineVersion.split('.')[0];
    expect(deployments).toContain(`docker://public.ecr.aws/docker/library/postgres:${major}-bookworm`);
    expect(deployments).toContain('docker://public.ecr.aws/docker/library/node:22-bookworm-slim');
    primary.hasResourceProperties('AWS::ECR::Repository', {
      RepositoryName: NAMES.dumpImageRepository,
      ImageScanningConfiguration: { ScanOnPush: true },
    });
    // The task pulls through interface endpoints (and the S3 gateway for layers).
    for (const service of ['ecr.api', 'ecr.dkr', 'logs'])
      primary.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        ServiceName: `com.amazonaws.${PRIMARY}.${service}`,
        PrivateDnsEnabled: true,
      });
  });

  it('lets the task read the database secrets and put objects under the dumps prefix, nothing more', () => {
    const statements = statementsOfRole(primary, taskDefinition.TaskRoleArn);
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      [
        'kms:Decrypt',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        's3:AbortMultipartUpload',
        's3:PutObject',
        'secretsmanager:GetSecretValue',
      ].sort(),
    );
    const put = statements.find((s) => actionsOf(s).includes('s3:PutObject'));
    expect(JSON.stringify(put?.Resource)).toContain(`:s3:::${BUCKET}/${CONFIG.backups.dumps.prefix}*"`);
  });

  it('lets the workflow run only its task definition, pass only its two roles to ECS, and follow its tasks', () => {
    const machine = Object.values(
      primary.findResources('AWS::StepFunctions::StateMachine', {
        Properties: { StateMachineName: NAMES.dumpStateMachine },
      }) as Record<string, { Properties: { RoleArn: unknown } }>,
    )[0];
    const statements = statementsOfRole(primary, machine?.Properties.RoleArn);
    const run = statements.find((s) => actionsOf(s).includes('ecs:RunTask'));
    expect(JSON.stringify(run?.Resource)).toMatch(/^\{"Ref":"ScheduledDumpRuntimeTask[0-9A-F]{8}"\}$/);
    const pass = statements.find((s) => actionsOf(s).includes('iam:PassRole'));
    expect(pass?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    expect((pass?.Resource as unknown[]).length).toBe(2);
    const follow = statements.find((s) => actionsOf(s).includes('ecs:StopTask'));
    expect(JSON.stringify(follow?.Resource)).toContain(
      `:ecs:${PRIMARY}:${ACCOUNT}:task/${NAMES.dumpCluster}/*"`,
    );
  });

  it('starts on the configured schedule, and waits for the task no longer than its longest deadline allows', () => {
    primary.hasResourceProperties('AWS::Events::Rule', {
      Name: NAMES.dumpSchedule,
      ScheduleExpression: CONFIG.backups.dumps.schedule,
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('^ScheduledDumpStateMachine') } })],
    });
    const runDump = workflowDefinition('dump.asl.json').States.RunDump as { TimeoutSeconds: number };
    expect(runDump.TimeoutSeconds).toBe(DUMP_MAX_MINUTES * 60 + 600);
  });

  it('expires the dumps in both buckets after retentionDays (a lifecycle deletion does not replicate)', () => {
    for (const stack of [stacks.primary, stacks.secondaryFoundation])
      Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({
              Id: 'expire-dumps',
              Prefix: CONFIG.backups.dumps.prefix,
              ExpirationInDays: CONFIG.backups.dumps.retentionDays,
              Status: 'Enabled',
            }),
            // The dump restore tests' reports, outside the dumps' prefix: kept while Step Functions lists the runs.
            Match.objectLike({
              Id: 'expire-dump-restore-reports',
              Prefix: 'dump-restore-checks/',
              ExpirationInDays: 400,
              Status: 'Enabled',
            }),
          ]),
        },
      });
  });

  it('lets the workflow’s steps read the manifests, not the dumps (each a copy of the database)', () => {
    const primary = Template.fromStack(stacks.primary);
    const steps = Object.entries(
      primary.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('^Scheduled dump') },
      }) as Record<string, { Properties: { Role: unknown } }>,
    );
    expect(steps).toHaveLength(1);
    const reads = statementsOfRole(primary, steps[0]?.[1].Properties.Role).filter((s) =>
      actionsOf(s).includes('s3:GetObject'),
    );
    expect(JSON.stringify(reads.map((s) => s.Resource))).toContain(
      `:s3:::${BUCKET}/${CONFIG.backups.dumps.prefix}*.manifest.json"`,
    );
    expect(JSON.stringify(reads.map((s) => s.Resource))).not.toContain(`${CONFIG.backups.dumps.prefix}*"`);
  });

  it('pages on a failed run, and on a stale dump in each region (no dump at all counts as stale)', () => {
    const alarm = (template: Template, name: string) =>
      Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: name } }))[0];
    expect(alarm(primary, NAMES.alarms.dumpFailed)).toBeDefined();
    for (const [template, role] of [
      [primary, 'primary'],
      [Template.fromStack(stacks.secondary), 'dr-region'],
    ] as const)
      expect(alarm(template, NAMES.alarms.dumpStale(role))).toMatchObject({
        Properties: {
          MetricName: DUMP_METRICS.age,
          Dimensions: [{ Name: 'service', Value: 'dr-dump' }],
          Threshold: CONFIG.backups.dumps.maxAgeHours * 3600,
          TreatMissingData: 'breaching',
        },
      });
  });
});

describe('the dump restore test as deployed (DR region stack)', () => {
  const secondary = Template.fromStack(stacks.secondary);
  const DR = CONFIG.secondaryRegion;
  const DR_BUCKET = NAMES.backupBucket(DR);

  it('runs the check task monthly on the engine’s postgres image, its work in the task’s storage', () => {
    secondary.hasResourceProperties('AWS::Events::Rule', {
      Name: NAMES.dumpRestoreTestSchedule,
      ScheduleExpression: 'cron(0 6 1 * ? *)',
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('^DumpRestoreTestStateMachine') } })],
    });
    const [definition] = Object.values(
      secondary.findResources('AWS::ECS::TaskDefinition') as Record<
        string,
        { Properties: { ContainerDefinitions: { Name: string; Image: unknown; Environment: unknown[] }[] } }
      >,
    );
    const dump = definition?.Properties.ContainerDefinitions.find((c) => c.Name === 'dump');
    expect(JSON.stringify(dump?.Image)).toContain(
      `:postgres-${CONFIG.database.engineVersion.split('.')[0]}-bookworm`,
    );
    expect(dump?.Environment).toEqual(
      expect.arrayContaining([
        { Name: 'DUMP_BUCKET', Value: DR_BUCKET },
        { Name: 'DUMP_PREFIX', Value: CONFIG.backups.dumps.prefix },
        { Name: 'DUMP_WORK_DIR', Value: '/work' },
      ]),
    );
  });

  it('lets the task list and read the dumps of the DR bucket and write only its reports; no secret, no database', () => {
    const [definition] = Object.values(
      secondary.findResources('AWS::ECS::TaskDefinition') as Record<
        string,
        { Properties: { TaskRoleArn: unknown } }
      >,
    );
    const statements = statementsOfRole(secondary, definition?.Properties.TaskRoleArn);
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      ['kms:Decrypt', 'kms:GenerateDataKey', 's3:GetObject', 's3:ListBucket', 's3:PutObject'].sort(),
    );
    const put = statements.find((s) => actionsOf(s).includes('s3:PutObject'));
    expect(JSON.stringify(put?.Resource)).toContain(`:s3:::${DR_BUCKET}/dump-restore-checks/*"`);
    const list = statements.find((s) => actionsOf(s).includes('s3:ListBucket'));
    expect(list?.Condition).toEqual({ StringLike: { 's3:prefix': [`${CONFIG.backups.dumps.prefix}*`] } });
  });

  it('pages on a failed test and on none passed for staleAfterDays', () => {
    const alarm = (name: string) =>
      Object.values(
        secondary.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: name } }),
      )[0];
    expect(alarm(NAMES.alarms.dumpRestoreTestFailed)).toBeDefined();
    expect(alarm(NAMES.alarms.dumpRestoreTestStale)).toMatchObject({
      Properties: {
        MetricName: DUMP_METRICS.hoursSinceRestoreTest,
        Threshold: CONFIG.backups.restoreTest.staleAfterDays * 24,
      },
    });
  });
});

describe('where dr backups finds the dumps', () => {
  it('is the DR stack’s DumpLocations output: the prefix, and the bucket of each region, primary first', () => {
    const outputs = Template.fromStack(stacks.secondary).findOutputs('DumpLocations');
    expect(JSON.parse(String(Object.values(outputs)[0]?.Value))).toEqual({
      prefix: CONFIG.backups.dumps.prefix,
      buckets: [
        { region: PRIMARY, bucket: BUCKET },
        { region: CONFIG.secondaryRegion, bucket: NAMES.backupBucket(CONFIG.secondaryRegion) },
      ],
    });
  });
  it('names the dump restore test in DumpRestoreTestStateMachineArn, for dr backups restore-test --dump', () => {
    const outputs = Template.fromStack(stacks.secondary).findOutputs('DumpRestoreTestStateMachineArn');
    const machines = Template.fromStack(stacks.secondary).findResources('AWS::StepFunctions::StateMachine', {
      Properties: { StateMachineName: NAMES.dumpRestoreTestStateMachine },
    });
    expect(Object.keys(machines)).toHaveLength(1);
    expect(Object.values(outputs)[0]?.Value).toEqual({ Ref: Object.keys(machines)[0] });
  });
});

describe('backups.dumps in the configuration', () => {
  const dumps = (change: Record<string, unknown>) => () =>
    parseConfig({ ...REQUIRED_CONFIG, backups: { dumps: change } });

  it('refuses a task size Fargate does not offer, naming what it offers', () => {
    expect(dumps({ cpu: 1024, memoryMiB: 16384 })).toThrow(/memoryMiB.*one of 2048, 3072, .*, 8192 MiB/);
    // 256 CPU units allow 0.5, 1 and 2 GB, not 1.5.
    expect(dumps({ cpu: 256, memoryMiB: 1536 })).toThrow(/one of 512, 1024, 2048 MiB with cpu 256/);
    expect(dumps({ cpu: 1000 })).toThrow(/cpu/);
    expect(() => dumps({ cpu: 2048, memoryMiB: 16384 })()).not.toThrow();
  });

  it('refuses a prefix that is empty, under the drill probes or the restore reports, or not folders', () => {
    for (const prefix of ['', 'dr-drill/dumps/', 'dump-restore-checks/', 'dumps', '../dumps/'])
      expect(dumps({ prefix })).toThrow(/prefix/);
  });
});
