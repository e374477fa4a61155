import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DRILL_METRIC_DIMENSIONS, DRILL_METRICS, METRICS_NAMESPACE } from '../../lambdas/shared/metric-names';
import type { DrillSteps } from './drill-steps';
import { pagerAbove } from './paging-alarm';
import {
  failedExecutions,
  grantStartExecutionSync,
  placeholderName,
  workflowStateMachine,
} from './workflow-state-machine';

/** Its ASL file under statemachines/. */
export const FAILOVER_DRILL_DEFINITION = 'failover-drill.asl.json';

export interface DrillBudgetsProps {
  readonly serviceDisruptionSeconds: number;
  readonly dnsFailoverSeconds: number;
  readonly s3ReplicationSeconds: number;
}

export interface FailoverDrillProps {
  readonly steps: DrillSteps;
  readonly onCallTopic: sns.ITopic;
  readonly stateMachineName: string;
  /** The blue-green workflow, run as a dry run (scenario 5). */
  readonly migrationStateMachineName: string;
  /** What the schedule sends: the drill input (secret references, never passwords). */
  readonly input: Record<string, unknown>;
  readonly schedule: { readonly enabled: boolean; readonly expression: string; readonly ruleName: string };
  readonly budgets: DrillBudgetsProps;
  readonly staleAfterDays: number;
  readonly alarmNames: {
    readonly drillFailed: string;
    readonly drillStale: string;
    readonly drillFreshnessUnknown: string;
    readonly disruptionOverBudget: string;
    readonly dnsFailoverOverBudget: string;
    readonly s3ReplicationOverBudget: string;
  };
}

/** A drill figure as CloudWatch has it (published once per drill by the report step). */
export function drillMetric(
  metricName: string,
  label?: string,
  period = Duration.hours(1),
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { ...DRILL_METRIC_DIMENSIONS },
    statistic: cloudwatch.Stats.MAXIMUM,
    period,
    // Alarms get no label, so CloudFormation names the metric directly.
    ...(label === undefined ? {} : { label }),
  });
}

/**
 * The failover drill: its state machine (from the ASL file the tests run), the weekly schedule, and the alarms
 * that page when a drill fails, misses a budget, or has not succeeded for `staleAfterDays`.
 */
export class FailoverDrill extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly schedule: events.Rule;
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: FailoverDrillProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const fns = props.steps.functions;
    const migrationArn = `arn:${stack.partition}:states:${stack.region}:${stack.account}:stateMachine:${props.migrationStateMachineName}`;

    this.stateMachine = workflowStateMachine(this, {
      stateMachineName: props.stateMachineName,
      definitionFile: FAILOVER_DRILL_DEFINITION,
      // Each drill step by the name its ASL placeholder gives it (Drill<Step>FunctionArn).
      functions: Object.fromEntries(
        Object.entries(fns).map(([name, fn]) => [placeholderName(name, 'Drill'), fn]),
      ),
      references: { BlueGreenStateMachineArn: migrationArn },
      onCallTopic: props.onCallTopic,
    });
    // startExecution.sync: start the dry run, follow it, stop it if the drill is stopped.
    grantStartExecutionSync(
      this.stateMachine,
      { arn: migrationArn, name: props.migrationStateMachineName },
      'The dry-run execution is named by Step Functions at start; only executions of the migration workflow.',
    );
    // Safety net: an execution that ends without its failure path (timed out, stopped by hand) gets the health
    // check restored, but only if that execution inverted it and left it so: a drill refused because another
    // runs must not undo the running one's inversion. The safety net reads the execution's history to know.
    new events.Rule(this, 'RestoreOnAbnormalEnd', {
      description: 'Restores the drill health check an abnormally ended drill left inverted',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [this.stateMachine.stateMachineArn],
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      targets: [
        new targets.LambdaFunction(props.steps.safetyNet, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });

    this.schedule = new events.Rule(this, 'Schedule', {
      ruleName: props.schedule.ruleName,
      description: 'Starts the failover drill (UTC)',
      schedule: events.Schedule.expression(props.schedule.expression),
      enabled: props.schedule.enabled,
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject(props.input),
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });
    new events.Rule(this, 'FreshnessSchedule', {
      description: 'Publishes the hours since the last successful failover drill',
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(props.steps.freshness, { retryAttempts: 2 })],
    });

    this.alarms = this.pagingAlarms(props);
  }

  /** What pages on-call about the drill: a failed drill, a figure over its budget, no recent success. */
  private pagingAlarms(props: FailoverDrillProps): cloudwatch.Alarm[] {
    const page = pagerAbove(this, props.onCallTopic);

    const failed = failedExecutions(
      this.stateMachine,
      'Failed, timed-out or aborted drills',
      Duration.minutes(5),
    );
    const b = props.budgets;
    return [
      page(
        'DrillFailed',
        props.alarmNames.drillFailed,
        'A failover drill failed, missed a budget, timed out or was stopped. The drill notified with the reason ' +
          'and restored the health check first; if it could not, an URGENT notification says so. First: dr ' +
          'status (the record answers the writer again?). Runbook: docs/runbooks.md, Drill failed.',
        failed,
        0,
      ),
      page(
        'DisruptionOverBudget',
        props.alarmNames.disruptionOverBudget,
        `The last drill's service disruption (simulated failure until clients read from the replica) exceeded ` +
          `${b.serviceDisruptionSeconds} s. A real failover would take at least this long, plus detection. First: ` +
          'the drill report in the last notification (which phase grew). Runbook: docs/runbooks.md, Drill over budget.',
        drillMetric(DRILL_METRICS.serviceDisruption),
        b.serviceDisruptionSeconds,
      ),
      page(
        'DnsFailoverOverBudget',
        props.alarmNames.dnsFailoverOverBudget,
        `The last drill's DNS failover (inversion until Route 53 answered the replica) exceeded ${b.dnsFailoverSeconds} s: ` +
          'Route 53 took longer to act on the health check, so a real failover would too. First: dr doctor (health ' +
          'check settings, TTL, the checkers that disagree). Runbook: docs/runbooks.md, Drill over budget.',
        drillMetric(DRILL_METRICS.dnsFailover),
        b.dnsFailoverSeconds,
      ),
      page(
        'S3ReplicationOverBudget',
        props.alarmNames.s3ReplicationOverBudget,
        `The last drill's S3 probe object took more than ${b.s3ReplicationSeconds} s to reach the DR bucket: the ` +
          'DR copy of the backups lags. First: dr doctor (S3 replication). Runbook: docs/runbooks.md, Drill over budget.',
        drillMetric(DRILL_METRICS.s3Replication),
        b.s3ReplicationSeconds,
      ),
      page(
        'DrillStale',
        props.alarmNames.drillStale,
        `No failover drill has succeeded for ${props.staleAfterDays} days (or since the drill was deployed): ` +
          'failover is unproven. First: dr doctor (the drill schedule, paused by a failover?), then dr drill. ' +
          'Runbook: docs/runbooks.md, No successful drill.',
        drillMetric(DRILL_METRICS.hoursSinceSuccess),
        props.staleAfterDays * 24,
      ),
      page(
        'DrillFreshnessUnknown',
        props.alarmNames.drillFreshnessUnknown,
        'The hourly check that feeds the "no successful drill" alarm has failed for 3 hours, so that alarm ' +
          'cannot fire. First: the freshness function logs (aws logs tail for its log group). Runbook: ' +
          'docs/runbooks.md, No successful drill.',
        props.steps.freshness.metricErrors({ statistic: 'Sum', period: Duration.hours(1) }),
        0,
        { evaluationPeriods: 3, datapointsToAlarm: 3 },
      ),
    ];
  }
}
