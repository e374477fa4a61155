import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DUMP_CHECK_REPORT_PREFIX } from '../../lambdas/backups/dump-objects';
import { DUMP_SERVICE } from '../../lambdas/shared/metric-names';
import { acknowledgeNagFinding } from '../nag';
import { DumpTaskRuntime } from './dump-task-runtime';
import type { DatabaseNetwork } from './regional-network';
import { stepLambda } from './step-lambda';

/** Its ASL file under statemachines/. */
export const DUMP_RESTORE_TEST_DEFINITION = 'dump-restore-test.asl.json';

export interface DumpRestoreTestProps {
  /** The DR region's network: the task runs in its compute subnets. */
  readonly network: DatabaseNetwork & { addContainerTaskEndpoints?: () => void };
  /** The DR region's backup bucket and its key. */
  readonly bucket: { readonly bucketName: string; readonly key: kms.IKey };
  readonly engineVersion: string;
  readonly dumps: {
    readonly prefix: string;
    readonly maxMinutes: number;
    readonly cpu: number;
    readonly memoryMiB: number;
    readonly ephemeralStorageGiB: number;
    readonly restoreTestSchedule: string;
  };
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
 * The monthly proof that the logical dumps restore, in the DR region: a state machine that runs a Fargate task
 * on the engine's postgres image which restores the newest dump S3 replication delivered into a throwaway
 * server inside the task and checks it against its manifest, then reads the report the task left; its
 * schedule; and the alarm that pages on a failed run. (The "none passed for so long" alarm is the DR region's
 * DumpStatus, which knows this state machine.)
 */
export class DumpRestoreTest extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly steps: nodejs.NodejsFunction;
  readonly runtime: DumpTaskRuntime;

  constructor(scope: Construct, id: string, props: DumpRestoreTestProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.runtime = new DumpTaskRuntime(this, 'Runtime', {
      network: props.network,
      engineVersion: props.engineVersion,
      script: 'dump-check-task.ts',
      description: 'Dump restore test task',
      names: {
        cluster: props.names.cluster,
        repository: props.names.repository,
        family: props.names.stateMachine,
      },
      size: props.dumps,
      maxMinutes: props.dumps.maxMinutes,
      environment: { DUMP_BUCKET: props.bucket.bucketName, DUMP_PREFIX: props.dumps.prefix },
    });
    this.grantTaskAccess(this.runtime.taskDefinition.taskRole, props);
    this.steps = stepLambda(this, 'Steps', {
      entry: ['backups', 'dump-check-steps-handler.ts'],
      handler: 'handler',
      description:
        'Dump restore test: prepare the run (report key, task script URL), then conclude it from its report',
      timeout: Duration.seconds(30),
      memorySize: 256,
      service: DUMP_SERVICE,
      environment: {
        DUMP_BUCKET: props.bucket.bucketName,
        ...this.runtime.stepsEnvironment(),
      },
    });
    this.runtime.grantScriptUrl(this.steps);
    this.runtime.grantBucketRead(
      this.steps,
      props.bucket,
      `${DUMP_CHECK_REPORT_PREFIX}*`,
      'Each run names its report; reading only.',
    );
    this.stateMachine = this.runtime.workflow(this, {
      stateMachineName: props.names.stateMachine,
      definitionFile: DUMP_RESTORE_TEST_DEFINITION,
      functions: { DumpCheckSteps: this.steps },
      onCallTopic: props.onCallTopic,
      schedule: {
        ruleName: props.names.schedule,
        expression: props.dumps.restoreTestSchedule,
        description: 'Starts the restore test of the newest logical dump in the DR region (UTC)',
      },
      failedAlarm: {
        name: props.names.failedAlarm,
        description:
          `A restore test of the newest logical dump in ${stack.region} failed, timed out or was stopped: a ` +
          'restore from a dump is unproven. The execution says why (no dump here, a check that failed, the ' +
          'task). First: dr backups. Runbook: docs/runbooks.md, Dump restore test failed.',
        label: 'Failed, timed-out or aborted dump restore tests',
      },
    });
  }

  /** What the check task does: list and read the dumps, write its report; nothing else. */
  private grantTaskAccess(role: iam.IRole, props: DumpRestoreTestProps): void {
    const stack = Stack.of(this);
    const bucket = `arn:${stack.partition}:s3:::${props.bucket.bucketName}`;
    for (const statement of [
      {
        actions: ['s3:ListBucket'],
        resources: [bucket],
        conditions: { StringLike: { 's3:prefix': [`${props.dumps.prefix}*`] } },
      },
      { actions: ['s3:GetObject'], resources: [`${bucket}/${props.dumps.prefix}*`] },
      { actions: ['s3:PutObject'], resources: [`${bucket}/${DUMP_CHECK_REPORT_PREFIX}*`] },
      {
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.bucket.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
      },
    ])
      role.addToPrincipalPolicy(new iam.PolicyStatement(statement));
    for (const [resource, reason] of [
      [`${props.dumps.prefix}*`, 'The dumps are named per run under the dumps prefix; reading only.'],
      [`${DUMP_CHECK_REPORT_PREFIX}*`, `Each run names its report under ${DUMP_CHECK_REPORT_PREFIX}.`],
    ] as const)
      acknowledgeNagFinding(
        role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${props.bucket.bucketName}/${resource}]`,
        reason,
      );
  }
}
