import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  DATABASE_DIMENSION,
  HEALTH_PROBE_NAMESPACE,
  HEALTH_PROBE_SERVICE,
  REACHABLE_METRIC,
  type DatabaseRole,
} from '../../lambdas/health-probe/metric';
import type { DrConfig } from '../config';
import { acknowledgeLambdaBaseline, acknowledgeNistFinding } from '../nag';
import { LAMBDA_BUNDLING, lambdaEntry, NODE_RUNTIME, recordEntry } from './lambda-packaging';
import type { RegionalNetwork } from './regional-network';
import { grantSecretDecrypt, grantSecretRead } from './secret-access';

export interface HealthProbeProps {
  readonly network: RegionalNetwork;
  readonly role: DatabaseRole;
  /** The database to probe; the probe's security group is allowed into it. */
  readonly database: { readonly connections: ec2.IConnectable; readonly host: string; readonly port: number };
  readonly databaseName: string;
  /** Name of the master secret; in the secondary region the same name resolves to its replica. */
  readonly secretName: string;
  /** Key that encrypts the secret (or its replica) in this region. */
  readonly secretKey: kms.IKey;
  readonly settings: DrConfig['healthCheck'];
  /** Physical alarm name: Route 53 health checks refer to alarms by name and region. */
  readonly alarmName: string;
  /** When set, the unreachable alarm also pages on-call (topic in this region). */
  readonly onCallTopic?: sns.ITopic;
}

/**
 * Probes one database from inside its VPC several times a minute and alarms when it stops answering. The alarm
 * is what the database's Route 53 health check follows (Route 53's own checkers cannot reach private subnets).
 */
export class HealthProbe extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly reachableMetric: cloudwatch.Metric;
  readonly unreachableAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: HealthProbeProps) {
    super(scope, id);
    const { settings } = props;
    const rounds = 60 / settings.probeIntervalSeconds;

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.network.vpc,
      description: `Health probe of the ${props.role} database`,
      allowAllOutbound: false,
    });
    securityGroup.addEgressRule(
      ec2.Peer.ipv4(props.network.cidr),
      ec2.Port.tcp(443),
      'Secrets Manager endpoint',
    );
    props.database.connections.connections.allowFrom(
      securityGroup,
      ec2.Port.tcp(props.database.port),
      `${props.role} health probe`,
    );
    securityGroup.addEgressRule(
      ec2.Peer.ipv4(props.network.cidr),
      ec2.Port.tcp(props.database.port),
      `PostgreSQL ${props.role}`,
    );

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: `Probes the ${props.role} PostgreSQL database every ${settings.probeIntervalSeconds} s`,
      entry: lambdaEntry('health-probe', 'handler.ts'),
      handler: 'handler',
      runtime: NODE_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // One invocation covers a minute of rounds; the schedule starts the next one.
      timeout: Duration.seconds(60),
      vpc: props.network.vpc,
      vpcSubnets: props.network.computeSubnets,
      securityGroups: [securityGroup],
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        DB_HOST: props.database.host,
        DB_PORT: String(props.database.port),
        DB_NAME: props.databaseName,
        DB_SECRET_ID: props.secretName,
        DB_ROLE: props.role,
        PROBE_ROUNDS: String(rounds),
        PROBE_INTERVAL_MS: String(settings.probeIntervalSeconds * 1000),
        PROBE_TIMEOUT_MS: String(settings.probeTimeoutSeconds * 1000),
        // Node 20+ runtimes no longer trust the Amazon RDS CAs by default; this bundle ships in the runtime.
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
        POWERTOOLS_SERVICE_NAME: HEALTH_PROBE_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: HEALTH_PROBE_NAMESPACE,
      },
      bundling: LAMBDA_BUNDLING,
    });
    recordEntry(this.function, 'health-probe', 'handler.ts');
    grantSecretRead(this.function, props.secretName);
    grantSecretDecrypt(this.function, [props.secretKey]);

    if (this.function.role !== undefined) acknowledgeLambdaBaseline(this.function.role, { inVpc: true });

    new events.Rule(this, 'Schedule', {
      description: `Starts a minute of ${props.role} database probes`,
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [
        new targets.LambdaFunction(this.function, { retryAttempts: 0, maxEventAge: Duration.minutes(1) }),
      ],
    });

    this.reachableMetric = new cloudwatch.Metric({
      namespace: HEALTH_PROBE_NAMESPACE,
      metricName: REACHABLE_METRIC,
      dimensionsMap: { service: HEALTH_PROBE_SERVICE, [DATABASE_DIMENSION]: props.role },
      statistic: cloudwatch.Stats.MINIMUM,
      period: Duration.minutes(1),
    });
    this.unreachableAlarm = new cloudwatch.Alarm(this, 'Unreachable', {
      alarmName: props.alarmName,
      alarmDescription:
        `The ${props.role} PostgreSQL database did not answer a probe from inside its VPC. ` +
        'Drives the Route 53 health check of its failover record.',
      metric: this.reachableMetric,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      threshold: 1,
      evaluationPeriods: settings.alarmEvaluationPeriods,
      datapointsToAlarm: settings.alarmEvaluationPeriods,
      // No probe data means the probe (or the region) is down: count it as unreachable, never as healthy.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    if (props.onCallTopic !== undefined) {
      this.unreachableAlarm.addAlarmAction(new actions.SnsAction(props.onCallTopic));
      this.unreachableAlarm.addOkAction(new actions.SnsAction(props.onCallTopic));
    } else {
      acknowledgeNistFinding(
        this.unreachableAlarm,
        'CloudWatchAlarmAction',
        'This alarm feeds the Route 53 health check; on-call is paged by the alarm on that health check in us-east-1.',
      );
    }
  }
}
