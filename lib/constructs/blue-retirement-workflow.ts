import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DR_REPLICA_ROLE, PROVISIONED_BY_TAG } from '../../lambdas/shared/provisioning-tags';
import { acknowledgeNagFinding } from '../nag';
import { stateMachineArnIn } from '../names';
import type { BlueGreenSteps } from './blue-green-steps';
import { PagingAlarm } from './paging-alarm';
import { grantTopologyRead, type TopologyLocation } from './topology-access';
import { failedExecutions, workflowStateMachine } from './workflow-state-machine';

/** Its ASL file under statemachines/. */
export const BLUE_RETIREMENT_DEFINITION = 'blue-retirement.asl.json';

export interface BlueRetirementWorkflowProps {
  readonly steps: BlueGreenSteps;
  readonly onCallTopic: sns.ITopic;
  readonly stateMachineName: string;
  readonly alarmName: string;
  readonly topology: TopologyLocation;
  readonly account: string;
  /** The deployed regions: blue is in one, its DR replica in the other. */
  readonly regions: readonly string[];
  /** Blue's own secret is `<secretNamePrefix><blue>`: deleted with blue. */
  readonly secretNamePrefix: string;
  /** blueGreen.retireBlue and blueGreen.wayBackWindowHours. */
  readonly action: 'delete' | 'stop';
  readonly windowHours: number;
  /** The migration workflow: the way back is not ended while it runs (a rollback may be reading it). */
  readonly migrationStateMachineArn: string;
}

/**
 * Blue's retirement after a cutover with the way back: it waits out the window, ends the way back, and deletes
 * (final snapshot) or stops blue, its DR replicas first. IAM lets it delete, stop or modify only instances named
 * `<prefix>-green-*` that carry the provisioned-by tag (green provisioning's) or the DR replica tag, and snapshot
 * only under that name; the step refuses, before any call, an instance the topology names (the writer may be a
 * provisioned green too, which IAM cannot tell apart).
 */
export class BlueRetirementWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: BlueRetirementWorkflowProps) {
    super(scope, id);
    const fns = props.steps.functions;
    this.stateMachine = workflowStateMachine(this, {
      stateMachineName: props.stateMachineName,
      definitionFile: BLUE_RETIREMENT_DEFINITION,
      functions: { RetirementInstance: fns.retirementInstance, EndWayBack: fns.endWayBack },
      references: {},
      onCallTopic: props.onCallTopic,
    });
    this.grantInstanceStep(props);
    const endWayBack = fns.endWayBack;
    grantTopologyRead(endWayBack, props.topology);
    endWayBack.addEnvironment('EXCLUSIVE_WITH', props.migrationStateMachineArn);
    endWayBack.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:ListExecutions'],
        resources: [props.migrationStateMachineArn],
      }),
    );
    new PagingAlarm(this, 'RetirementFailed', {
      topic: props.onCallTopic,
      alarmName: props.alarmName,
      alarmDescription:
        'A blue retirement failed or timed out (dr migrate rollback and finish stop it on purpose: not a failure): the writer serves, but the way back may still be ' +
        'open (the writer keeps a replication slot for blue, retaining WAL) and blue may still exist. ' +
        'First: the failed execution of the blue retirement state machine (it says why). ' +
        'Runbook: docs/runbooks.md, Blue retirement failed.',
      // Stopped on purpose by dr migrate rollback and finish: a stop is not a failure.
      metric: failedExecutions(
        this.stateMachine,
        'Failed or timed-out blue retirements',
        Duration.minutes(5),
        {
          aborted: false,
        },
      ),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** The instance step: describe anywhere it may be; change only what green provisioning or the DR rebuild made. */
  private grantInstanceStep(props: BlueRetirementWorkflowProps): void {
    const stack = Stack.of(this);
    const step = props.steps.functions.retirementInstance;
    const prefix = props.topology.resourcePrefix;
    grantTopologyRead(step, props.topology);
    step.addEnvironment('RETIRE_ACTION', props.action);
    step.addEnvironment('WAY_BACK_WINDOW_HOURS', String(props.windowHours));
    const arn = (region: string, type: string, name: string) =>
      `arn:${stack.partition}:rds:${region}:${props.account}:${type}:${name}`;
    const greens = props.regions.map((r) => arn(r, 'db', `${prefix}-green-*`));
    step.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['rds:DescribeDBInstances'],
        resources: props.regions.map((r) => arn(r, 'db', '*')),
      }),
    );
    // Blue: a green that provisioning made (delete and stop take the final snapshot as its dependent action).
    step.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'rds:ModifyDBInstance',
          'rds:DeleteDBInstance',
          'rds:StopDBInstance',
          'rds:CreateDBSnapshot',
        ],
        resources: greens,
        conditions: { StringEquals: { [`aws:ResourceTag/${PROVISIONED_BY_TAG}`]: prefix } },
      }),
    );
    // Its DR replicas, which the DR rebuild made (named after green, `-dr`): deleted without a snapshot.
    step.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['rds:ModifyDBInstance', 'rds:DeleteDBInstance'],
        resources: greens,
        conditions: { StringEquals: { [`aws:ResourceTag/${DR_REPLICA_ROLE.key}`]: DR_REPLICA_ROLE.value } },
      }),
    );
    // The final snapshot, named after blue, and the tags RDS copies onto it.
    step.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['rds:CreateDBSnapshot', 'rds:AddTagsToResource', 'rds:StopDBInstance'],
        resources: props.regions.map((r) => arn(r, 'snapshot', `${prefix}-green-*`)),
      }),
    );
    // A deleted blue's own secret (green provisioning's, named after it): its replicas, then the secret itself.
    step.addEnvironment('SECRET_NAME_PREFIX', props.secretNamePrefix);
    step.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'secretsmanager:DescribeSecret',
          'secretsmanager:RemoveRegionsFromReplication',
          'secretsmanager:DeleteSecret',
        ],
        resources: props.regions.map(
          (r) =>
            `arn:${stack.partition}:secretsmanager:${r}:${props.account}:secret:${props.secretNamePrefix}${prefix}-green-*`,
        ),
      }),
    );
    // The plan stops older retirements of the same instance that still wait (the newest cutover decides).
    step.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:ListExecutions'],
        resources: [stateMachineArnIn(stack, props.stateMachineName)],
      }),
    );
    const executions = `arn:${stack.partition}:states:${stack.region}:${stack.account}:execution:${props.stateMachineName}:*`;
    step.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [executions],
      }),
    );
    const role = step.role;
    if (role === undefined) return;
    acknowledgeNagFinding(
      role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${stack.region}:${stack.account}:execution:${props.stateMachineName}:*]`,
      'Executions are named per migration: only this workflow’s own (older retirements of the same instance).',
    );
    for (const r of props.regions) {
      acknowledgeNagFinding(
        role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:${r}:${props.account}:db:*]`,
        'Describe only: blue and its replicas are found by the identifier the migration recorded.',
      );
      acknowledgeNagFinding(
        role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:${r}:${props.account}:db:${prefix}-green-*]`,
        `Blue is named per migration: only instances named ${prefix}-green-* that carry the ${PROVISIONED_BY_TAG} tag (or the DR replica tag) may be modified, deleted or stopped.`,
      );
      acknowledgeNagFinding(
        role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${r}:${props.account}:secret:${props.secretNamePrefix}${prefix}-green-*]`,
        'Each provisioned green has its own secret, named after it: a retired blue’s is deleted with it, only those names.',
      );
      acknowledgeNagFinding(
        role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:${r}:${props.account}:snapshot:${prefix}-green-*]`,
        'The final snapshot is named after blue (<blue>-retired-<time>): only those names.',
      );
    }
  }
}
