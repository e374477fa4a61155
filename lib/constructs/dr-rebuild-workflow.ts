import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { drillScheduleReferences, grantDrillScheduleResume } from './drill-schedule-pause';
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
  /** The weekly drill's schedule: a failback's rebuild enables it again when a region failover paused it. */
  readonly drillScheduleRuleName: string;
  /** The DR region: a replica there means the writer is home again (the failback is complete). */
  readonly drRegion: string;
}

/**
 * The DR rebuild (re-protect): a cross-region replica of the topology's writer in the other region, recorded
 * in the topology, then SECONDARY pointed where the topology says (recordTargets). Its own state machine, started (not awaited) by the migration workflow after a
 * cutover and by `dr reprotect` after a failover or switchover: RDS may take many hours to build a replica of
 * a large database, and the migration's fenced window must never wait on it. It changes nothing production
 * serves from (a new instance, then one record that only answers when PRIMARY is unhealthy), so its safety net
 * is the page: every outcome notifies on-call, and a failed, timed-out or stopped execution also alarms. When
 * it gives a writer in the home region its replica (a failback complete), it resumes the weekly drill a region
 * failover paused (drill-schedule-pause.ts).
 */
export class DrRebuildWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: DrRebuildWorkflowProps) {
    super(scope, id);
    this.stateMachine = workflowStateMachine(this, {
      stateMachineName: props.stateMachineName,
      definitionFile: DR_REBUILD_DEFINITION,
      functions: { DrReplica: props.drReplica, DnsFlip: props.dnsFlip, Topology: props.topology },
      references: {
        DrRegion: props.drRegion,
        ...drillScheduleReferences(Stack.of(this), props.drillScheduleRuleName),
      },
      onCallTopic: props.onCallTopic,
    });
    grantDrillScheduleResume(this.stateMachine, props.drillScheduleRuleName);
    new PagingAlarm(this, 'RebuildFailed', {
      topic: props.onCallTopic,
      alarmName: props.alarmName,
      alarmDescription:
        'A DR rebuild (re-protect) failed, timed out or was stopped: the writer serves without a cross-region ' +
        'replica. The execution history names the step; starting it again with the same input (or dr reprotect) ' +
        'carries on from the replica that exists. First: dr status. Runbook: docs/runbooks.md, Re-protect.',
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
