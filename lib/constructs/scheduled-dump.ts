import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { AssetHashType, DockerImage, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { DockerImageName, ECRDeployment } from 'cdk-ecr-deployment';
import { Construct } from 'constructs';
import {
  DUMP_CONTAINER,
  RUNTIME_DIR,
  RUNTIME_FETCH_PROGRAM,
  RUNTIME_NODE,
  RUNTIME_SCRIPT,
} from '../../lambdas/backups/dump-runtime';
import { DUMP_SERVICE } from '../../lambdas/shared/metric-names';
import { acknowledgeNagFinding, acknowledgeNistFinding } from '../nag';
import { lambdaEntry } from './lambda-packaging';
import { pagerAbove } from './paging-alarm';
import type { DatabaseNetwork } from './regional-network';
import { stepLambda } from './step-lambda';
import { grantTopologyRead, type TopologyLocation } from './topology-access';
import { failedExecutions, workflowStateMachine } from './workflow-state-machine';

/** Its ASL file under statemachines/. */
export const DUMP_DEFINITION = 'dump.asl.json';

/** The first container's name: it readies the shared runtime volume, then exits 0. */
export const RUNTIME_CONTAINER = 'runtime';

/** The Node.js the dump runs on: the official image's major line, Debian bookworm like the postgres image. */
export const DUMP_NODE_IMAGE = 'node:22-bookworm-slim';

/** Official images, from Docker Hub's library as ECR Public mirrors it (no Docker Hub credentials needed). */
const PUBLIC_LIBRARY = 'public.ecr.aws/docker/library';

/** The official postgres image of an engine version's major line: its pg_dump reads that server. */
export function postgresImage(engineVersion: string): string {
  const major = engineVersion.split('.')[0] ?? engineVersion;
  return `postgres:${major}-bookworm`;
}

export interface ScheduledDumpProps {
  /** The primary region's network: the task runs in its compute subnets. */
  readonly network: DatabaseNetwork & { addContainerTaskEndpoints?: () => void };
  /** The writer's security group in this region: it admits the task on the database port. */
  readonly databaseSecurityGroup: ec2.ISecurityGroup;
  readonly bucket: { readonly bucketName: string; readonly key: kms.IKey };
  /** Keys of the secrets the task reads. */
  readonly secretKeys: readonly kms.IKey[];
  readonly database: {
    readonly engineVersion: string;
    readonly port: number;
    readonly databaseName: string;
    readonly secretName: string;
    /** A writer a cutover made is opened by its own secret, under this prefix. */
    readonly secretNamePrefix: string;
  };
  readonly dumps: {
    readonly schedule: string;
    readonly prefix: string;
    readonly maxMinutes: number;
    readonly cpu: number;
    readonly memoryMiB: number;
    readonly ephemeralStorageGiB: number;
  };
  readonly topology: TopologyLocation;
  readonly onCallTopic: sns.ITopic;
  readonly names: {
    readonly stateMachine: string;
    readonly schedule: string;
    readonly cluster: string;
    readonly repository: string;
    readonly failedAlarm: string;
  };
}

/**
 * The scheduled logical dump of the writer: a state machine that runs `pg_dump -Fc` as an ECS Fargate task on
 * the engine's own postgres image, in the compute subnets, and passes only when the dump's manifest is in the
 * backup bucket (which replicates both to the DR region); its schedule; and the alarm that pages on a failed run.
 *
 * The VPC has no internet path, and an ECR pull-through cache needs one for an image's first pull, so both
 * images are copied at deploy time, from ECR Public into a private repository of this stack, by
 * cdk-ecr-deployment's function (outside the VPC; no Docker anywhere). The task pulls them through the ECR and
 * S3 endpoints, and fetches its bundled script from the CDK asset by a presigned URL.
 */
export class ScheduledDump extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly steps: nodejs.NodejsFunction;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly cluster: ecs.Cluster;
  readonly securityGroup: ec2.SecurityGroup;
  readonly repository: ecr.Repository;

  constructor(scope: Construct, id: string, props: ScheduledDumpProps) {
    super(scope, id);
    const stack = Stack.of(this);
    props.network.addContainerTaskEndpoints?.();
    this.repository = this.imageRepository(props);
    this.securityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: props.network.vpc,
      description: 'Scheduled dump task: the writer, and AWS through the VPC endpoints',
      // The VPC has no internet route: outbound reaches this VPC, the peered one and the endpoints only.
      allowAllOutbound: true,
    });
    props.databaseSecurityGroup.addIngressRule(
      this.securityGroup,
      ec2.Port.tcp(props.database.port),
      'scheduled dump task',
    );
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      clusterName: props.names.cluster,
      vpc: props.network.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    const script = this.taskScript();
    this.taskDefinition = this.dumpTaskDefinition(props);
    this.steps = this.stepsFunction(props, script);
    this.stateMachine = workflowStateMachine(this, {
      stateMachineName: props.names.stateMachine,
      definitionFile: DUMP_DEFINITION,
      functions: { DumpSteps: this.steps },
      references: {
        DumpClusterArn: this.cluster.clusterArn,
        DumpTaskDefinitionArn: this.taskDefinition.taskDefinitionArn,
      },
      onCallTopic: props.onCallTopic,
    });
    this.allowRunTask(props.names.cluster);
    new events.Rule(this, 'Schedule', {
      ruleName: props.names.schedule,
      description: 'Starts the scheduled logical dump of the writer (UTC)',
      schedule: events.Schedule.expression(props.dumps.schedule),
      targets: [
        new targets.SfnStateMachine(this.stateMachine, { retryAttempts: 2, maxEventAge: Duration.hours(1) }),
      ],
    });
    pagerAbove(this, props.onCallTopic)(
      'Failed',
      props.names.failedAlarm,
      'A scheduled logical dump failed, timed out or was stopped: no new dump of the writer is in the backup ' +
        `buckets (${stack.region} and, replicated, the DR region). The execution says which step; the task's ` +
        'log says why. First: dr backups. Runbook: docs/runbooks.md, Dump failed.',
      failedExecutions(this.stateMachine, 'Failed, timed-out or aborted dumps', Duration.minutes(5)),
      0,
    );
  }

  /** The private repository the two images are copied into at deploy time, and the copies. */
  private imageRepository(props: ScheduledDumpProps): ecr.Repository {
    const repository = new ecr.Repository(this, 'Images', {
      repositoryName: props.names.repository,
      imageScanOnPush: true,
      encryption: ecr.RepositoryEncryption.KMS,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ description: 'Copies of earlier deploys', maxImageCount: 10 }],
    });
    for (const [copyId, image] of [
      ['PostgresImage', postgresImage(props.database.engineVersion)],
      ['NodeImage', DUMP_NODE_IMAGE],
    ] as const) {
      const copy = new ECRDeployment(this, copyId, {
        src: new DockerImageName(`${PUBLIC_LIBRARY}/${image}`),
        dest: new DockerImageName(`${repository.repositoryUri}:${imageTag(image)}`),
        imageArch: ['amd64'],
      });
      copy.node.addDependency(repository);
    }
    // One copying function serves both (a singleton): its findings, once.
    const copier = Stack.of(this)
      .node.findAll()
      .find((c) => c.node.id.startsWith('Custom::CDKECRDeployment') && c.node.scope === Stack.of(this));
    if (copier !== undefined) {
      for (const [finding, reason] of [
        [
          'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          "AWS-maintained policy limited to writing the deploy-time copier's own CloudWatch Logs.",
        ],
        [
          'AwsSolutions-IAM5[Resource::*]',
          "cdk-ecr-deployment's copier (it runs only while CloudFormation deploys) is granted ECR push and pull, " +
            "and S3 reads, on every resource by the library; it copies two public images into this stack's repository.",
        ],
        [
          'AwsSolutions-L1',
          'cdk-ecr-deployment ships its copier as a Go binary on provided.al2023, the latest.',
        ],
      ] as const)
        acknowledgeNagFinding(copier, finding, reason);
      acknowledgeNistFinding(
        copier,
        'LambdaInsideVPC',
        'The deploy-time image copier must reach ECR Public, and the VPCs have no internet path by design.',
      );
    }
    return repository;
  }

  /** dump-task.ts bundled by esbuild at synth into one script (a CDK asset). */
  private taskScript(): s3assets.Asset {
    return new s3assets.Asset(this, 'TaskScript', {
      path: lambdaEntry('backups'),
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Never Docker: the local bundling below always runs.
        image: DockerImage.fromRegistry('local-bundling-only'),
        local: {
          tryBundle(outputDir: string): boolean {
            bundleDumpTask(join(outputDir, 'dump-task.js'));
            return true;
          },
        },
      },
    });
  }

  private dumpTaskDefinition(props: ScheduledDumpProps): ecs.FargateTaskDefinition {
    const stack = Stack.of(this);
    const task = new ecs.FargateTaskDefinition(this, 'Task', {
      family: props.names.stateMachine,
      cpu: props.dumps.cpu,
      memoryLimitMiB: props.dumps.memoryMiB,
      ephemeralStorageGiB: props.dumps.ephemeralStorageGiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      volumes: [{ name: 'runtime' }, { name: 'work' }],
    });
    const logGroup = new logs.LogGroup(this, 'TaskLogs', {
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const logging = ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'dump' });
    const runtime = task.addContainer(RUNTIME_CONTAINER, {
      containerName: RUNTIME_CONTAINER,
      image: ecs.ContainerImage.fromEcrRepository(this.repository, imageTag(DUMP_NODE_IMAGE)),
      essential: false,
      entryPoint: ['node', '-e', RUNTIME_FETCH_PROGRAM],
      environment: { RUNTIME_DIR },
      readonlyRootFilesystem: true,
      logging,
    });
    runtime.addMountPoints({ containerPath: RUNTIME_DIR, sourceVolume: 'runtime', readOnly: false });
    const dump = task.addContainer(DUMP_CONTAINER, {
      containerName: DUMP_CONTAINER,
      image: ecs.ContainerImage.fromEcrRepository(
        this.repository,
        imageTag(postgresImage(props.database.engineVersion)),
      ),
      essential: true,
      entryPoint: [RUNTIME_NODE],
      command: [RUNTIME_SCRIPT],
      environment: {
        AWS_REGION: stack.region,
        DUMP_WORK_DIR: '/work',
        DUMP_MAX_SECONDS: String(props.dumps.maxMinutes * 60),
        POWERTOOLS_SERVICE_NAME: DUMP_SERVICE,
      },
      readonlyRootFilesystem: true,
      // An init process as PID 1: ECS's SIGTERM on StopTask reaches node (and pg_dump), which end at once
      // instead of being killed 30 s later.
      linuxParameters: new ecs.LinuxParameters(this, 'DumpProcess', { initProcessEnabled: true }),
      logging,
    });
    dump.addMountPoints(
      { containerPath: RUNTIME_DIR, sourceVolume: 'runtime', readOnly: true },
      { containerPath: '/work', sourceVolume: 'work', readOnly: false },
    );
    dump.addContainerDependencies({
      container: runtime,
      condition: ecs.ContainerDependencyCondition.SUCCESS,
    });
    this.grantTaskAccess(task.taskRole, props);
    acknowledgeNagFinding(
      task,
      'AwsSolutions-ECS2',
      'The environment holds no secret: the region, folders, the deadline and the service name. What to dump ' +
        'comes per run (a secret name, never a credential), and the credentials from Secrets Manager at run time.',
    );
    acknowledgeNagFinding(
      task.obtainExecutionRole(),
      'AwsSolutions-IAM5[Resource::*]',
      'ecr:GetAuthorizationToken supports no resource-level permission; pulling is limited to the images repository.',
    );
    return task;
  }

  /** What the dump container does: read the writer's secret, put the dump and its manifest. */
  private grantTaskAccess(role: iam.IRole, props: ScheduledDumpProps): void {
    const stack = Stack.of(this);
    const secret = (pattern: string) =>
      `arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:${pattern}`;
    for (const statement of [
      {
        actions: ['secretsmanager:GetSecretValue'],
        resources: [
          secret(`${props.database.secretName}-??????`),
          secret(`${props.database.secretNamePrefix}*`),
        ],
      },
      {
        actions: ['kms:Decrypt'],
        resources: props.secretKeys.map((k) => k.keyArn),
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
      },
      // Put only (multipart included); a failed multipart upload is aborted.
      {
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [`arn:${stack.partition}:s3:::${props.bucket.bucketName}/${props.dumps.prefix}*`],
      },
      {
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.bucket.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
      },
    ])
      role.addToPrincipalPolicy(new iam.PolicyStatement(statement));
    for (const [finding, reason] of [
      [
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${stack.region}:${stack.account}:secret:${props.database.secretNamePrefix}*]`,
        'The writer the topology names is known only at run time (a cutover makes green, opened by its own secret, the writer).',
      ],
      [
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${stack.region}:${stack.account}:secret:${props.database.secretName}-??????]`,
        'Secrets Manager appends six random characters to the master secret ARN.',
      ],
      [
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${props.bucket.bucketName}/${props.dumps.prefix}*]`,
        'Each dump is a new object under the dumps prefix, named per run.',
      ],
    ] as const)
      acknowledgeNagFinding(role, finding, reason);
  }

  /** Prepare and conclude: the topology, the bucket's manifests, the presigned URL of the task script. */
  private stepsFunction(props: ScheduledDumpProps, script: s3assets.Asset): nodejs.NodejsFunction {
    const stack = Stack.of(this);
    const subnets = props.network.vpc.selectSubnets(props.network.computeSubnets).subnetIds;
    const fn = stepLambda(this, 'Steps', {
      entry: ['backups', 'dump-steps-handler.ts'],
      handler: 'handler',
      description:
        'Scheduled dump: prepare the run (writer, keys, task script URL), then conclude it from the bucket',
      timeout: Duration.seconds(30),
      memorySize: 256,
      service: DUMP_SERVICE,
      environment: {
        DUMP_BUCKET: props.bucket.bucketName,
        DUMP_PREFIX: props.dumps.prefix,
        DATABASE_NAME: props.database.databaseName,
        DATABASE_PORT: String(props.database.port),
        MASTER_SECRET_NAME: props.database.secretName,
        RUNTIME_BUCKET: script.s3BucketName,
        RUNTIME_KEY: script.s3ObjectKey,
        DUMP_SUBNET_IDS: subnets.join(','),
        DUMP_SECURITY_GROUP_ID: this.securityGroup.securityGroupId,
      },
    });
    grantTopologyRead(fn, props.topology);
    // The presigned URL carries this role's authority: over the script object alone.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [
          script.bucket.arnForObjects(script.s3ObjectKey),
          `arn:${stack.partition}:s3:::${props.bucket.bucketName}/${props.dumps.prefix}*`,
        ],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [props.bucket.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
      }),
    );
    if (fn.role !== undefined)
      acknowledgeNagFinding(
        fn.role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${props.bucket.bucketName}/${props.dumps.prefix}*]`,
        'The manifest of each run is named per run under the dumps prefix; reading only.',
      );
    return fn;
  }

  /**
   * What ecs:runTask.sync needs of the machine's role (Step Functions developer guide, "IAM policies for Amazon
   * ECS/AWS Fargate"): run this task definition, follow and stop its tasks in this cluster, pass its two roles,
   * and the EventBridge rule Step Functions uses to learn that a task stopped.
   */
  private allowRunTask(clusterName: string): void {
    const stack = Stack.of(this);
    const role = this.stateMachine.role;
    for (const statement of [
      { actions: ['ecs:RunTask'], resources: [this.taskDefinition.taskDefinitionArn] },
      {
        actions: ['ecs:StopTask', 'ecs:DescribeTasks'],
        resources: [`arn:${stack.partition}:ecs:${stack.region}:${stack.account}:task/${clusterName}/*`],
      },
      {
        actions: ['iam:PassRole'],
        resources: [
          this.taskDefinition.taskRole.roleArn,
          (this.taskDefinition.executionRole as iam.IRole).roleArn,
        ],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      },
      {
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          `arn:${stack.partition}:events:${stack.region}:${stack.account}:rule/StepFunctionsGetEventsForECSTaskRule`,
        ],
      },
    ])
      role.addToPrincipalPolicy(new iam.PolicyStatement(statement));
    acknowledgeNagFinding(
      role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:${stack.region}:${stack.account}:task/${clusterName}/*]`,
      'The dump tasks get their ids when they start: following and stopping them is limited to this cluster.',
    );
  }
}

/** An image's tag in the private repository: `postgres:17-bookworm` → `postgres-17-bookworm`. */
export function imageTag(image: string): string {
  return image.replace(':', '-');
}

/**
 * The dump task as one script for the Node.js of DUMP_NODE_IMAGE: dump-task.ts and everything it imports (the
 * AWS SDK, pg, Powertools, the RDS CAs), as the task runs it.
 */
export function bundleDumpTask(outfile: string): void {
  buildSync({
    entryPoints: [lambdaEntry('backups', 'dump-task.ts')],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    external: ['pg-native'],
    outfile,
    logLevel: 'error',
  });
}
