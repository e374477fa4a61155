import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { acknowledgeNagFinding } from '../nag';

export interface WorkflowStateMachineProps {
  readonly stateMachineName: string;
  /** The ASL file: the same one the tests execute locally. */
  readonly definitionFile: string;
  readonly substitutions: Record<string, string>;
  /** Step functions the workflow invokes. */
  readonly steps: readonly lambda.IFunction[];
  readonly onCallTopic: sns.ITopic;
  readonly timeout?: Duration;
}

/**
 * A workflow's state machine from its ASL file: it may invoke only its steps and publish only to on-call.
 * Logs record state transitions without execution data; executions are traced. Created directly in `scope`
 * (ids `StateMachine` and `Logs`).
 */
export function workflowStateMachine(scope: Construct, props: WorkflowStateMachineProps): sfn.StateMachine {
  const machine = new sfn.StateMachine(scope, 'StateMachine', {
    stateMachineName: props.stateMachineName,
    definitionBody: sfn.DefinitionBody.fromFile(props.definitionFile),
    definitionSubstitutions: { ...props.substitutions, OnCallTopicArn: props.onCallTopic.topicArn },
    ...(props.timeout === undefined ? {} : { timeout: props.timeout }),
    tracingEnabled: true,
    logs: {
      destination: new logs.LogGroup(scope, 'Logs', {
        // Step Functions adds each log group to the account's CloudWatch Logs resource policy (5,120 characters
        // at most) unless its name starts with /aws/vendedlogs/ (Step Functions developer guide, bp-cwl).
        logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}`,
        retention: logs.RetentionDays.ONE_YEAR,
        removalPolicy: RemovalPolicy.RETAIN,
      }),
      level: sfn.LogLevel.ALL,
      // Inputs name secrets (never hold them), but results describe databases: keep them out of logs.
      includeExecutionData: false,
    },
  });
  for (const fn of props.steps) fn.grantInvoke(machine);
  props.onCallTopic.grantPublish(machine);

  const stack = Stack.of(scope);
  for (const fn of props.steps) {
    acknowledgeNagFinding(
      machine.role,
      `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as never)}.Arn>:*]`,
      'CDK grants invoke on every version of each step function (the :* suffix); only these functions.',
    );
  }
  acknowledgeNagFinding(
    machine.role,
    'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    "Publishing to the KMS-encrypted on-call topic needs data keys from that topic's key only.",
  );
  acknowledgeNagFinding(
    machine.role,
    'AwsSolutions-IAM5[Resource::*]',
    'X-Ray tracing and CloudWatch Logs delivery for Step Functions support no resource-level permissions.',
  );
  return machine;
}

/** Failed + timed-out + aborted executions per period: what the "workflow failed" alarms watch. */
export function failedExecutions(
  machine: sfn.StateMachine,
  label: string,
  period: Duration,
): cloudwatch.IMetric {
  return new cloudwatch.MathExpression({
    expression: 'failed + timedOut + aborted',
    usingMetrics: {
      failed: machine.metricFailed({ statistic: 'Sum', period }),
      timedOut: machine.metricTimedOut({ statistic: 'Sum', period }),
      aborted: machine.metricAborted({ statistic: 'Sum', period }),
    },
    label,
    period,
  });
}
