import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledgeNagFinding } from '../nag';
import type { BlueGreenSteps } from './blue-green-steps';
import { PagingAlarm } from './paging-alarm';

export const BLUE_GREEN_DEFINITION = path.join(
  __dirname,
  '..',
  '..',
  'statemachines',
  'blue-green-migration.asl.json',
);

export interface BlueGreenWorkflowProps {
  readonly steps: BlueGreenSteps;
  /** On-call topic in this region: every failure path notifies it. */
  readonly onCallTopic: sns.ITopic;
  readonly stateMachineName: string;
  readonly alarmName: string;
}

/**
 * The blue-green migration state machine, deployed from the same ASL file the tests execute locally. Logs
 * record state transitions without execution data; executions are traced; a failed or timed-out execution pages.
 */
export class BlueGreenWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: BlueGreenWorkflowProps) {
    super(scope, id);
    const fns = props.steps.functions;
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      definitionBody: sfn.DefinitionBody.fromFile(BLUE_GREEN_DEFINITION),
      definitionSubstitutions: {
        ConnectivityCheckFunctionArn: fns.connectivityCheck.functionArn,
        MigrationPlanFunctionArn: fns.migrationPlan.functionArn,
        MigrateFunctionArn: fns.migrate.functionArn,
        VerifyFunctionArn: fns.verify.functionArn,
        SmokeTestFunctionArn: fns.smokeTest.functionArn,
        DnsFlipFunctionArn: fns.dnsFlip.functionArn,
        CutoverFunctionArn: fns.cutover.functionArn,
        DrReplicaFunctionArn: fns.drReplica.functionArn,
        ValidateInputFunctionArn: fns.validateInput.functionArn,
        OnCallTopicArn: props.onCallTopic.topicArn,
      },
      timeout: Duration.hours(2),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'Logs', {
          retention: logs.RetentionDays.ONE_YEAR,
          removalPolicy: RemovalPolicy.RETAIN,
        }),
        level: sfn.LogLevel.ALL,
        // Inputs name secrets (never hold them), but results describe databases: keep them out of logs.
        includeExecutionData: false,
      },
    });
    for (const fn of Object.values(fns)) fn.grantInvoke(this.stateMachine);
    props.onCallTopic.grantPublish(this.stateMachine);

    const role = this.stateMachine.role;
    const stack = Stack.of(this);
    for (const fn of Object.values(fns)) {
      acknowledgeNagFinding(
        role,
        `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as never)}.Arn>:*]`,
        'CDK grants invoke on every version of each step function (the :* suffix); only these functions.',
      );
    }
    acknowledgeNagFinding(
      role,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      "Publishing to the KMS-encrypted on-call topic needs data keys from that topic's key only.",
    );
    acknowledgeNagFinding(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray tracing and CloudWatch Logs delivery for Step Functions support no resource-level permissions.',
    );

    const failed = new cloudwatch.MathExpression({
      expression: 'failed + timedOut + aborted',
      usingMetrics: {
        failed: this.stateMachine.metricFailed({ statistic: 'Sum', period: Duration.minutes(1) }),
        timedOut: this.stateMachine.metricTimedOut({ statistic: 'Sum', period: Duration.minutes(1) }),
        aborted: this.stateMachine.metricAborted({ statistic: 'Sum', period: Duration.minutes(1) }),
      },
      label: 'Failed, timed-out or aborted migrations',
      period: Duration.minutes(1),
    });
    new PagingAlarm(this, 'MigrationFailed', {
      topic: props.onCallTopic,
      alarmName: props.alarmName,
      alarmDescription:
        'A blue-green migration execution failed, timed out or was aborted. The execution history names the step; ' +
        'the workflow has already notified with the reason and rolled DNS back if it had flipped.',
      metric: failed,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
