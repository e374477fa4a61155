import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { acknowledgeNagFinding } from '../nag';
import { workflowDefinitionText } from '../workflow-definition';

export interface WorkflowStateMachineProps {
  readonly stateMachineName: string;
  /** The ASL file under statemachines/: the same one the tests execute locally. */
  readonly definitionFile: string;
  /**
   * The step functions the workflow may invoke, by the name its ASL gives them: `${<Name>FunctionArn}` in a
   * Task's Resource is `functions[<Name>]` (e.g. `ConnectivityCheck`). Each is granted invoke; a placeholder
   * no function answers, or a function no placeholder names, stops synth.
   */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** Other values the ASL names (`${BlueGreenStateMachineArn}`); `OnCallTopicArn` is always given. */
  readonly references?: Readonly<Record<string, string>>;
  readonly onCallTopic: sns.ITopic;
  readonly timeout?: Duration;
}

/**
 * A workflow's state machine from its ASL file: it may invoke only its steps and publish only to on-call.
 * Logs record state transitions without execution data; executions are traced. Created directly in `scope`
 * (ids `StateMachine` and `Logs`).
 */
export function workflowStateMachine(scope: Construct, props: WorkflowStateMachineProps): sfn.StateMachine {
  const definition = workflowDefinitionText(props.definitionFile);
  const { substitutions, steps } = stepWiring(props.definitionFile, definition, props.functions);
  const machine = new sfn.StateMachine(scope, 'StateMachine', {
    stateMachineName: props.stateMachineName,
    definitionBody: sfn.DefinitionBody.fromString(definition),
    definitionSubstitutions: {
      ...substitutions,
      ...props.references,
      OnCallTopicArn: props.onCallTopic.topicArn,
    },
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
  for (const fn of steps) fn.grantInvoke(machine);
  props.onCallTopic.grantPublish(machine);

  const stack = Stack.of(scope);
  for (const fn of steps) {
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

/** The name an ASL placeholder gives a step function: `connectivityCheck` → `ConnectivityCheck` (+ prefix). */
export const placeholderName = (step: string, prefix = ''): string =>
  `${prefix}${step.charAt(0).toUpperCase()}${step.slice(1)}`;

/**
 * Which functions an ASL file invokes, read from the file itself: each `${<Name>FunctionArn}` placeholder and
 * the function of that name. The file is the one place a state names its step; nothing else lists them.
 */
export function stepWiring(
  definitionFile: string,
  definition: string,
  functions: Readonly<Record<string, lambda.IFunction>>,
): { substitutions: Record<string, string>; steps: lambda.IFunction[] } {
  const named = new Set([...definition.matchAll(/\$\{([A-Za-z0-9]+)FunctionArn\}/g)].map((m) => m[1] ?? ''));
  const missing = [...named].filter((name) => functions[name] === undefined);
  const unused = Object.keys(functions).filter((name) => !named.has(name));
  if (missing.length > 0 || unused.length > 0)
    throw new Error(
      `${definitionFile}: ` +
        [
          ...(missing.length > 0
            ? [`no step function for ${missing.map((n) => `\${${n}FunctionArn}`).join(', ')}`]
            : []),
          ...(unused.length > 0 ? [`step function(s) ${unused.join(', ')} named by no Task`] : []),
        ].join('; '),
    );
  const steps = [...named].map((name) => functions[name] as lambda.IFunction);
  return {
    substitutions: Object.fromEntries(
      [...named].map((name, i) => [`${name}FunctionArn`, steps[i]?.functionArn ?? '']),
    ),
    steps,
  };
}

/**
 * Failed + timed-out + aborted executions per period: what the "workflow failed" alarms watch. `aborted: false`
 * for a workflow that is stopped on purpose in normal use (the blue retirement: dr migrate rollback and finish).
 */
export function failedExecutions(
  machine: sfn.StateMachine,
  label: string,
  period: Duration,
  options: { readonly aborted: boolean } = { aborted: true },
): cloudwatch.IMetric {
  return new cloudwatch.MathExpression({
    expression: options.aborted ? 'failed + timedOut + aborted' : 'failed + timedOut',
    usingMetrics: {
      failed: machine.metricFailed({ statistic: 'Sum', period }),
      timedOut: machine.metricTimedOut({ statistic: 'Sum', period }),
      ...(options.aborted ? { aborted: machine.metricAborted({ statistic: 'Sum', period }) } : {}),
    },
    label,
    period,
  });
}

/**
 * What a `states:startExecution.sync` task needs of its state machine's role: start the child workflow, follow
 * and stop its executions, and the EventBridge rule Step Functions uses to learn that a child ended.
 */
export function grantStartExecutionSync(
  machine: sfn.StateMachine,
  child: { readonly arn: string; readonly name: string },
  why: string,
): void {
  const stack = Stack.of(machine);
  machine.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [child.arn] }),
  );
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['states:DescribeExecution', 'states:StopExecution'],
      resources: [`arn:${stack.partition}:states:${stack.region}:${stack.account}:execution:${child.name}:*`],
    }),
  );
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [
        `arn:${stack.partition}:events:${stack.region}:${stack.account}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
      ],
    }),
  );
  acknowledgeNagFinding(
    machine.role,
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${stack.region}:${stack.account}:execution:${child.name}:*]`,
    why,
  );
}
