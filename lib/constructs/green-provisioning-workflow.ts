import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { BlueGreenSteps } from './blue-green-steps';
import { PagingAlarm } from './paging-alarm';
import { failedExecutions, grantStartExecutionSync, workflowStateMachine } from './workflow-state-machine';

/** Its ASL file under statemachines/. */
export const GREEN_PROVISIONING_DEFINITION = 'green-provisioning.asl.json';

export interface GreenProvisioningWorkflowProps {
  readonly steps: BlueGreenSteps;
  readonly onCallTopic: sns.ITopic;
  readonly stateMachineName: string;
  readonly alarmName: string;
  /** The migration workflow it runs once green is in sync (startExecution.sync), by name and ARN. */
  readonly migrationStateMachineName: string;
  readonly migrationStateMachineArn: string;
}

/**
 * `dr migrate --provision-green`: green made from the writer, in sync, then the migration run and waited for.
 * Deployed from the same ASL file the tests execute locally. It creates an instance and a secret and never
 * changes what production serves from until the migration it starts does (that workflow has its own failure
 * paths and safety net), so its own safety net is the page: every failure notifies on-call, and a failed,
 * timed-out or stopped execution alarms.
 */
export class GreenProvisioningWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: GreenProvisioningWorkflowProps) {
    super(scope, id);
    const fns = props.steps.functions;
    this.stateMachine = workflowStateMachine(this, {
      stateMachineName: props.stateMachineName,
      definitionFile: GREEN_PROVISIONING_DEFINITION,
      functions: {
        GreenInstance: fns.greenInstance,
        GreenDatabase: fns.greenDatabase,
        GreenSchema: fns.greenSchema,
      },
      references: { BlueGreenStateMachineArn: props.migrationStateMachineArn },
      onCallTopic: props.onCallTopic,
    });
    // startExecution.sync: start the migration, follow it, stop it if this execution is stopped.
    grantStartExecutionSync(
      this.stateMachine,
      { arn: props.migrationStateMachineArn, name: props.migrationStateMachineName },
      'The migration execution is named at start; only executions of the migration workflow.',
    );
    new PagingAlarm(this, 'ProvisioningFailed', {
      topic: props.onCallTopic,
      alarmName: props.alarmName,
      alarmDescription:
        'A green provisioning (dr migrate --provision-green) failed, timed out or was stopped: blue still serves ' +
        'unless the migration it started cut over (that one pages on its own). Green, its secret, blue’s ' +
        'publication and green’s subscription may exist, and the subscription’s slot on blue retains WAL until ' +
        'dropped. First: dr status. Runbook: docs/runbooks.md, Green provisioning failed.',
      metric: failedExecutions(
        this.stateMachine,
        'Failed, timed-out or aborted green provisionings',
        Duration.minutes(5),
      ),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
