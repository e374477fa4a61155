import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
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
  PROBE_ERRORS_METRIC,
  REACHABLE_METRIC,
  type DatabaseRole,
} from '../../lambdas/health-probe/metric';
import type { DrConfig } from '../config';
import { acknowledgeLambdaBaseline, acknowledgeNistFinding } from '../nag';
import { LAMBDA_BUNDLING, lambdaEntry, NODE_RUNTIME, recordEntry } from './lambda-packaging';
import { pageOnCall } from './paging-alarm';
import type { DatabaseNetwork } from './regional-network';
import { grantSecretDecrypt, grantSecretRead, grantSecretsUnderPrefix } from './secret-access';

export interface HealthProbeProps {
  readonly network: DatabaseNetwork;
  readonly role: DatabaseRole;
  /** Its function's physical name: the topology sync (TopologySync) changes what it watches by this name. */
  readonly functionName: string;
  /**
   * What it probes when first deployed. The topology sync then points it at what the topology says, which may
   * be in either region: it may connect to this VPC and to the peered one (`peerCidr`, whose databases admit
   * this region's CIDR), and the databases of this region in `admittedBy` let its security group in.
   */
  readonly database: {
    readonly host: string;
    readonly port: number;
  };
  readonly admittedBy: readonly ec2.IConnectable[];
  readonly peerCidr: string;
  readonly databaseName: string;
  /** Name of the master secret; in the secondary region the same name resolves to its replica. */
  readonly secretName: string;
  /**
   * A writer the topology names may be opened by its own secret (a cutover's green, under the blue-green
   * prefix): the probe may read those too, in its own region.
   */
  readonly secretNamePrefix: string;
  /** Keys that encrypt those secrets (or their replicas) in this region. */
  readonly secretKeys: readonly kms.IKey[];
  readonly settings: DrConfig['healthCheck'];
  /** Consecutive minutes in which most probes must fail (N of N) before the database counts as down. */
  readonly evaluationPeriods: number;
  /** Physical alarm names: Route 53 health checks refer to the unreachable alarm by name and region. */
  readonly alarmNames: { readonly unreachable: string; readonly blind: string; readonly errors: string };
  /** On-call topic in this region: the blind and probe-error alarms page it. */
  readonly onCallTopic: sns.ITopic;
  /** Whether the unreachable alarm itself pages too (the primary's is paged through its Route 53 check). */
  readonly pageWhenUnreachable: boolean;
}

/**
 * Probes one database from inside its VPC several times a minute and alarms when it stops answering. The alarm
 * is what the database's Route 53 health check follows (Route 53's own checkers cannot reach private subnets).
 */
export class HealthProbe extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly securityGroup: ec2.SecurityGroup;
  readonly reachableMetric: cloudwatch.Metric;
  readonly unreachableAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: HealthProbeProps) {
    super(scope, id);
    const { settings } = props;
    const rounds = 60 / settings.probeIntervalSeconds;

    const securityGroup = (this.securityGroup = this.probeSecurityGroup(props));

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      functionName: props.functionName,
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
      // DB_HOST, DB_PORT and DB_SECRET_ID are the first deploy's; the topology sync changes them in place to what
      // the topology says (a deploy that updates the function writes these back until the sync's next run).
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
    grantSecretsUnderPrefix(
      this.function,
      props.secretNamePrefix,
      'The writer the topology names is known only at run time (a cutover makes green, opened by its own secret, the writer)',
    );
    grantSecretDecrypt(this.function, props.secretKeys);

    if (this.function.role !== undefined) acknowledgeLambdaBaseline(this.function.role, { inVpc: true });

    new events.Rule(this, 'Schedule', {
      description: `Starts a minute of ${props.role} database probes`,
      schedule: events.Schedule.rate(Duration.minutes(1)),
      // A dropped or throttled invocation is retried within its minute, not lost (a lost minute is missing
      // data, which the alarm does not count as a failure either).
      targets: [
        new targets.LambdaFunction(this.function, { retryAttempts: 2, maxEventAge: Duration.minutes(1) }),
      ],
    });
    const metric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: HEALTH_PROBE_NAMESPACE,
        metricName,
        dimensionsMap: { service: HEALTH_PROBE_SERVICE, [DATABASE_DIMENSION]: props.role },
        statistic,
        period: Duration.minutes(1),
      });
    // 1 per round the database answered, 0 per round it did not: the Average of a minute is the share of
    // rounds it answered.
    this.reachableMetric = metric(REACHABLE_METRIC, cloudwatch.Stats.AVERAGE);
    this.unreachableAlarm = new cloudwatch.Alarm(this, 'Unreachable', {
      alarmName: props.alarmNames.unreachable,
      alarmDescription:
        `Most probes of the ${props.role} PostgreSQL database failed in each of ${props.evaluationPeriods} ` +
        'consecutive minutes (it did not answer at all, or not in time). Drives the Route 53 health check of its ' +
        'failover record. First: dr status, then dr doctor. Runbook: docs/runbooks.md, Database unreachable.',
      metric: this.reachableMetric,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      threshold: 0.5,
      evaluationPeriods: props.evaluationPeriods,
      datapointsToAlarm: props.evaluationPeriods,
      // No probe data is no verdict for the alarm. Route 53 follows the alarm's data stream, not its state: with
      // no data it applies the health check's InsufficientDataHealthStatus (set per observer in FailoverDns).
      // The blind alarm below pages about the silence.
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
    });
    if (props.pageWhenUnreachable) {
      pageOnCall(this.unreachableAlarm, props.onCallTopic);
    } else {
      acknowledgeNistFinding(
        this.unreachableAlarm,
        'CloudWatchAlarmAction',
        'This alarm feeds the Route 53 health check; on-call is paged by the alarm on the PRIMARY record check in us-east-1.',
      );
    }
    this.pageAboutSilenceAndErrors(props, metric);
  }

  /**
   * May reach Secrets Manager in this VPC and PostgreSQL in both VPCs (the writer the topology names may be in
   * either region); this region's databases in `admittedBy` let it in.
   */
  private probeSecurityGroup(props: HealthProbeProps): ec2.SecurityGroup {
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
    for (const database of props.admittedBy)
      database.connections.allowFrom(
        securityGroup,
        ec2.Port.tcp(props.database.port),
        `${props.role} health probe`,
      );
    for (const [cidr, where] of [
      [props.network.cidr, 'this region'],
      [props.peerCidr, 'the peered region'],
    ] as const)
      securityGroup.addEgressRule(
        ec2.Peer.ipv4(cidr),
        ec2.Port.tcp(props.database.port),
        `PostgreSQL in ${where} (the ${props.role} the topology names)`,
      );
    return securityGroup;
  }

  /** Pages when the probe publishes nothing (blind), or answers but cannot complete (errors). */
  private pageAboutSilenceAndErrors(
    props: HealthProbeProps,
    metric: (metricName: string, statistic: string) => cloudwatch.Metric,
  ): void {
    pageOnCall(
      new cloudwatch.Alarm(this, 'Blind', {
        alarmName: props.alarmNames.blind,
        alarmDescription:
          `The ${props.role} health probe has published nothing for 5 minutes: its Route 53 check now follows its ` +
          "no-data setting (the primary's own region votes unhealthy, the others keep their last status). First: " +
          `aws logs tail /aws/lambda/${props.functionName} (errors, timeouts), then its throttles and schedule. ` +
          'Runbook: docs/runbooks.md, Health probe blind.',
        metric: metric(REACHABLE_METRIC, cloudwatch.Stats.SAMPLE_COUNT),
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        threshold: 1,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      props.onCallTopic,
    );
    pageOnCall(
      new cloudwatch.Alarm(this, 'ProbeErrors', {
        alarmName: props.alarmNames.errors,
        alarmDescription:
          `The ${props.role} database answers, but its probe could not complete for 5 minutes (secret unreadable, ` +
          'password refused, TLS refused). Not a failover: fix the secret, the rotation or the CA. First: aws ' +
          `logs tail /aws/lambda/${props.functionName} (it says which). Runbook: docs/runbooks.md, Health probe errors.`,
        metric: metric(PROBE_ERRORS_METRIC, cloudwatch.Stats.MINIMUM),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        threshold: 1,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      props.onCallTopic,
    );
  }
}
