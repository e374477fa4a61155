import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RDS_INSTANCE_IDENTIFIER } from '../../lambdas/shared/patterns';
import {
  METRICS_NAMESPACE,
  RESTORE_TEST_METRIC_DIMENSIONS,
  RESTORE_TEST_METRICS,
} from '../../lambdas/shared/metric-names';
import { RESTORE_TEST_ROLE, restoreTestNamePrefix } from '../../lambdas/shared/provisioning-tags';
import { acknowledgeNagFinding } from '../nag';
import { pagerAbove } from './paging-alarm';
import type { RegionalNetwork } from './regional-network';
import { grantSecretDecrypt, grantSecretRead, grantSecretsUnderPrefix } from './secret-access';
import { stepLambda } from './step-lambda';
import { grantTopologyRead, type TopologyLocation } from './topology-access';
import { failedExecutions, workflowStateMachine } from './workflow-state-machine';

/** Its ASL file under statemachines/. */
export const RESTORE_TEST_DEFINITION = 'restore-test.asl.json';

export interface BackupRestoreTestProps {
  readonly network: RegionalNetwork;
  /** Where the throwaway instance goes: the DR replica's subnet group, security group and parameter group. */
  readonly placement: {
    readonly subnetGroupName: string;
    readonly securityGroup: ec2.ISecurityGroup;
    readonly parameterGroupName: string;
  };
  /** The DR region's data key: the replicated backups are encrypted with it, and so is the restored copy. */
  readonly dataKey: kms.IKey;
  /** Keys of the secrets the check reads (this region's replicas of them). */
  readonly secretKeys: readonly kms.IKey[];
  readonly database: {
    readonly port: number;
    readonly databaseName: string;
    readonly secretName: string;
    /** A writer a cutover made is opened by its own secret, under this prefix. */
    readonly secretNamePrefix: string;
  };
  readonly topology: TopologyLocation;
  readonly resourcePrefix: string;
  /**
   * The names a writer of the DR region can have (the promoted DR replica, the replicas re-protect names): a
   * test after a failover restores such a writer's own backups, by its resource id.
   */
  readonly drWriterNames: readonly string[];
  readonly onCallTopic: sns.ITopic;
  readonly stateMachineName: string;
  readonly schedule: { readonly ruleName: string; readonly expression: string };
  readonly staleAfterDays: number;
  readonly maxBackupAgeMinutes: number;
  readonly alarmNames: {
    readonly failed: string;
    readonly stale: string;
    readonly backupStale: string;
    readonly statusUnknown: string;
    readonly instanceLeft: string;
  };
}

/** A restore-test figure as CloudWatch has it. */
export function restoreTestMetric(metricName: string, period = Duration.hours(1)): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { ...RESTORE_TEST_METRIC_DIMENSIONS },
    statistic: cloudwatch.Stats.MAXIMUM,
    period,
  });
}

/**
 * The monthly proof that the physical backups restore, in the DR region: a state machine that restores the
 * writer's latest backup there into a throwaway instance, checks it from inside the VPC, measures the restore
 * and deletes the instance on every path; an hourly status that publishes the age of the newest restorable
 * point and the hours since a test last passed; and the alarms that page on a failed test, on no passing test
 * for `staleAfterDays`, and on a backup older than `maxBackupAgeMinutes`.
 */
export class BackupRestoreTest extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly restoreSteps: nodejs.NodejsFunction;
  readonly check: nodejs.NodejsFunction;
  readonly status: nodejs.NodejsFunction;
  readonly throwawaySecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: BackupRestoreTestProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const sample = `${restoreTestNamePrefix(props.resourcePrefix)}20260101t0000-000000`;
    if (!RDS_INSTANCE_IDENTIFIER.test(sample))
      throw new Error(
        `resourcePrefix ${props.resourcePrefix}: the restore test's throwaway instances would be named like ${sample}, which RDS refuses (no trailing or double hyphen)`,
      );
    const checkSecurityGroup = new ec2.SecurityGroup(this, 'CheckSecurityGroup', {
      vpc: props.network.vpc,
      description: 'Restore test check: the throwaway instance and the live copy of its source',
      allowAllOutbound: false,
    });
    // The throwaway is a writable copy of production opened by the master secret: only the check reaches it.
    this.throwawaySecurityGroup = new ec2.SecurityGroup(this, 'ThrowawaySecurityGroup', {
      vpc: props.network.vpc,
      description: 'Restore test throwaway instances: reachable by the restore check only',
      allowAllOutbound: false,
    });
    this.throwawaySecurityGroup.addIngressRule(
      checkSecurityGroup,
      ec2.Port.tcp(props.database.port),
      'restore test check, to the throwaway instance',
    );
    this.restoreSteps = this.restoreStepsFunction(props);
    this.check = this.checkFunction(props, checkSecurityGroup);
    this.stateMachine = workflowStateMachine(this, {
      stateMachineName: props.stateMachineName,
      definitionFile: RESTORE_TEST_DEFINITION,
      functions: { RestoreTest: this.restoreSteps, RestoreCheck: this.check },
      onCallTopic: props.onCallTopic,
    });
    const stateMachineArn = `arn:${stack.partition}:states:${stack.region}:${stack.account}:stateMachine:${props.stateMachineName}`;
    this.status = stepLambda(this, 'Status', {
      entry: ['restore-test', 'status-handler.ts'],
      handler: 'handler',
      description:
        'Backups: delete the throwaways of ended restore tests; publish the backup age and the last passed test (hourly)',
      timeout: Duration.seconds(60),
      memorySize: 256,
      service: 'dr-restore-test',
      environment: { RESTORE_TEST_STATE_MACHINE_ARN: stateMachineArn, RESTORE_REGION: stack.region },
    });
    grantTopologyRead(this.status, props.topology);
    this.status.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:ListExecutions', 'states:DescribeStateMachine'],
        resources: [stateMachineArn],
      }),
    );
    this.status.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['rds:DescribeDBInstanceAutomatedBackups'], resources: ['*'] }),
    );
    acknowledgeNagFinding(
      this.status.role as iam.IRole,
      'AwsSolutions-IAM5[Resource::*]',
      'DescribeDBInstanceAutomatedBackups is authorized against the backups of any instance it lists: read-only.',
    );
    this.allowThrowawayCleanup(this.status, props);

    new events.Rule(this, 'Schedule', {
      ruleName: props.schedule.ruleName,
      description: 'Starts the restore test of the physical backups in the DR region (UTC)',
      schedule: events.Schedule.expression(props.schedule.expression),
      targets: [
        new targets.SfnStateMachine(this.stateMachine, { retryAttempts: 2, maxEventAge: Duration.hours(1) }),
      ],
    });
    new events.Rule(this, 'StatusSchedule', {
      description: 'Publishes the age of the newest restorable backup and of the last passed restore test',
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(this.status, { retryAttempts: 2 })],
    });
    this.pagingAlarms(props);
  }

  /** Start, follow and conclude: RDS in this region, the topology, nothing in the VPC. */
  private restoreStepsFunction(props: BackupRestoreTestProps): nodejs.NodejsFunction {
    const stack = Stack.of(this);
    const fn = stepLambda(this, 'RestoreSteps', {
      entry: ['restore-test', 'handler.ts'],
      handler: 'handler',
      description: 'Restore test: restore the latest backup into a throwaway instance, follow it, delete it',
      timeout: Duration.seconds(30),
      memorySize: 256,
      service: 'dr-restore-test',
      environment: {
        RESTORE_REGION: stack.region,
        RESTORE_SUBNET_GROUP: props.placement.subnetGroupName,
        RESTORE_SECURITY_GROUP_IDS: this.throwawaySecurityGroup.securityGroupId,
        RESTORE_PARAMETER_GROUP: props.placement.parameterGroupName,
        DATABASE_PORT: String(props.database.port),
        MASTER_SECRET_NAME: props.database.secretName,
      },
    });
    grantTopologyRead(fn, props.topology);
    const rds = (type: string, name: string) =>
      `arn:${stack.partition}:rds:${stack.region}:${stack.account}:${type}:${name}`;
    const throwaway = rds('db', `${restoreTestNamePrefix(props.resourcePrefix)}*`);
    const tagged = { [`aws:RequestTag/${RESTORE_TEST_ROLE.key}`]: RESTORE_TEST_ROLE.value };
    for (const statement of [
      { actions: ['rds:DescribeDBInstanceAutomatedBackups'], resources: ['*'] },
      // Restoring: only into a throwaway name, only with the throwaway tag, only from a backup of this account.
      {
        actions: ['rds:RestoreDBInstanceToPointInTime'],
        resources: [
          throwaway,
          rds('auto-backup', '*'),
          ...props.drWriterNames.map((name) => rds('db', name)),
          rds('subgrp', props.placement.subnetGroupName),
          rds('pg', props.placement.parameterGroupName),
          rds('og', '*'),
        ],
        conditions: { StringEquals: tagged },
      },
      { actions: ['rds:AddTagsToResource'], resources: [throwaway], conditions: { StringEquals: tagged } },
    ])
      fn.addToRolePolicy(new iam.PolicyStatement(statement));
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:DescribeKey'],
        resources: [props.dataKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `rds.${stack.region}.amazonaws.com` } },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:CreateGrant'],
        resources: [props.dataKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `rds.${stack.region}.amazonaws.com` },
          Bool: { 'kms:GrantIsForAWSResource': 'true' },
        },
      }),
    );
    this.allowThrowawayCleanup(fn, props);
    for (const [finding, reason] of [
      ...props.drWriterNames
        .filter((name) => name.endsWith('*'))
        .map(
          (name) =>
            [
              `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:${stack.region}:${stack.account}:db:${name}]`,
              'The replicas re-protect makes are named per generation; a restore is authorized against a writer of this region as its source, only with the throwaway tag on the request.',
            ] as const,
        ),
      [
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:${stack.region}:${stack.account}:auto-backup:*]`,
        'The replicated automated backups are named by RDS at run time; a restore from one needs the throwaway tag on the request.',
      ],
      [
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:${stack.region}:${stack.account}:og:*]`,
        'A restore keeps the source option group (PostgreSQL has only the default one), named by RDS.',
      ],
      [
        'AwsSolutions-IAM5[Resource::*]',
        'DescribeDBInstanceAutomatedBackups is authorized against the backups of any instance it lists: read-only.',
      ],
    ] as const)
      acknowledgeNagFinding(fn.role as iam.IRole, finding, reason);
    return fn;
  }

  /**
   * Listing the region's instances and deleting a throwaway: only an instance of the throwaway name that
   * carries the throwaway tag (the workflow's own, and the hourly sweep of ended tests').
   */
  private allowThrowawayCleanup(fn: nodejs.NodejsFunction, props: BackupRestoreTestProps): void {
    const stack = Stack.of(this);
    const db = (name: string) => `arn:${stack.partition}:rds:${stack.region}:${stack.account}:db:${name}`;
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['rds:DescribeDBInstances'], resources: [db('*')] }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['rds:DeleteDBInstance'],
        resources: [db(`${restoreTestNamePrefix(props.resourcePrefix)}*`)],
        conditions: {
          StringEquals: { [`aws:ResourceTag/${RESTORE_TEST_ROLE.key}`]: RESTORE_TEST_ROLE.value },
        },
      }),
    );
    for (const [finding, reason] of [
      [
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:${stack.region}:${stack.account}:db:${restoreTestNamePrefix(props.resourcePrefix)}*]`,
        'The throwaway instances are named per test (<prefix>-restore-test-<minute>-<execution>); restoring and tagging need the throwaway tag on the request, deleting needs it on the instance.',
      ],
      [
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:${stack.region}:${stack.account}:db:*]`,
        'DescribeDBInstances only: the sweep lists the instances of the region to find the throwaways (read-only).',
      ],
    ] as const)
      acknowledgeNagFinding(fn.role as iam.IRole, finding, reason);
  }

  /** The check, in the VPC: it reaches the throwaway instance and the live copy it compares with. */
  private checkFunction(
    props: BackupRestoreTestProps,
    securityGroup: ec2.SecurityGroup,
  ): nodejs.NodejsFunction {
    securityGroup.addEgressRule(
      ec2.Peer.ipv4(props.network.cidr),
      ec2.Port.tcp(443),
      'Secrets Manager endpoint',
    );
    securityGroup.addEgressRule(
      ec2.Peer.ipv4(props.network.cidr),
      ec2.Port.tcp(props.database.port),
      'PostgreSQL in this region (the throwaway instance, the replica or writer it compares with)',
    );
    // The live copy it compares with: the DR replica (or the writer of this region after a failover).
    props.placement.securityGroup.connections.allowFrom(
      securityGroup,
      ec2.Port.tcp(props.database.port),
      'restore test check',
    );
    const fn = stepLambda(this, 'Check', {
      entry: ['restore-test', 'check-handler.ts'],
      handler: 'handler',
      description: 'Restore test: check the restored instance (connects, migrations, rows, smoke query)',
      timeout: Duration.minutes(15),
      memorySize: 512,
      service: 'dr-restore-test',
      vpc: { vpc: props.network.vpc, subnets: props.network.computeSubnets, securityGroup },
      environment: { DATABASE_NAME: props.database.databaseName },
    });
    grantSecretRead(fn, props.database.secretName);
    grantSecretsUnderPrefix(
      fn,
      props.database.secretNamePrefix,
      'The writer the topology names is known only at run time (a cutover makes green, opened by its own secret, the writer); its restored copy opens with the same secret.',
    );
    grantSecretDecrypt(fn, props.secretKeys);
    return fn;
  }

  private pagingAlarms(props: BackupRestoreTestProps): void {
    const page = pagerAbove(this, props.onCallTopic);
    page(
      'Failed',
      props.alarmNames.failed,
      'A restore test of the physical backups in the DR region failed, timed out or was stopped: a restore ' +
        'from backup is unproven. The execution says which step (no backup, the restore, a check); its throwaway ' +
        'instance was deleted, or the next test deletes it. First: dr backups. Runbook: docs/runbooks.md, ' +
        'Restore test failed.',
      failedExecutions(this.stateMachine, 'Failed, timed-out or aborted restore tests', Duration.minutes(5)),
      0,
    );
    page(
      'Stale',
      props.alarmNames.stale,
      `No restore test has passed for ${props.staleAfterDays} days (or since it was deployed): a restore from ` +
        'backup is unproven. First: dr backups, then dr backups restore-test. Runbook: docs/runbooks.md, ' +
        'Restore test failed.',
      restoreTestMetric(RESTORE_TEST_METRICS.hoursSinceSuccess),
      props.staleAfterDays * 24,
    );
    page(
      'BackupStale',
      props.alarmNames.backupStale,
      `The writer's newest restorable point in the DR region is more than ${props.maxBackupAgeMinutes} minutes ` +
        'old (or unknown): a restore there would lose more than that. First: dr backups (is replication on for ' +
        'the writer the topology names?). Runbook: docs/runbooks.md, Backups stale.',
      restoreTestMetric(RESTORE_TEST_METRICS.backupAge),
      props.maxBackupAgeMinutes * 60,
      { evaluationPeriods: 2, datapointsToAlarm: 2, treatMissingData: cloudwatch.TreatMissingData.BREACHING },
    );
    page(
      'InstanceLeft',
      props.alarmNames.instanceLeft,
      'A restore test throwaway instance of an ended test could not be deleted for 3 hours: a copy of production ' +
        'runs (and costs) in the DR region. First: dr backups (it lists it). Runbook: docs/runbooks.md, Restore ' +
        'test failed.',
      restoreTestMetric(RESTORE_TEST_METRICS.throwawaysLeft),
      0,
      { evaluationPeriods: 3, datapointsToAlarm: 3 },
    );
    page(
      'StatusUnknown',
      props.alarmNames.statusUnknown,
      'The hourly backup status has failed for 3 hours: the backup and restore-test age alarms see nothing. ' +
        'First: the status function logs (aws logs tail for its log group). Runbook: docs/runbooks.md, Backups stale.',
      this.status.metricErrors({ statistic: 'Sum', period: Duration.hours(1) }),
      0,
      { evaluationPeriods: 3, datapointsToAlarm: 3 },
    );
  }
}
