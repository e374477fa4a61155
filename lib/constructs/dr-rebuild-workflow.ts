import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PagingAlarm } from './paging-alarm';
import { failedExecutions, workflowStateMachine } from './workflow-state-machine';

/** Its ASL file under statemachines/. */
export const DR_REBUILD_DEFINITION = 'dr-rebuild.asl.json';

export interface DrRebuildWorkflowProps {
  /** The step that creates the replica of the writer and moves it along (lambdas/dr-replica). */
  readonly drReplica: lambda.IFunction;
  /** The step that points the SECONDARY record where the topology says once the replica is recorded (lambdas/dns-flip). */
  readonly dnsFlip: lambda.IFunction;
  /** The step that records the new replica in the topology (lambdas/topology). */
  readonly topology: lambda.IFunction;
  readonly onCallTopic: sns.ITopic;
  readonly stateMachineName: string;
  readonly alarmName: string;
}

/**
 * The DR rebuild (re-protect): a cross-region replica of the topology's writer in the other region, recorded
 * in the topology, then SECONDARY pointed where the topology says (recordTargets). Its own state machine, started (not awaited) by the migration workflow after a
 * cutover and by `dr reprotect` after a failover or switchover: RDS may take many hours to build a replica of
 * a large database, and the migration's fenced window must never wait on it. It changes nothing production
 * serves from (a new instance, then one record that only answers when PRIMARY is unhealthy), so its safety net
 * is the page: every outcome notifies on-call, and a failed, timed-out or stopped execution also alarms.
 */
export class DrRebuildWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: DrRebuildWorkflowProps) {
    super(scope, id);
    this.stateMachine = workflowStateMachine(this, {
      stateMachineName: props.stateMachineName,
      definitionFile: DR_REBUILD_DEFINITION,
      functions: { DrReplica: props.drReplica, DnsFlip: props.dnsFlip, Topology: props.topology },
      onCallTopic: props.onCallTopic,
    });
    new PagingAlarm(this, 'RebuildFailed', {
      topic: props.onCallTopic,
      alarmName: props.alarmName,
      alarmDescription:
        'A DR rebuild (re-protect) failed, timed out or was stopped: the writer serves without a cross-region ' +
        'replica. The execution history names the step; starting it again with the same input (or dr reprotect) ' +
        'carries on from the replica that exists. Runbook: docs/runbooks.md, Re-protect.',
      metric: failedExecutions(
        this.stateMachine,
        'Failed, timed-out or aborted DR rebuilds',
        Duration.minutes(5),
      ),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
