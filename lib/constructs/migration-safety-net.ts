import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { STEPS_SERVICE } from '../../lambdas/shared/metric-names';
import { acknowledgeNagFinding } from '../nag';
import { taskResources, workflowDefinition } from '../workflow-definition';
import { BLUE_GREEN_DEFINITION } from './blue-green-workflow';
import { PagingAlarm } from './paging-alarm';
import { stepLambda } from './step-lambda';
import { failedExecutions, workflowStateMachine } from './workflow-state-machine';

/** Its ASL file under statemachines/. */
export const MIGRATION_SAFETY_NET_DEFINITION = 'blue-green-safety-net.asl.json';

export interface MigrationSafetyNetProps {
  /** The migration workflow whose abnormal ends the net handles. */
  readonly migrationStateMachineName: string;
  /** The workflow's own steps the net reuses: the DNS flip (roll back) and the cutover (unfence, finish). */
  readonly dnsFlip: lambda.Function;
  readonly cutover: lambda.Function;
  /** Lifts blue's fence (lambdas/cutover unfenceHandler). */
  readonly unfence: lambda.Function;
  /** Records green as the writer once it serves (lambdas/topology). */
  readonly topology: lambda.Function;
  readonly onCallTopic: sns.ITopic;
  readonly stateMachineName: string;
  readonly alarmName: string;
}

/**
 * The blue-green migration's safety net: a state machine EventBridge starts when a migration execution ends
 * FAILED, TIMED_OUT or ABORTED. A Lambda reads that execution's history and plans; the workflow's own flip and
 * cutover steps undo what the execution changed and left changed (record back at blue, blue unfenced), or
 * finish a cutover it ended in the middle of. It pages whenever it acts, URGENT when it cannot, and its own
 * failure alarms. Step Functions sends status-change events on a best-effort basis: the migration's failed
 * alarm pages regardless.
 */
export class MigrationSafetyNet extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly assess: lambda.IFunction;

  constructor(scope: Construct, id: string, props: MigrationSafetyNetProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const migrationArn = `arn:${stack.partition}:states:${stack.region}:${stack.account}:stateMachine:${props.migrationStateMachineName}`;
    const executions = `arn:${stack.partition}:states:${stack.region}:${stack.account}:execution:${props.migrationStateMachineName}:*`;
    // A step outlives its execution by at most its own function's timeout: the net waits that long before
    // acting. Which function each state of the migration runs comes from the migration's own ASL file.
    const timeoutOf: Record<string, number> = {
      '${DnsFlipFunctionArn}': props.dnsFlip.timeout?.toSeconds() ?? 900,
      '${CutoverFunctionArn}': props.cutover.timeout?.toSeconds() ?? 900,
      '${UnfenceFunctionArn}': props.unfence.timeout?.toSeconds() ?? 900,
    };
    const stateTimeouts = Object.fromEntries(
      [...taskResources(workflowDefinition(BLUE_GREEN_DEFINITION))].flatMap(([state, resource]) => {
        const seconds = timeoutOf[resource];
        return seconds === undefined ? [] : [[state, seconds]];
      }),
    );
    const stepTimeout = Math.max(...Object.values(timeoutOf));
    const assess = stepLambda(this, 'assess', {
      entry: ['safety-net', 'migration-handler.ts'],
      handler: 'handler',
      description:
        'Blue-green safety net: read an abnormally ended migration and plan what to undo (changes nothing)',
      timeout: Duration.seconds(60),
      memorySize: 256,
      service: STEPS_SERVICE,
      environment: {
        MIGRATION_STATE_MACHINE_ARN: migrationArn,
        STEP_TIMEOUT_SECONDS: String(stepTimeout),
        STATE_TIMEOUTS: JSON.stringify(stateTimeouts),
      },
    });
    assess.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        resources: [executions],
      }),
    );
    assess.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:ListExecutions'], resources: [migrationArn] }),
    );
    if (assess.role !== undefined)
      acknowledgeNagFinding(
        assess.role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${stack.region}:${stack.account}:execution:${props.migrationStateMachineName}:*]`,
        'Execution names are chosen per migration; the net reads (never changes) executions of the migration workflow only.',
      );
    this.assess = assess;

    this.stateMachine = workflowStateMachine(this, {
      stateMachineName: props.stateMachineName,
      definitionFile: MIGRATION_SAFETY_NET_DEFINITION,
      functions: {
        MigrationSafetyNetAssess: assess,
        DnsFlip: props.dnsFlip,
        Cutover: props.cutover,
        Unfence: props.unfence,
        Topology: props.topology,
      },
      onCallTopic: props.onCallTopic,
    });

    new events.Rule(this, 'OnAbnormalEnd', {
      description: 'Starts the blue-green safety net when a migration ends FAILED, TIMED_OUT or ABORTED',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [migrationArn], status: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
      },
      targets: [
        new targets.SfnStateMachine(this.stateMachine, { retryAttempts: 8, maxEventAge: Duration.hours(1) }),
      ],
    });

    new PagingAlarm(this, 'NetFailed', {
      topic: props.onCallTopic,
      alarmName: props.alarmName,
      alarmDescription:
        'The blue-green safety net failed, timed out or refused to act after a migration ended abnormally: the ' +
        'record may name green while blue refuses writes. Its URGENT notification says what to check. First: ' +
        'dr status, then its execution history. Runbook: docs/runbooks.md, Migration failed.',
      metric: failedExecutions(
        this.stateMachine,
        'Failed, timed-out or aborted safety nets',
        Duration.minutes(1),
      ),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
