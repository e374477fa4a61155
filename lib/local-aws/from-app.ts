/**
 * The local world, built from the synthesized app: Route 53 zones, health checks and failover records, S3
 * buckets with their replication, the master secret and its replica, the state machines, the databases and
 * parameter groups, topics, rules and stack outputs, all as the templates describe them, with IAM enforced from
 * the roles. What the templates cannot know (which loopback server plays a database, what a secret holds)
 * comes from the options.
 */
import {
  CloudFormationSimulator,
  CloudWatchSimulator,
  EventBridgeSimulator,
  SnsSimulator,
} from './control-plane';
import {
  DeployedApp,
  synthesizedStacks,
  type Binding,
  type CfnResource,
  type StackTemplate,
} from './deployed-app';
import { LocalIam } from './iam';
import { RdsSimulator, type RdsTiming, type SimulatedInstance } from './rds';
import { Route53Simulator, type CheckType } from './route53';
import { S3Simulator } from './s3';
import { SecretsManagerSimulator } from './secrets-manager';
import { SsmSimulator } from './ssm';
import { planStackUpdate, type StackUpdatePlan } from './stack-update';
import { StepFunctionsSimulator } from './step-functions';
import { LocalAws } from './world';
import { str } from './input';

export interface LocalWorldOptions {
  /** The DR configuration (the `dr` context of cdk.json) the app is synthesized with. */
  readonly config: Record<string, unknown>;
  /** RDS instance identifier → the host its endpoint resolves to here (a loopback server). */
  readonly endpoints?: Readonly<Record<string, string>>;
  /** RDS instance identifier → the port its endpoint has here (the loopback server's); default 5432. */
  readonly ports?: Readonly<Record<string, number>>;
  /** Secret name → SecretString, for the template's secrets and for any the operator adds (blue, green). */
  readonly secrets?: Readonly<Record<string, string>>;
  readonly route53?: { readonly switchDelayMs: number; readonly insyncDelayMs: number };
  readonly s3ReplicationDelayMs?: number;
  readonly rds?: RdsTiming;
  /** A promoted replica's database leaves recovery here (a real standby: pg_promote()). */
  readonly onPromote?: (region: string, id: string) => void | Promise<void>;
  /** A new read replica gets a database here (a real standby of its source), and its endpoint and port. */
  readonly onCreateReplica?: (replica: SimulatedInstance) => void | Promise<void>;
  /** A new instance (a provisioned green) gets a database here (a fresh server), and its endpoint and port. */
  readonly onCreateInstance?: ConstructorParameters<typeof RdsSimulator>[2] extends infer O
    ? O extends { onCreateInstance?: infer F }
      ? F
      : never
    : never;
  /** An instance restored from automated backups gets a database here, and its endpoint and port. */
  readonly onRestoreInstance?: ConstructorParameters<typeof RdsSimulator>[2] extends infer O
    ? O extends { onRestoreInstance?: infer F }
      ? F
      : never
    : never;
  /** Authorize every call a principal makes against its synthesized role (default true). */
  readonly enforceIam?: boolean;
  readonly now?: () => number;
}

export interface LocalWorld {
  readonly aws: LocalAws;
  readonly app: DeployedApp;
  readonly iam: LocalIam;
  readonly route53: Route53Simulator;
  readonly s3: S3Simulator;
  readonly secrets: SecretsManagerSimulator;
  readonly ssm: SsmSimulator;
  readonly stepFunctions: StepFunctionsSimulator;
  readonly rds: RdsSimulator;
  readonly cloudwatch: CloudWatchSimulator;
  readonly sns: SnsSimulator;
  readonly events: EventBridgeSimulator;
  readonly cloudFormation: CloudFormationSimulator;
  readonly account: string;
  /** A resource's resolved Ref, found by type and logical id prefix (CDK appends a hash). */
  ref(type: string, logicalIdPrefix: string, stackName?: string): string;
  /** The substitutions CDK makes into a state machine's definition, resolved. */
  substitutions(stateMachineName: string): Record<string, string>;
  stateMachineArn(stateMachineName: string): string;
  /**
   * `cdk deploy` of the app synthesized with `config` (default: the same) over what is deployed, as the
   * SIMULATED CloudFormation applies it: changed failover records are written again (their dynamic references
   * read now); the plan says what else would be updated, replaced, added or removed.
   */
  redeploy(config?: Record<string, unknown>): StackUpdatePlan;
}

export function localWorld(options: LocalWorldOptions): LocalWorld {
  const stacks: StackTemplate[] = synthesizedStacks(options.config);
  const endpoints = options.endpoints ?? {};
  const binding: Binding = (_stack, _logicalId, attribute, resource) => {
    if (resource.Type === 'AWS::RDS::DBInstance' && attribute === 'Endpoint.Address') {
      const id = str(resource.Properties?.DBInstanceIdentifier);
      return endpoints[id];
    }
    if (resource.Type === 'AWS::RDS::DBInstance' && attribute === 'Endpoint.Port') {
      const port = options.ports?.[str(resource.Properties?.DBInstanceIdentifier)];
      return port === undefined ? undefined : String(port);
    }
    return undefined;
  };
  const app = new DeployedApp(stacks, binding);
  /** What CloudFormation has deployed: the templates a redeploy is compared with. */
  let deployed: readonly StackTemplate[] = stacks;
  const account = stacks[0]?.account ?? '111122223333';
  const now = options.now;
  const clock = now === undefined ? {} : { now };
  const route53 = new Route53Simulator({ switchDelayMs: 0, insyncDelayMs: 0, ...options.route53, ...clock });
  const s3 = new S3Simulator(clock);
  const secrets = new SecretsManagerSimulator(account);
  const ssm = new SsmSimulator();
  const stepFunctions = new StepFunctionsSimulator(clock);
  const rds = new RdsSimulator(account, options.rds, {
    ...clock,
    ...(options.onPromote === undefined ? {} : { onPromote: options.onPromote }),
    ...(options.onCreateReplica === undefined ? {} : { onCreateReplica: options.onCreateReplica }),
    ...(options.onCreateInstance === undefined ? {} : { onCreateInstance: options.onCreateInstance }),
    ...(options.onRestoreInstance === undefined ? {} : { onRestoreInstance: options.onRestoreInstance }),
  });
  const cloudwatch = new CloudWatchSimulator();
  const sns = new SnsSimulator();
  const events = new EventBridgeSimulator();
  const cloudFormation = new CloudFormationSimulator();
  const iam = new LocalIam(app);
  const aws = new LocalAws({
    account,
    simulators: [route53, s3, secrets, ssm, stepFunctions, rds, cloudwatch, sns, events, cloudFormation],
    ...(options.enforceIam === false ? {} : { authorizer: iam }),
  });
  seedParameters(app, ssm);
  seedRoute53(app, route53, cloudwatch, ssm, options.config);
  seedS3(app, s3, options.s3ReplicationDelayMs ?? 0);
  seedSecrets(app, secrets, stacks, options.secrets ?? {});
  seedOthers(app, stacks, { stepFunctions, rds, sns, events, cloudFormation });

  const machine = (name: string) => {
    const found = app
      .resources('AWS::StepFunctions::StateMachine')
      .find(({ resource }) => resource.Properties?.StateMachineName === name);
    if (found === undefined) throw new Error(`no state machine ${name} in the synthesized app`);
    return found;
  };
  return {
    aws,
    app,
    iam,
    route53,
    s3,
    secrets,
    ssm,
    stepFunctions,
    rds,
    cloudwatch,
    sns,
    events,
    cloudFormation,
    account,
    ref: (type, prefix, stackName) => {
      const found = app.resources(type, stackName).filter((x) => x.logicalId.startsWith(prefix));
      if (found.length !== 1)
        throw new Error(
          `expected one ${type} ${prefix}*, found ${found.map((x) => x.logicalId).join(', ') || 'none'}`,
        );
      const [only] = found;
      if (only === undefined) throw new Error(`no ${type} ${prefix}*`);
      return String(app.resolve(only.stack, { Ref: only.logicalId }));
    },
    substitutions: (name) => {
      const { stack, resource } = machine(name);
      return Object.fromEntries(
        Object.entries((resource.Properties?.DefinitionSubstitutions ?? {}) as Record<string, unknown>).map(
          ([k, v]) => [k, String(app.resolve(stack, v))],
        ),
      );
    },
    stateMachineArn: (name) => {
      const { stack, logicalId } = machine(name);
      return String(app.resolve(stack, { Ref: logicalId }));
    },
    redeploy: (config = options.config) => {
      const next = synthesizedStacks(config);
      const plan = planStackUpdate(deployed, next);
      const nextApp = new DeployedApp(next, binding);
      for (const change of [...plan.updated, ...plan.added])
        if (change.type === 'AWS::Route53::RecordSet') {
          const stack = nextApp.stack(change.stack);
          const resource = stack.template.Resources[change.logicalId];
          if (resource !== undefined) writeRecordSet(nextApp, stack, resource, route53, ssm);
        }
      deployed = next;
      return plan;
    },
  };
}

/**
 * What the stacks' AwsCustomResources do when CloudFormation creates them: here, only SSM PutParameter (the
 * topology record's first write), with its `Overwrite` and its ignored ParameterAlreadyExists.
 */
function seedParameters(app: DeployedApp, ssm: SsmSimulator): void {
  for (const { stack, logicalId, resource } of app.resources('Custom::AWS')) {
    const call = JSON.parse(String(app.resolve(stack, resource.Properties?.Create))) as {
      service: string;
      action: string;
      parameters: { Name: string; Value: string; Overwrite?: boolean };
      ignoreErrorCodesMatching?: string;
    };
    if (call.service !== 'SSM' || call.action !== 'putParameter')
      throw new Error(`${stack.stackName}/${logicalId}: ${call.service}.${call.action} is not simulated`);
    const written = ssm.put(
      stack.region,
      call.parameters.Name,
      call.parameters.Value,
      call.parameters.Overwrite === true,
    );
    if (written === 'exists' && call.ignoreErrorCodesMatching !== 'ParameterAlreadyExists')
      throw new Error(`${stack.stackName}/${logicalId}: ParameterAlreadyExists (${call.parameters.Name})`);
  }
}

/**
 * A template value with its `{{resolve:ssm:name}}` dynamic references read from Parameter Store in the stack's
 * region, as CloudFormation reads them when it creates or updates the resource (a missing parameter fails it).
 */
export function withDynamicReferences(stack: StackTemplate, value: unknown, ssm: SsmSimulator): unknown {
  if (typeof value === 'string')
    return value.replace(/\{\{resolve:ssm:([^}]+)\}\}/g, (_whole, name: string) => {
      const found = ssm.value(stack.region, name);
      if (found === undefined)
        throw new Error(`${stack.stackName}: {{resolve:ssm:${name}}}: no such parameter in ${stack.region}`);
      return found;
    });
  if (Array.isArray(value)) return value.map((v) => withDynamicReferences(stack, v, ssm));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, withDynamicReferences(stack, v, ssm)]),
    );
  return value;
}

/**
 * A record set as CloudFormation writes it when it creates or updates it: intrinsics resolved, dynamic
 * references read from Parameter Store at that moment.
 */
function writeRecordSet(
  app: DeployedApp,
  stack: StackTemplate,
  resource: CfnResource,
  route53: Route53Simulator,
  ssm: SsmSimulator,
): void {
  const p = withDynamicReferences(stack, app.resolve(stack, resource.Properties), ssm) as Record<
    string,
    unknown
  >;
  route53.putRecordSet(str(p.HostedZoneId), {
    Name: str(p.Name),
    Type: str(p.Type),
    TTL: Number(p.TTL),
    ...(p.SetIdentifier === undefined ? {} : { SetIdentifier: str(p.SetIdentifier) }),
    ...(p.Failover === undefined ? {} : { Failover: p.Failover as 'PRIMARY' | 'SECONDARY' }),
    ...(p.HealthCheckId === undefined ? {} : { HealthCheckId: str(p.HealthCheckId) }),
    ResourceRecords: ((p.ResourceRecords ?? []) as unknown[]).map((v) => ({ Value: String(v) })),
  });
}

/** Route 53 from the templates: the zone, every health check, every record set; their status metric. */
function seedRoute53(
  app: DeployedApp,
  route53: Route53Simulator,
  cloudwatch: CloudWatchSimulator,
  ssm: SsmSimulator,
  options: unknown,
): void {
  const r = (stack: StackTemplate, value: unknown) => app.resolve(stack, value);
  const config = options as { hostedZoneId?: string; hostedZoneName?: string };
  if (config.hostedZoneId !== undefined)
    route53.addZone(config.hostedZoneId, config.hostedZoneName ?? 'provability-fabric.org');
  for (const { stack, logicalId, resource } of app.resources('AWS::Route53::HealthCheck')) {
    const c = r(stack, resource.Properties?.HealthCheckConfig) as Record<string, unknown>;
    const alarm = c.AlarmIdentifier as { Name: string; Region: string } | undefined;
    route53.addCheck({
      id: String(r(stack, { Ref: logicalId })),
      type: c.Type as CheckType,
      inverted: c.Inverted === true,
      disabled: c.Disabled === true,
      children: ((c.ChildHealthChecks ?? []) as unknown[]).map(String),
      healthThreshold: Number(c.HealthThreshold ?? 0),
      insufficientDataHealthStatus:
        (c.InsufficientDataHealthStatus as 'LastKnownStatus' | undefined) ?? 'LastKnownStatus',
      ...(alarm === undefined ? {} : { alarm: { name: alarm.Name, region: alarm.Region } }),
    });
  }
  for (const { stack, resource } of app.resources('AWS::Route53::RecordSet'))
    writeRecordSet(app, stack, resource, route53, ssm);
  cloudwatch.addSource('us-east-1', 'AWS/Route53', 'HealthCheckStatus', (dims, start, end) =>
    route53.healthSamples(dims.HealthCheckId ?? '', start, end),
  );
}

/** S3 from the templates: buckets with their default key and replication rule. */
function seedS3(app: DeployedApp, s3: S3Simulator, replicationDelayMs: number): void {
  const r = (stack: StackTemplate, value: unknown) => app.resolve(stack, value);
  const bucketNames = new Map<string, string>();
  for (const { stack, logicalId, resource } of app.resources('AWS::S3::Bucket')) {
    const p = r(stack, resource.Properties) as Record<string, unknown>;
    const name = String(r(stack, { Ref: logicalId }));
    bucketNames.set(`arn:aws:s3:::${name}`, name);
    const sse = (
      p.BucketEncryption as
        | {
            ServerSideEncryptionConfiguration?: {
              ServerSideEncryptionByDefault?: { KMSMasterKeyID?: string };
            }[];
          }
        | undefined
    )?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault?.KMSMasterKeyID;
    const rule = (
      p.ReplicationConfiguration as { Rules?: { Destination?: { Bucket?: string } }[] } | undefined
    )?.Rules?.[0];
    s3.addBucket({
      name,
      region: stack.region,
      ...(sse === undefined ? {} : { kmsKeyArn: sse }),
      ...(rule?.Destination?.Bucket === undefined
        ? {}
        : {
            replication: {
              destination: rule.Destination.Bucket.replace(/^arn:aws:s3:::/, ''),
              delayMs: replicationDelayMs,
            },
          }),
    });
  }
}

/** Secrets Manager: the template's secrets (with their replicas and keys), then the operator's. */
function seedSecrets(
  app: DeployedApp,
  secrets: SecretsManagerSimulator,
  stacks: readonly StackTemplate[],
  given: Readonly<Record<string, string>>,
): void {
  const r = (stack: StackTemplate, value: unknown) => app.resolve(stack, value);
  const templateSecrets = new Set<string>();
  for (const { stack, resource } of app.resources('AWS::SecretsManager::Secret')) {
    const p = r(stack, resource.Properties) as Record<string, unknown>;
    const name = str(p.Name);
    templateSecrets.add(name);
    secrets.add({
      name,
      primaryRegion: stack.region,
      ...(p.KmsKeyId === undefined ? {} : { kmsKeyArn: str(p.KmsKeyId) }),
      replicas: Object.fromEntries(
        ((p.ReplicaRegions ?? []) as { Region: string; KmsKeyId?: string }[]).map((x) => [
          x.Region,
          x.KmsKeyId,
        ]),
      ),
      versions: { AWSCURRENT: given[name] ?? '{}' },
      rotationEnabled: app.resources('AWS::SecretsManager::RotationSchedule').length > 0,
    });
  }
  const orchestrationRegion =
    stacks.find((s) => s.stackName.endsWith('-orchestration'))?.region ?? 'us-east-1';
  for (const [name, value] of Object.entries(given))
    if (!templateSecrets.has(name))
      secrets.add({
        name,
        primaryRegion: orchestrationRegion,
        replicas: {},
        versions: { AWSCURRENT: value },
      });
}

/** Step Functions, RDS, SNS, EventBridge and CloudFormation outputs from the templates. */
function seedOthers(
  app: DeployedApp,
  stacks: readonly StackTemplate[],
  simulators: {
    readonly stepFunctions: StepFunctionsSimulator;
    readonly rds: RdsSimulator;
    readonly sns: SnsSimulator;
    readonly events: EventBridgeSimulator;
    readonly cloudFormation: CloudFormationSimulator;
  },
): void {
  const { stepFunctions, rds, sns, events, cloudFormation } = simulators;
  const r = (stack: StackTemplate, value: unknown) => app.resolve(stack, value);
  for (const { stack, logicalId } of app.resources('AWS::StepFunctions::StateMachine'))
    stepFunctions.addStateMachine(String(r(stack, { Ref: logicalId })));
  for (const { stack, logicalId } of app.resources('AWS::StepFunctions::Activity'))
    stepFunctions.addActivity(String(r(stack, { Ref: logicalId })));
  for (const { stack, logicalId, resource } of app.resources('AWS::RDS::DBParameterGroup')) {
    const p = r(stack, resource.Properties) as { Family: string; Parameters?: Record<string, string> };
    rds.addParameterGroup({
      name: String(r(stack, { Ref: logicalId })),
      region: stack.region,
      family: p.Family,
      parameters: Object.fromEntries(
        Object.entries(p.Parameters ?? {}).map(([k, v]) => [
          k,
          { value: v, applyType: k.startsWith('rds.') ? 'static' : 'dynamic', source: 'user' },
        ]),
      ),
    });
  }
  for (const { stack, logicalId, resource } of app.resources('AWS::RDS::DBInstance')) {
    const p = r(stack, resource.Properties) as Record<string, unknown>;
    const id = String(r(stack, { Ref: logicalId }));
    rds.addInstance({
      id,
      region: stack.region,
      endpoint: String(r(stack, { 'Fn::GetAtt': [logicalId, 'Endpoint.Address'] })),
      port: Number(r(stack, { 'Fn::GetAtt': [logicalId, 'Endpoint.Port'] })),
      parameterGroup: str(p.DBParameterGroupName, 'default.postgres17'),
      backupRetentionPeriod: Number(
        p.BackupRetentionPeriod ?? (p.SourceDBInstanceIdentifier === undefined ? 1 : 0),
      ),
      multiAz: p.MultiAZ === true,
      ...(p.KmsKeyId === undefined ? {} : { kmsKeyId: str(p.KmsKeyId) }),
      ...(p.SourceDBInstanceIdentifier === undefined ? {} : { source: str(p.SourceDBInstanceIdentifier) }),
      // What DescribeDBInstances tells of it beyond the above (green is created like it).
      details: {
        DBInstanceClass: p.DBInstanceClass,
        EngineVersion: p.EngineVersion,
        AllocatedStorage: p.AllocatedStorage === undefined ? undefined : Number(p.AllocatedStorage),
        MaxAllocatedStorage: p.MaxAllocatedStorage === undefined ? undefined : Number(p.MaxAllocatedStorage),
        StorageType: p.StorageType,
        MasterUsername: p.MasterUsername,
        DBSubnetGroup: { DBSubnetGroupName: p.DBSubnetGroupName },
        VpcSecurityGroups: ((p.VPCSecurityGroups as string[] | undefined) ?? []).map((g) => ({
          VpcSecurityGroupId: g,
          Status: 'active',
        })),
        PreferredBackupWindow: p.PreferredBackupWindow,
        PreferredMaintenanceWindow: p.PreferredMaintenanceWindow,
      },
    });
  }
  for (const { stack, logicalId, resource } of app.resources('AWS::SNS::Topic')) {
    const arn = String(r(stack, { Ref: logicalId }));
    const p = r(stack, resource.Properties) as { KmsMasterKeyId?: string };
    sns.addTopic({
      arn,
      ...(p.KmsMasterKeyId === undefined ? {} : { kmsKeyArn: p.KmsMasterKeyId }),
      subscriptions: app
        .resources('AWS::SNS::Subscription', stack.stackName)
        .map(
          (s) => r(stack, s.resource.Properties) as { TopicArn: string; Protocol: string; Endpoint: string },
        )
        .filter((s) => s.TopicArn === arn)
        .map((s) => ({ protocol: s.Protocol, endpoint: s.Endpoint, confirmed: false })),
    });
  }
  for (const { stack, logicalId, resource } of app.resources('AWS::Events::Rule')) {
    const p = r(stack, resource.Properties) as {
      Name?: string;
      State?: string;
      ScheduleExpression?: string;
      Targets?: { Id: string; Arn: string; Input?: string }[];
    };
    events.addRule({
      name: p.Name ?? String(r(stack, { Ref: logicalId })),
      region: stack.region,
      state: p.State === 'DISABLED' ? 'DISABLED' : 'ENABLED',
      ...(p.ScheduleExpression === undefined ? {} : { scheduleExpression: p.ScheduleExpression }),
      targets: (p.Targets ?? []).map((t) => ({
        Id: t.Id,
        Arn: t.Arn,
        ...(t.Input === undefined ? {} : { Input: t.Input }),
      })),
    });
  }
  for (const stack of stacks)
    cloudFormation.addStack({
      name: stack.stackName,
      region: stack.region,
      outputs: Object.fromEntries(
        Object.entries(stack.template.Outputs ?? {})
          .filter(([key]) => !key.startsWith('ExportsOutput'))
          .map(([key, o]) => [key, String(r(stack, o.Value))]),
      ),
    });
}
