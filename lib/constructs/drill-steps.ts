import { Duration, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { grantTopologyRead, type TopologyLocation } from './topology-access';
import { DRILL_PROBE_PREFIX, DRILL_SERVICE } from '../../lambdas/shared/metric-names';
import { acknowledgeNagFinding } from '../nag';
import type { RegionalNetwork } from './regional-network';
import { grantSecretDecrypt, grantSecretRead, grantSecretsUnderPrefix } from './secret-access';
import { stepLambda } from './step-lambda';

export interface DrillStepsProps {
  readonly network: RegionalNetwork;
  readonly toolingSecurityGroup: ec2.ISecurityGroup;
  /** The database master secret (its name; the replica in this region has the same name). */
  readonly secretName: string;
  /**
   * The prefix of the secrets a topology member may be opened by (a cut-over green's): the drill drills what
   * the topology names.
   */
  readonly secretNamePrefix: string;
  readonly secretKeys: readonly kms.IKey[];
  /** The one health check the drill may invert and restore. */
  readonly invertHealthCheckId: string;
  /** Child checks the drill may read. */
  readonly watchedHealthCheckIds: readonly string[];
  /** State machines whose running executions the preflight lists; the freshness check reads the drill's. */
  readonly drillStateMachineArn: string;
  readonly migrationStateMachineArn: string;
  readonly regionFailoverStateMachineArn: string;
  readonly backups: {
    readonly sourceBucket: string;
    readonly sourceKey: kms.IKey;
    readonly replicaBucket: string;
  };
  /** The zone of the drilled record: the preflight refuses a private one (TestDNSAnswer cannot read it). */
  readonly hostedZoneId: string;
  /** On-call topic of this region: the safety net tells on-call what it did. */
  readonly onCallTopic: sns.ITopic;
  /** The drill state machine's name: the safety net reads its executions' history. */
  readonly drillStateMachineName: string;
  /** Where the topology lives: the preflight reads the roles to drill there. */
  readonly topology: TopologyLocation;
}

export type DrillStepName = 'preflight' | 'database' | 'healthCheck' | 'observeDns' | 's3Probe' | 'report';

/**
 * The failover drill's Lambda steps, each with only the access it needs: only the health-check step may
 * change a health check, and only the configured one; the database step runs in the VPC and reads only the
 * master secret; the others read Route 53 answers and the configured checks, or write one probe prefix.
 */
/** A Route 53 health check's ARN (global: no region or account). */
const healthCheckArnIn = (stack: Stack, id: string) => `arn:${stack.partition}:route53:::healthcheck/${id}`;

export class DrillSteps extends Construct {
  readonly functions: Record<DrillStepName, nodejs.NodejsFunction>;
  /** Hourly: publishes the hours since the last successful drill. */
  readonly freshness: nodejs.NodejsFunction;
  /** For executions that end FAILED, TIMED_OUT or ABORTED: restores the check if that execution left it inverted. */
  readonly safetyNet: nodejs.NodejsFunction;
  /** The one health check the drill inverts. */
  readonly invertHealthCheckId: string;

  constructor(scope: Construct, id: string, props: DrillStepsProps) {
    super(scope, id);
    this.invertHealthCheckId = props.invertHealthCheckId;
    const stack = Stack.of(this);
    const healthCheckArn = (id: string) => healthCheckArnIn(stack, id);
    const outsideVpc = this.outsideVpc.bind(this);

    const database = stepLambda(this, 'database', {
      entry: ['drill', 'steps', 'database-handler.ts'],
      handler: 'handler',
      description: 'Failover drill: database preflight, heartbeat, and what clients of the record reach',
      timeout: Duration.minutes(11),
      memorySize: 256,
      service: DRILL_SERVICE,
      vpc: {
        vpc: props.network.vpc,
        subnets: props.network.computeSubnets,
        securityGroup: props.toolingSecurityGroup,
      },
    });
    grantSecretRead(database, props.secretName);
    grantSecretsUnderPrefix(
      database,
      props.secretNamePrefix,
      'The drill opens the writer and replica the topology names, which a cutover may have made a green opened by its own secret',
    );
    grantSecretDecrypt(database, props.secretKeys);

    const preflight = outsideVpc(
      'preflight',
      'preflight-handler.ts',
      'Failover drill: validate the input; health checks, DNS answer, nothing else running',
      Duration.minutes(1),
    );
    const healthCheck = outsideVpc(
      'healthCheck',
      'health-check-handler.ts',
      'Failover drill: invert or restore the PRIMARY record health check (never disable)',
      Duration.minutes(2),
    );
    healthCheck.addEnvironment('DRILL_HEALTH_CHECK_IDS', props.invertHealthCheckId);
    healthCheck.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['route53:GetHealthCheck', 'route53:UpdateHealthCheck'],
        resources: [healthCheckArn(props.invertHealthCheckId)],
      }),
    );
    const observeDns = outsideVpc(
      'observeDns',
      'observe-dns-handler.ts',
      'Failover drill: time Route 53 answering the replica, then the primary again (TestDNSAnswer)',
      Duration.minutes(11),
    );
    // Route 53's HealthCheckStatus metric (us-east-1) and TestDNSAnswer: neither has resource-level permissions.
    const readStatus = new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] });
    const testAnswers = new iam.PolicyStatement({ actions: ['route53:TestDNSAnswer'], resources: ['*'] });
    for (const fn of [preflight, observeDns]) {
      fn.addToRolePolicy(readStatus);
      fn.addToRolePolicy(testAnswers);
    }
    // The preflight reads the topology (and nothing else in Parameter Store): roles moved, it refuses.
    grantTopologyRead(preflight, props.topology, ['document', 'healthCheckedWriter']);
    // The preflight refuses a private zone, and a check already inverted or held (disabled) by on-call.
    // ...and a SECONDARY set that does not hold the replica yet (ListResourceRecordSets reads the zone).
    preflight.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['route53:GetHostedZone', 'route53:ListResourceRecordSets'],
        resources: [`arn:${stack.partition}:route53:::hostedzone/${props.hostedZoneId}`],
      }),
    );
    preflight.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['route53:GetHealthCheck'],
        resources: [healthCheckArn(props.invertHealthCheckId)],
      }),
    );
    preflight.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:ListExecutions'],
        resources: [
          props.drillStateMachineArn,
          props.migrationStateMachineArn,
          props.regionFailoverStateMachineArn,
        ],
      }),
    );

    const s3Probe = this.s3ProbeStep(props);
    const report = outsideVpc(
      'report',
      'report-handler.ts',
      'Failover drill: judge the figures against the budgets and publish them as metrics',
      Duration.seconds(30),
    );

    this.freshness = outsideVpc(
      'freshness',
      'freshness-handler.ts',
      'Failover drill: publish the hours since the last successful drill (hourly)',
      Duration.seconds(30),
    );
    this.freshness.addEnvironment('DRILL_STATE_MACHINE_ARN', props.drillStateMachineArn);
    this.freshness.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:ListExecutions', 'states:DescribeStateMachine'],
        resources: [props.drillStateMachineArn],
      }),
    );

    this.safetyNet = this.safetyNetStep(props, healthCheck);
    this.functions = { preflight, database, healthCheck, observeDns, s3Probe, report };
    this.acknowledgeFindings(props, { s3Probe, preflight, observeDns });
  }

  /** A step outside the VPC (it needs the Route 53, CloudWatch, S3 or Step Functions APIs, no database). */
  private outsideVpc(
    name: string,
    entry: string,
    description: string,
    timeout: Duration,
  ): nodejs.NodejsFunction {
    return stepLambda(this, name, {
      entry: ['drill', 'steps', entry],
      handler: 'handler',
      description,
      timeout,
      memorySize: 256,
      service: DRILL_SERVICE,
    });
  }

  /** Puts a probe object under the drill prefix of the source bucket and reads its replica back. */
  private s3ProbeStep(props: DrillStepsProps): nodejs.NodejsFunction {
    const stack = Stack.of(this);
    const s3Probe = this.outsideVpc(
      's3Probe',
      's3-probe-handler.ts',
      'Failover drill: time a probe object replicating to the DR bucket',
      Duration.minutes(15),
    );
    s3Probe.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [`arn:${stack.partition}:s3:::${props.backups.sourceBucket}/${DRILL_PROBE_PREFIX}*`],
      }),
    );
    s3Probe.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [`arn:${stack.partition}:s3:::${props.backups.replicaBucket}/${DRILL_PROBE_PREFIX}*`],
      }),
    );
    // Until the probe has replicated, HeadObject finds nothing: S3 answers 404 only to a caller that may list the
    // bucket, 403 to any other (S3 API reference, HeadObject). A HEAD carries no prefix for a condition to match.
    s3Probe.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [`arn:${stack.partition}:s3:::${props.backups.replicaBucket}`],
      }),
    );
    // The source bucket encrypts with its KMS key: a put needs a data key from it.
    s3Probe.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey'],
        resources: [props.backups.sourceKey.keyArn],
      }),
    );
    return s3Probe;
  }

  /** Restores the health check an abnormally ended drill left inverted, and pages. */
  private safetyNetStep(props: DrillStepsProps, healthCheck: nodejs.NodejsFunction): nodejs.NodejsFunction {
    const stack = Stack.of(this);
    const healthCheckArn = (id: string) => healthCheckArnIn(stack, id);
    const safetyNet = stepLambda(this, 'safetyNet', {
      entry: ['safety-net', 'drill-handler.ts'],
      handler: 'handler',
      description:
        'Failover drill safety net: restores the health check an abnormally ended drill left inverted',
      // Waits out an invert step still running when the execution ended, then restores again.
      timeout: Duration.minutes(5),
      memorySize: 256,
      service: DRILL_SERVICE,
      environment: {
        DRILL_STATE_MACHINE_ARN: props.drillStateMachineArn,
        DRILL_HEALTH_CHECK_IDS: props.invertHealthCheckId,
        ON_CALL_TOPIC_ARN: props.onCallTopic.topicArn,
        INVERT_TIMEOUT_MS: String(healthCheck.timeout?.toMilliseconds() ?? 120_000),
      },
    });
    safetyNet.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:GetExecutionHistory'],
        resources: [
          `arn:${stack.partition}:states:${stack.region}:${stack.account}:execution:${props.drillStateMachineName}:*`,
        ],
      }),
    );
    safetyNet.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:ListExecutions'],
        resources: [props.drillStateMachineArn],
      }),
    );
    safetyNet.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['route53:GetHealthCheck', 'route53:UpdateHealthCheck'],
        resources: [healthCheckArn(props.invertHealthCheckId)],
      }),
    );
    props.onCallTopic.grantPublish(safetyNet);
    return safetyNet;
  }

  /** cdk-nag findings the drill's least-privilege grants leave, each with its reason. */
  private acknowledgeFindings(
    props: DrillStepsProps,
    { s3Probe, preflight, observeDns }: Record<'s3Probe' | 'preflight' | 'observeDns', nodejs.NodejsFunction>,
  ): void {
    const stack = Stack.of(this);
    for (const [fn, finding, reason] of [
      [
        s3Probe,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${props.backups.sourceBucket}/${DRILL_PROBE_PREFIX}*]`,
        'Each drill writes a new probe object, named by time and a random id, under the drill prefix only.',
      ],
      [
        s3Probe,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${props.backups.replicaBucket}/${DRILL_PROBE_PREFIX}*]`,
        'The probe reads back only its own object, under the drill prefix.',
      ],
      [
        preflight,
        'AwsSolutions-IAM5[Resource::*]',
        'cloudwatch:GetMetricData and route53:TestDNSAnswer have no resource-level permissions; both only read.',
      ],
      [
        observeDns,
        'AwsSolutions-IAM5[Resource::*]',
        'cloudwatch:GetMetricData and route53:TestDNSAnswer have no resource-level permissions; both only read.',
      ],
      [
        this.safetyNet,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${stack.region}:${stack.account}:execution:${props.drillStateMachineName}:*]`,
        'The safety net reads the history of whichever drill execution ended; only executions of the drill.',
      ],
      [
        this.safetyNet,
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        "Publishing to the KMS-encrypted on-call topic needs data keys from that topic's key only.",
      ],
    ] as const) {
      if (fn.role !== undefined) acknowledgeNagFinding(fn.role, finding, reason);
    }
  }
}
