import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { ProbeFunction } from '../../lambdas/probe-sync/sync';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { PagingAlarm } from './paging-alarm';
import { stepLambda } from './step-lambda';

export interface ProbeTargetSyncProps {
  /** Every health probe function, by name and region (their names are fixed: drNames.healthProbeFunction). */
  readonly probes: readonly ProbeFunction[];
  /** Where the topology lives, and its parameters' prefix. */
  readonly topology: { readonly region: string; readonly resourcePrefix: string };
  /** What a member without a port or secret of its own takes. */
  readonly databasePort: number;
  readonly masterSecretName: string;
  readonly functionName: string;
  readonly alarmName: string;
  readonly onCallTopic: sns.ITopic;
}

/**
 * Every minute, points each health probe at what the topology says it watches (lambdas/probe-sync): the PRIMARY
 * health checks, and the alarms and pages behind them, follow the writer after a failover, a cutover or a
 * switchover, and the replica's follow the replica. It may read the topology document and read and change the
 * configuration of the probe functions, nothing else.
 */
export class ProbeTargetSync extends Construct {
  readonly function: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: ProbeTargetSyncProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.function = stepLambda(this, 'Function', {
      entry: ['probe-sync', 'handler.ts'],
      handler: 'handler',
      description: 'Points each health probe at what the topology says it watches (every minute)',
      timeout: Duration.seconds(50),
      memorySize: 256,
      service: 'dr-probe-sync',
      functionName: props.functionName,
      environment: {
        PROBES: JSON.stringify(props.probes),
        DATABASE_PORT: String(props.databasePort),
        MASTER_SECRET_NAME: props.masterSecretName,
        TOPOLOGY_REGION: props.topology.region,
        RESOURCE_PREFIX: props.topology.resourcePrefix,
      },
    });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ssm:GetParameter'],
        resources: [
          `arn:${stack.partition}:ssm:${props.topology.region}:${stack.account}:parameter${topologyParameterNames(props.topology.resourcePrefix).document}`,
        ],
      }),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:GetFunctionConfiguration', 'lambda:UpdateFunctionConfiguration'],
        resources: props.probes.map(
          (probe) =>
            `arn:${stack.partition}:lambda:${probe.region}:${stack.account}:function:${probe.functionName}`,
        ),
      }),
    );
    new events.Rule(this, 'Schedule', {
      description: 'Points each health probe at what the topology says it watches',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
    });
    new PagingAlarm(this, 'Failing', {
      topic: props.onCallTopic,
      alarmName: props.alarmName,
      alarmDescription:
        'The probe sync failed (or did not run) every minute for 15 minutes: a health probe still watches what it watched before ' +
        'the last role change, so the PRIMARY health checks and the database alarms may be about a retired ' +
        'database. Expected while a region is lost (its probe cannot be changed until it returns). The ' +
        'function logs name the probe and the error. Runbook: docs/runbooks.md, Probe sync failing.',
      metric: this.function.metricErrors({ period: Duration.minutes(1), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 15,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }
}
