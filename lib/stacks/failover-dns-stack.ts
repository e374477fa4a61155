import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { DrConfig } from '../config';
import { DatabaseTopology } from '../constructs/database-topology';
import { FailoverDns } from '../constructs/failover-dns';
import { PagingAlarm } from '../constructs/paging-alarm';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { drNames } from '../names';

export interface FailoverDnsStackProps extends StackProps {
  readonly config: DrConfig;
  readonly primaryEndpoint: string;
  readonly replicaEndpoint: string;
  /** The instances' ports (Endpoint.Port), recorded in the first topology. */
  readonly primaryPort: string;
  readonly replicaPort: string;
  /** On-call topic in us-east-1, where Route 53 health-check metrics live. */
  readonly onCallTopic: sns.ITopic;
}

/**
 * Failover records and health checks (global), the topology record they follow, plus the alarm on the
 * primary's health, in us-east-1.
 */
export class FailoverDnsStack extends Stack {
  readonly dns: FailoverDns;
  readonly topology: DatabaseTopology;

  constructor(scope: Construct, id: string, props: FailoverDnsStackProps) {
    super(scope, id, props);
    const { config } = props;
    const names = drNames(config);
    this.topology = new DatabaseTopology(this, 'Topology', {
      parameterNames: topologyParameterNames(config.resourcePrefix),
      writer: {
        region: config.primaryRegion,
        instanceIdentifier: config.database.primaryInstanceIdentifier,
        endpoint: props.primaryEndpoint,
        port: props.primaryPort,
      },
      replica: {
        region: config.secondaryRegion,
        instanceIdentifier: config.database.replicaInstanceIdentifier,
        endpoint: props.replicaEndpoint,
        port: props.replicaPort,
      },
    });
    this.dns = new FailoverDns(this, 'FailoverDns', {
      hostedZoneId: config.hostedZoneId,
      zoneName: config.hostedZoneName,
      recordName: config.recordName,
      ttl: Duration.seconds(config.recordTtlSeconds),
      primary: {
        recordTarget: this.topology.recordTarget('primary'),
        alarmName: names.alarms.unreachable('primary', config.healthCheck.alarmEvaluationPeriods),
        alarmRegion: config.primaryRegion,
      },
      primaryRemote: {
        alarmName: names.alarms.unreachable(
          'primary-remote',
          config.healthCheck.remoteAlarmEvaluationPeriods,
        ),
        alarmRegion: config.secondaryRegion,
      },
      secondary: {
        recordTarget: this.topology.recordTarget('secondary'),
        alarmName: names.alarms.unreachable('replica', config.healthCheck.alarmEvaluationPeriods),
        alarmRegion: config.secondaryRegion,
      },
      ...(config.sidecarHealthUrl === undefined
        ? {}
        : {
            sidecar: {
              url: config.sidecarHealthUrl,
              requestInterval: Duration.seconds(config.healthCheck.requestIntervalSeconds),
              failureThreshold: config.healthCheck.failureThreshold,
            },
          }),
      ...(config.drill.record === 'separate' ? { drillRecordName: config.drill.recordName } : {}),
    });
    this.dns.node.addDependency(this.topology);
    new PagingAlarm(this, 'PrimaryHealthCheckUnhealthy', {
      topic: props.onCallTopic,
      alarmName: names.alarms.primaryHealthCheckUnhealthy,
      alarmDescription:
        `Route 53 considers PRIMARY unhealthy: ${config.recordName} is answering the read-only replica. Writes ` +
        'fail until the primary recovers or the replica is promoted. First: dr status, then dr doctor (which ' +
        'observer calls it unhealthy). A known blip: dr hold. The region lost: dr failover (it measures the ' +
        'data-loss window and pages; dr failover approve then promotes the replica, retires the old writer if ' +
        'it answers, and points both records at the new writer). Runbook: docs/runbooks.md, Primary unhealthy.',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Route53',
        metricName: 'HealthCheckStatus',
        // The record's own (CALCULATED) check: whichever child turns it unhealthy, this pages.
        dimensionsMap: { HealthCheckId: this.dns.primaryRecordHealthCheck.healthCheckId },
        statistic: cloudwatch.Stats.MINIMUM,
        period: Duration.minutes(1),
      }),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      threshold: 1,
      evaluationPeriods: 1,
      // A held (disabled) CALCULATED check stops aggregating and may stop reporting: silence must not page
      // "answering the replica" during a hold. dr doctor reports a check with no status.
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
    });
    // What dr hold, dr doctor and on-call look up: the health checks by role.
    const output = (id: string, check: { healthCheckId: string } | undefined, description: string) => {
      if (check !== undefined) new CfnOutput(this, id, { value: check.healthCheckId, description });
    };
    output(
      'PrimaryRecordHealthCheckId',
      this.dns.primaryRecordHealthCheck,
      'PRIMARY record check (dr hold disables it)',
    );
    output(
      'PrimaryDatabaseHealthCheckId',
      this.dns.primaryDatabaseHealthCheck,
      'Primary, probed in its own region',
    );
    output(
      'PrimaryRemoteHealthCheckId',
      this.dns.primaryRemoteHealthCheck,
      'Primary, probed from the secondary region',
    );
    output(
      'SecondaryDatabaseHealthCheckId',
      this.dns.secondaryDatabaseHealthCheck,
      'Replica, probed in its region',
    );
    output('SidecarHealthCheckId', this.dns.sidecarHealthCheck, 'Application sidecar (HTTPS)');
    output(
      'DrillRecordHealthCheckId',
      this.dns.drillRecordHealthCheck,
      'Drill record check (the drill inverts it)',
    );
  }
}
