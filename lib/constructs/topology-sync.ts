import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { ProbeFunction } from '../../lambdas/topology-sync/probes';
import type { FollowedRecord } from '../../lambdas/topology-sync/records';
import { METRICS_NAMESPACE } from '../../lambdas/shared/metric-names';
import { PagingAlarm } from './paging-alarm';
import { grantRecordUpserts } from './record-access';
import { stepLambda } from './step-lambda';
import { grantTopologyRead, grantTopologyWrite, type TopologyLocation } from './topology-access';

export interface TopologySyncProps {
  /** Every health probe function, by name and region (their names are fixed: drNames.healthProbeFunction). */
  readonly probes: readonly ProbeFunction[];
  /** Where the topology lives, and its parameters' prefix. */
  readonly topology: TopologyLocation;
  /** The record sets kept on the topology: production SECONDARY, and the drill record's two sets. */
  readonly hostedZoneId: string;
  readonly records: readonly FollowedRecord[];
  /** The PRIMARY record's database health checks (the two observers): healthy before a writer is confirmed. */
  readonly writerHealthCheckIds: readonly string[];
  /** How long the probes must watch a writer before their alarms are about it alone (the alarms' window and more). */
  readonly settle: Duration;
  /** What a member without a port or secret of its own takes. */
  readonly databasePort: number;
  readonly masterSecretName: string;
  readonly functionName: string;
  readonly alarmName: string;
  readonly onCallTopic: sns.ITopic;
}

/**
 * Every minute, points each health probe at what the topology says it watches (lambdas/topology-sync): the PRIMARY
 * health checks, and the alarms and pages behind them, follow the writer after a failover, a cutover or a
 * switchover, and the replica's follow the replica. Once the probes have watched the writer long enough and
 * it is healthy, it confirms the writer as health-checked, so SECONDARY answers its replica again, and keeps
 * the SECONDARY set and the drill record on the topology. It may read the topology, write the health-checked
 * writer and the record targets, read and change the probe functions' configuration, UPSERT the followed
 * CNAMEs, and read Route 53's health-check metric; nothing else.
 */
export class TopologySync extends Construct {
  readonly function: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: TopologySyncProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.function = stepLambda(this, 'Function', {
      entry: ['topology-sync', 'handler.ts'],
      handler: 'handler',
      description:
        'Points each health probe, SECONDARY and the drill record at what the topology says (every minute)',
      timeout: Duration.seconds(55),
      memorySize: 256,
      service: 'dr-topology-sync',
      functionName: props.functionName,
      environment: {
        PROBES: JSON.stringify(props.probes),
        DATABASE_PORT: String(props.databasePort),
        MASTER_SECRET_NAME: props.masterSecretName,
        HOSTED_ZONE_ID: props.hostedZoneId,
        RECORDS: JSON.stringify(props.records),
        WRITER_HEALTH_CHECK_IDS: props.writerHealthCheckIds.join(','),
        SETTLE_SECONDS: String(props.settle.toSeconds()),
      },
    });
    grantTopologyRead(this.function, props.topology, [
      'document',
      'primaryRecord',
      'secondaryRecord',
      'healthCheckedWriter',
    ]);
    grantTopologyWrite(this.function, props.topology, [
      'healthCheckedWriter',
      'primaryRecord',
      'secondaryRecord',
    ]);
    grantRecordUpserts(this.function, {
      hostedZoneId: props.hostedZoneId,
      recordNames: [...new Set(props.records.map((r) => r.recordName))],
    });
    // Route 53's HealthCheckStatus metric (us-east-1) and RDS's ReplicaLag (the replica's region): GetMetricData
    // has no resource-level permissions.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }),
    );
    // It relays the replica's lag under the role, in this toolkit's namespace only.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': METRICS_NAMESPACE } },
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
        'The topology sync failed (or did not run) every minute for 15 minutes: a health probe still watches what it watched before ' +
        'the last role change, so the PRIMARY health checks and the database alarms may be about a retired ' +
        'database. Expected while a region is lost (its probe cannot be changed until it returns). The ' +
        'function logs name the probe and the error. First: dr status, then the function log. Runbook: ' +
        'docs/runbooks.md, Topology sync failing.',
      metric: this.function.metricErrors({ period: Duration.minutes(1), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 15,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }
}
