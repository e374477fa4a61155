import { Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { MANIFEST_SUFFIX } from '../../lambdas/backups/dump-objects';
import { DUMP_SERVICE } from '../../lambdas/shared/metric-names';
import { acknowledgeNagFinding } from '../nag';
import { DumpTaskRuntime } from './dump-task-runtime';
import type { DatabaseNetwork } from './regional-network';
import { stepLambda } from './step-lambda';
import { grantTopologyRead, type TopologyLocation } from './topology-access';

/** Its ASL file under statemachines/. */
export const DUMP_DEFINITION = 'dump.asl.json';

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
  readonly runtime: DumpTaskRuntime;

  constructor(scope: Construct, id: string, props: ScheduledDumpProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.runtime = new DumpTaskRuntime(this, 'Runtime', {
      network: props.network,
      engineVersion: props.database.engineVersion,
      script: 'dump-task.ts',
      description: 'Scheduled dump task',
      names: {
        cluster: props.names.cluster,
        repository: props.names.repository,
        family: props.names.stateMachine,
      },
      size: props.dumps,
      maxMinutes: props.dumps.maxMinutes,
    });
    props.databaseSecurityGroup.addIngressRule(
      this.runtime.securityGroup,
      ec2.Port.tcp(props.database.port),
      'scheduled dump task',
    );
    this.grantTaskAccess(this.runtime.taskDefinition.taskRole, props);
    this.steps = this.stepsFunction(props);
    this.stateMachine = this.runtime.workflow(this, {
      stateMachineName: props.names.stateMachine,
      definitionFile: DUMP_DEFINITION,
      functions: { DumpSteps: this.steps },
      onCallTopic: props.onCallTopic,
      schedule: {
        ruleName: props.names.schedule,
        expression: props.dumps.schedule,
        description: 'Starts the scheduled logical dump of the writer (UTC)',
      },
      failedAlarm: {
        name: props.names.failedAlarm,
        description:
          'A scheduled logical dump failed, timed out or was stopped: no new dump of the writer is in the backup ' +
          `buckets (${stack.region} and, replicated, the DR region). The execution says which step; the task's ` +
          'log says why. First: dr backups. Runbook: docs/runbooks.md, Dump failed.',
        label: 'Failed, timed-out or aborted dumps',
      },
    });
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
  private stepsFunction(props: ScheduledDumpProps): nodejs.NodejsFunction {
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
        ...this.runtime.stepsEnvironment(),
      },
    });
    grantTopologyRead(fn, props.topology);
    this.runtime.grantScriptUrl(fn);
    this.runtime.grantBucketRead(
      fn,
      props.bucket,
      `${props.dumps.prefix}*${MANIFEST_SUFFIX}`,
      'The manifest of each run is named per run under the dumps prefix; the manifests alone, reading only.',
    );
    return fn;
  }
}
