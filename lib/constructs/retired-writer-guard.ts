import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PagingAlarm } from './paging-alarm';
import { failedExecutions, workflowStateMachine } from './workflow-state-machine';

/** Its ASL file under statemachines/. */
export const RETIRED_WRITER_GUARD_DEFINITION = 'retired-writer-guard.asl.json';

export interface RetiredWriterGuardProps {
  /** The region failover's steps: `retired` (reads the topology) and `guard` (retires, in the VPC). */
  readonly control: lambda.IFunction;
  readonly database: lambda.IFunction;
  /** Opens a retired member that names no secret of its own. */
  readonly masterSecretName: string;
  readonly onCallTopic: sns.ITopic;
  readonly stateMachineName: string;
  readonly scheduleRuleName: string;
  readonly alarmName: string;
}

/**
 * Every 5 minutes, retires again any former writer the topology retired that answers with a database open:
 * the old primary of a lost region, when the region returns (a failover could not reach it to retire it).
 * Nothing routes to it by then; this closes it to clients that connect by its instance endpoint. About 8,600
 * executions a month of two to five state transitions each.
 */
export class RetiredWriterGuard extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: RetiredWriterGuardProps) {
    super(scope, id);
    this.stateMachine = workflowStateMachine(this, {
      stateMachineName: props.stateMachineName,
      definitionFile: RETIRED_WRITER_GUARD_DEFINITION,
      functions: { FailoverControl: props.control, FailoverDatabase: props.database },
      references: { MasterSecretId: props.masterSecretName },
      onCallTopic: props.onCallTopic,
    });
    new events.Rule(this, 'Schedule', {
      ruleName: props.scheduleRuleName,
      description: 'Retires again any retired former writer that answers (a returned old primary)',
      schedule: events.Schedule.rate(Duration.minutes(5)),
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject({}),
          retryAttempts: 2,
          maxEventAge: Duration.minutes(5),
        }),
      ],
    });
    new PagingAlarm(this, 'GuardFailing', {
      topic: props.onCallTopic,
      alarmName: props.alarmName,
      alarmDescription:
        'The retired-writer guard failed three runs in a row (15 minutes): a former writer that returns is not ' +
        'retired. First: the failed executions of the retired-writer guard state machine (they say why). ' +
        'Runbook: docs/runbooks.md, Retired-writer guard failing.',
      metric: failedExecutions(this.stateMachine, 'Failed retired-writer guard runs', Duration.minutes(5)),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
