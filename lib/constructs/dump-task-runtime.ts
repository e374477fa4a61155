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
import type * as lambda from 'aws-cdk-lib/aws-lambda';
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
import { failedExecutions, workflowStateMachine } from './workflow-state-machine';

/** The first container's name: it readies the shared runtime volume, then exits 0. */
export const RUNTIME_CONTAINER = 'runtime';

/** The Node.js the tasks run on: the official image's major line, Debian bookworm like the postgres image. */
export const DUMP_NODE_IMAGE = 'node:22-bookworm-slim';

/** Official images, from Docker Hub's library as ECR Public mirrors it (no Docker Hub credentials needed). */
const PUBLIC_LIBRARY = 'public.ecr.aws/docker/library';

/** Where the task's storage is mounted in the postgres container: the dump, the download, a throwaway server. */
export const TASK_WORK_DIR = '/work';

/** The official postgres image of an engine version's major line: its pg_dump reads that server. */
export function postgresImage(engineVersion: string): string {
  const major = engineVersion.split('.')[0] ?? engineVersion;
  return `postgres:${major}-bookworm`;
}

/** An image's tag in the private repository: `postgres:17-bookworm` → `postgres-17-bookworm`. */
export function imageTag(image: string): string {
  return image.replace(':', '-');
}

/**
 * A task script (a file of lambdas/backups/) as one file for the Node.js of DUMP_NODE_IMAGE, with everything
 * it imports (the AWS SDK, pg, Powertools, the RDS CAs).
 */
export function bundleTaskScript(entry: string, outfile: string): void {
  buildSync({
    entryPoints: [lambdaEntry('backups', entry)],
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

export interface DumpTaskRuntimeProps {
  /** The region's network: the task runs in its compute subnets. */
  readonly network: DatabaseNetwork & { addContainerTaskEndpoints?: () => void };
  readonly engineVersion: string;
  /** The script the postgres container runs: a file of lambdas/backups/ (dump-task.ts). */
  readonly script: string;
  readonly description: string;
  readonly names: { readonly cluster: string; readonly repository: string; readonly family: string };
  readonly size: { readonly cpu: number; readonly memoryMiB: number; readonly ephemeralStorageGiB: number };
  /** The task ends itself after this long (DUMP_MAX_SECONDS). */
  readonly maxMinutes: number;
  readonly environment?: Readonly<Record<string, string>>;
}

/**
 * What a backup task needs to run pg_dump or pg_restore of the engine's major version on Fargate, in a VPC with
 * no internet path:
 * - the official postgres and node images, copied at deploy time from ECR Public into a private repository of
 *   the stack by cdk-ecr-deployment's copier (a Lambda outside the VPC; no Docker anywhere), because an ECR
 *   pull-through cache needs an internet path for an image's first pull;
 * - the ECR and Logs endpoints in the compute subnets (the S3 gateway endpoint exists);
 * - a cluster (Container Insights), a security group, and a task definition of two containers: `runtime` (node
 *   image) copies its node binary and fetches the bundled script (a CDK asset, by a presigned URL the
 *   workflow makes) into a shared volume, then `dump` (postgres image) runs the script with that node.
 */
export class DumpTaskRuntime extends Construct {
  readonly repository: ecr.Repository;
  readonly cluster: ecs.Cluster;
  readonly securityGroup: ec2.SecurityGroup;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly script: s3assets.Asset;
  private readonly subnetIds: string[];
  private readonly clusterName: string;

  constructor(scope: Construct, id: string, props: DumpTaskRuntimeProps) {
    super(scope, id);
    props.network.addContainerTaskEndpoints?.();
    this.clusterName = props.names.cluster;
    this.subnetIds = props.network.vpc.selectSubnets(props.network.computeSubnets).subnetIds;
    this.repository = this.imageRepository(props);
    this.securityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: props.network.vpc,
      description: `${props.description}: AWS through the VPC endpoints, and the databases it is let to`,
      // The VPC has no internet route: outbound reaches this VPC, the peered one and the endpoints only.
      allowAllOutbound: true,
    });
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      clusterName: props.names.cluster,
      vpc: props.network.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.script = new s3assets.Asset(this, 'TaskScript', {
      path: lambdaEntry('backups'),
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Never Docker: the local bundling below always runs.
        image: DockerImage.fromRegistry('local-bundling-only'),
        local: {
          tryBundle(outputDir: string): boolean {
            bundleTaskScript(props.script, join(outputDir, 'dump-task.js'));
            return true;
          },
        },
      },
    });
    this.taskDefinition = this.twoContainerTask(props);
  }

  /** What the workflow's steps give the task: the script's object, the subnets and the security group. */
  stepsEnvironment(): Record<string, string> {
    return {
      RUNTIME_BUCKET: this.script.s3BucketName,
      RUNTIME_KEY: this.script.s3ObjectKey,
      DUMP_SUBNET_IDS: this.subnetIds.join(','),
      DUMP_SECURITY_GROUP_ID: this.securityGroup.securityGroupId,
    };
  }

  /**
   * The workflow that runs this task (its ASL names the task as `${TaskClusterArn}` and `${TaskDefinitionArn}`),
   * allowed to run it, started on its schedule, paging on a failed, timed-out or stopped execution.
   */
  workflow(
    /** Where the state machine, its schedule and its alarm go: the construct that owns this runtime. */
    scope: Construct,
    spec: {
      readonly stateMachineName: string;
      readonly definitionFile: string;
      readonly functions: Readonly<Record<string, lambda.IFunction>>;
      readonly onCallTopic: sns.ITopic;
      readonly schedule: {
        readonly ruleName: string;
        readonly expression: string;
        readonly description: string;
      };
      readonly failedAlarm: { readonly name: string; readonly description: string; readonly label: string };
    },
  ): sfn.StateMachine {
    const machine = workflowStateMachine(scope, {
      stateMachineName: spec.stateMachineName,
      definitionFile: spec.definitionFile,
      functions: spec.functions,
      references: {
        TaskClusterArn: this.cluster.clusterArn,
        TaskDefinitionArn: this.taskDefinition.taskDefinitionArn,
      },
      onCallTopic: spec.onCallTopic,
    });
    this.grantRunTask(machine);
    new events.Rule(scope, 'Schedule', {
      ruleName: spec.schedule.ruleName,
      description: spec.schedule.description,
      schedule: events.Schedule.expression(spec.schedule.expression),
      targets: [new targets.SfnStateMachine(machine, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });
    pagerAbove(scope, spec.onCallTopic)(
      'Failed',
      spec.failedAlarm.name,
      spec.failedAlarm.description,
      failedExecutions(machine, spec.failedAlarm.label, Duration.minutes(5)),
      0,
    );
    return machine;
  }

  /**
   * What a workflow step reads of a KMS-encrypted bucket: the objects matching `objects` (a key pattern), and
   * the listing, because S3 answers a missing key with 404 only to a caller that may list the bucket (403
   * otherwise; whether a prefix condition is enough is not documented, so the listing is not narrowed).
   */
  grantBucketRead(
    fn: lambda.IFunction,
    bucket: { readonly bucketName: string; readonly key: kms.IKey },
    objects: string,
    why: string,
  ): void {
    const stack = Stack.of(this);
    const arn = `arn:${stack.partition}:s3:::${bucket.bucketName}`;
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`${arn}/${objects}`] }),
    );
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [arn] }));
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [bucket.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
      }),
    );
    if (fn.role !== undefined)
      acknowledgeNagFinding(
        fn.role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucket.bucketName}/${objects}]`,
        why,
      );
  }

  /** The presigned URL carries the signer's authority: over the script object alone. */
  grantScriptUrl(fn: lambda.IFunction): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [this.script.bucket.arnForObjects(this.script.s3ObjectKey)],
      }),
    );
  }

  /**
   * What ecs:runTask.sync needs of a state machine's role (Step Functions developer guide, "IAM policies for
   * Amazon ECS/AWS Fargate"): run this task definition, follow and stop its tasks in this cluster, pass its two
   * roles, and the EventBridge rule Step Functions uses to learn that a task stopped.
   */
  grantRunTask(machine: sfn.StateMachine): void {
    const stack = Stack.of(this);
    for (const statement of [
      { actions: ['ecs:RunTask'], resources: [this.taskDefinition.taskDefinitionArn] },
      {
        actions: ['ecs:StopTask', 'ecs:DescribeTasks'],
        resources: [`arn:${stack.partition}:ecs:${stack.region}:${stack.account}:task/${this.clusterName}/*`],
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
      machine.role.addToPrincipalPolicy(new iam.PolicyStatement(statement));
    acknowledgeNagFinding(
      machine.role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:${stack.region}:${stack.account}:task/${this.clusterName}/*]`,
      'The tasks get their ids when they start: following and stopping them is limited to this cluster.',
    );
  }

  /** The private repository the two images are copied into at deploy time, and the copies. */
  private imageRepository(props: DumpTaskRuntimeProps): ecr.Repository {
    const repository = new ecr.Repository(this, 'Images', {
      repositoryName: props.names.repository,
      imageScanOnPush: true,
      encryption: ecr.RepositoryEncryption.KMS,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ description: 'Copies of earlier deploys', maxImageCount: 10 }],
    });
    for (const [copyId, image] of [
      ['PostgresImage', postgresImage(props.engineVersion)],
      ['NodeImage', DUMP_NODE_IMAGE],
    ] as const) {
      const copy = new ECRDeployment(this, copyId, {
        src: new DockerImageName(`${PUBLIC_LIBRARY}/${image}`),
        dest: new DockerImageName(`${repository.repositoryUri}:${imageTag(image)}`),
        imageArch: ['amd64'],
      });
      copy.node.addDependency(repository);
    }
    // One copying function serves both (a singleton per stack): its findings, once.
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

  private twoContainerTask(props: DumpTaskRuntimeProps): ecs.FargateTaskDefinition {
    const stack = Stack.of(this);
    const task = new ecs.FargateTaskDefinition(this, 'Task', {
      family: props.names.family,
      cpu: props.size.cpu,
      memoryLimitMiB: props.size.memoryMiB,
      ephemeralStorageGiB: props.size.ephemeralStorageGiB,
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
        imageTag(postgresImage(props.engineVersion)),
      ),
      essential: true,
      entryPoint: [RUNTIME_NODE],
      command: [RUNTIME_SCRIPT],
      environment: {
        AWS_REGION: stack.region,
        DUMP_WORK_DIR: TASK_WORK_DIR,
        DUMP_MAX_SECONDS: String(props.maxMinutes * 60),
        POWERTOOLS_SERVICE_NAME: DUMP_SERVICE,
        ...props.environment,
      },
      readonlyRootFilesystem: true,
      // An init process as PID 1: ECS's SIGTERM on StopTask reaches node (and pg_dump), which end at once
      // instead of being killed 30 s later.
      linuxParameters: new ecs.LinuxParameters(this, 'DumpProcess', { initProcessEnabled: true }),
      logging,
    });
    dump.addMountPoints(
      { containerPath: RUNTIME_DIR, sourceVolume: 'runtime', readOnly: true },
      { containerPath: TASK_WORK_DIR, sourceVolume: 'work', readOnly: false },
    );
    dump.addContainerDependencies({
      container: runtime,
      condition: ecs.ContainerDependencyCondition.SUCCESS,
    });
    acknowledgeNagFinding(
      task,
      'AwsSolutions-ECS2',
      'The environment holds no secret: the region, folders, the deadline, bucket names and the service name. ' +
        'What to do comes per run (a secret name, never a credential), credentials from Secrets Manager.',
    );
    acknowledgeNagFinding(
      task.obtainExecutionRole(),
      'AwsSolutions-IAM5[Resource::*]',
      'ecr:GetAuthorizationToken supports no resource-level permission; pulling is limited to the images repository.',
    );
    return task;
  }
}
