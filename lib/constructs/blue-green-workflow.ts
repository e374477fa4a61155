import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { OWN_WORKFLOW_STEPS, type BlueGreenSteps, type StepName } from './blue-green-steps';
import { PagingAlarm } from './paging-alarm';
import { failedExecutions, placeholderName, workflowStateMachine } from './workflow-state-machine';

/** Its ASL file under statemachines/. */
export const BLUE_GREEN_DEFINITION = 'blue-green-migration.asl.json';

export interface BlueGreenWorkflowProps {
  readonly steps: BlueGreenSteps;
  /** On-call topic in this region: every failure path notifies it. */
  readonly onCallTopic: sns.ITopic;
  readonly stateMachineName: string;
  readonly alarmName: string;
  /** The DR rebuild state machine the workflow starts after a cutover (started, never awaited). */
  readonly drRebuildStateMachineArn: string;
  /** The blue retirement it starts after a cutover with the way back (started, never awaited). */
  readonly blueRetirementStateMachineArn: string;
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
    this.stateMachine = workflowStateMachine(this, {
      stateMachineName: props.stateMachineName,
      definitionFile: BLUE_GREEN_DEFINITION,
      // Every step but the DR replica's (it belongs to the DR rebuild, which this workflow only starts) and
      // green provisioning's and blue retirement's (their own workflows), by the name its ASL placeholder gives it.
      functions: Object.fromEntries(
        Object.entries(fns)
          .filter(([name]) => name !== 'drReplica' && !OWN_WORKFLOW_STEPS.includes(name as StepName))
          .map(([name, fn]) => [placeholderName(name), fn]),
      ),
      references: {
        DrRebuildStateMachineArn: props.drRebuildStateMachineArn,
        BlueRetirementStateMachineArn: props.blueRetirementStateMachineArn,
      },
      onCallTopic: props.onCallTopic,
    });
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [props.drRebuildStateMachineArn, props.blueRetirementStateMachineArn],
      }),
    );
    const failed = failedExecutions(
      this.stateMachine,
      'Failed, timed-out or aborted migrations',
      Duration.minutes(1),
    );
    new PagingAlarm(this, 'MigrationFailed', {
      topic: props.onCallTopic,
      alarmName: props.alarmName,
      alarmDescription:
        'A blue-green migration execution failed, timed out or was aborted; the execution history names the step. ' +
        'A failure its own path handled was notified with the reason. For any abnormal end the safety net ' +
        '(blue-green-safety-net) undoes what the execution left changed (record back at blue, blue unfenced) ' +
        'and notifies; if it cannot, it pages URGENT. First: dr status (which database the record names). ' +
        'Runbook: docs/runbooks.md, Migration failed.',
      metric: failed,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
