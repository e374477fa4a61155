import { Arn, ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { STEPS_SERVICE } from '../../lambdas/shared/metric-names';
import { grantTopologyRead } from './topology-access';
import { failoverSetIdentifier, stateMachineArnIn } from '../names';
import { acknowledgeNagFinding } from '../nag';
import { drillScheduleReferences, grantDrillSchedulePause } from './drill-schedule-pause';
import { PagingAlarm } from './paging-alarm';
import type { RegionalNetwork } from './regional-network';
import { grantSecretDecrypt } from './secret-access';
import { stepLambda } from './step-lambda';
import { failedExecutions, workflowStateMachine } from './workflow-state-machine';

/** Its ASL file under statemachines/. */
export const REGION_FAILOVER_DEFINITION = 'region-failover.asl.json';

export interface RegionFailoverProps {
  /** The orchestration region's network: the database step runs in it (it reaches both regions' databases). */
  readonly network: RegionalNetwork;
  readonly toolingSecurityGroup: ec2.ISecurityGroup;
  /** Opens a topology member that names no secret of its own. */
  readonly masterSecretName: string;
  /** Members may name their own secrets (a cut-over green's): only those under this prefix can be read. */
  readonly secretNamePrefix: string;
  readonly secretKeys: readonly kms.IKey[];
  /** The two regions: the replica promoted is in one of them. */
  readonly regions: readonly [string, string];
  readonly account: string;
  /** Where the topology record lives and the prefix of its parameters. */
  readonly topology: { readonly region: string; readonly resourcePrefix: string };
  /** The topology step (records the failover) and the DNS flip (points both records at the new writer). */
  readonly topologyStep: lambda.IFunction;
  readonly dnsFlip: lambda.IFunction;
  readonly hostedZoneId: string;
  readonly recordName: string;
  readonly limits: { readonly maxBytesBehind: number; readonly maxSecondsSinceLastReplay: number };
  /** The promoted writer's automated backups (the replica has none). */
  readonly backupRetentionDays: number;
  /** Workflows a failover must not race: the drill, the migration, the DR rebuild. */
  readonly exclusiveWith: {
    readonly drillStateMachineArn: string;
    readonly blueGreenStateMachineArn: string;
    readonly drRebuildStateMachineArn: string;
    readonly migrationSafetyNetStateMachineArn: string;
  };
  /** The weekly drill's schedule: paused by a failover, until a failback. */
  readonly drillScheduleRuleName: string;
  readonly onCallTopic: sns.ITopic;
  readonly stateMachineName: string;
  readonly approvalActivityName: string;
  readonly alarmName: string;
}

/**
 * The region failover (statemachines/region-failover.asl.json): preflight, a person's approval (an activity
 * task `dr failover approve` answers) unless started approved, retire the former writer if it answers, promote
 * the writer's replica, open it, record the topology, point both records at it. Its steps are the only
 * principals of the app that may promote an instance; the state machine is the only one that may pause the
 * drill's schedule.
 */
export class RegionFailover extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly approvalActivity: sfn.Activity;
  /** `plan` and `promote` (outside the VPC) and `measure`, `retire`, `open` (in it). */
  readonly functions: { readonly control: nodejs.NodejsFunction; readonly database: nodejs.NodejsFunction };

  constructor(scope: Construct, id: string, props: RegionFailoverProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { control, database } = this.makeSteps(props);
    this.functions = { control, database };
    const ownArn = this.ownArn(props);

    this.approvalActivity = new sfn.Activity(this, 'Approval', { activityName: props.approvalActivityName });

    this.stateMachine = workflowStateMachine(this, {
      stateMachineName: props.stateMachineName,
      definitionFile: REGION_FAILOVER_DEFINITION,
      functions: {
        FailoverControl: control,
        FailoverDatabase: database,
        Topology: props.topologyStep,
        DnsFlip: props.dnsFlip,
      },
      references: {
        ApprovalActivityArn: this.approvalActivity.activityArn,
        MasterSecretId: props.masterSecretName,
        MaxBytesBehind: String(props.limits.maxBytesBehind),
        MaxSecondsSinceLastReplay: String(props.limits.maxSecondsSinceLastReplay),
        BackupRetentionDays: String(props.backupRetentionDays),
        FailoverDrillStateMachineArn: props.exclusiveWith.drillStateMachineArn,
        BlueGreenStateMachineArn: props.exclusiveWith.blueGreenStateMachineArn,
        DrRebuildStateMachineArn: props.exclusiveWith.drRebuildStateMachineArn,
        MigrationSafetyNetStateMachineArn: props.exclusiveWith.migrationSafetyNetStateMachineArn,
        RegionFailoverStateMachineArn: ownArn,
        ...drillScheduleReferences(stack, props.drillScheduleRuleName),
        HostedZoneId: props.hostedZoneId,
        RecordName: props.recordName,
        PrimarySetIdentifier: failoverSetIdentifier(props.recordName, 'primary'),
        SecondarySetIdentifier: failoverSetIdentifier(props.recordName, 'secondary'),
      },
      onCallTopic: props.onCallTopic,
    });
    // A failover pauses the weekly drill (its schedule, marked as paused by it), and nothing else of EventBridge.
    grantDrillSchedulePause(this.stateMachine, props.drillScheduleRuleName);

    new PagingAlarm(this, 'FailoverFailed', {
      topic: props.onCallTopic,
      alarmName: props.alarmName,
      alarmDescription:
        'A region failover failed, timed out or was stopped. Its last notification says what changed (nothing, ' +
        'the promotion, the topology, DNS) and what to do. First: dr status (the topology and DNS now). Runbook: ' +
        'docs/runbooks.md, Region failover failed.',
      metric: failedExecutions(
        this.stateMachine,
        'Failed, timed-out or aborted region failovers',
        Duration.minutes(5),
      ),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  private ownArn(props: RegionFailoverProps): string {
    return stateMachineArnIn(Stack.of(this), props.stateMachineName);
  }

  /** The two step functions, each with only what its modes call. */
  private makeSteps(props: RegionFailoverProps): {
    control: nodejs.NodejsFunction;
    database: nodejs.NodejsFunction;
  } {
    const stack = Stack.of(this);
    const control = stepLambda(this, 'failoverControl', {
      entry: ['failover', 'control-handler.ts'],
      handler: 'handler',
      description:
        'Region failover step: refuse while other workflows run, read the topology, promote the replica (rounds)',
      timeout: Duration.seconds(60),
      memorySize: 256,
      service: STEPS_SERVICE,
    });
    // An adopted restored instance is looked for in these regions only (control-handler.ts).
    control.addEnvironment('DR_REGIONS', props.regions.join(','));
    const database = stepLambda(this, 'failoverDatabase', {
      entry: ['failover', 'database-handler.ts'],
      handler: 'handler',
      description:
        'Region failover step: measure the data-loss window, retire the former writer, open the promoted one',
      timeout: Duration.seconds(90),
      memorySize: 256,
      service: STEPS_SERVICE,
      vpc: {
        vpc: props.network.vpc,
        subnets: props.network.computeSubnets,
        securityGroup: props.toolingSecurityGroup,
      },
    });

    // The database step opens the members: the master secret, or a member's own under the prefix.
    const secretArn = (resourceName: string) =>
      Arn.format(
        {
          service: 'secretsmanager',
          resource: 'secret',
          resourceName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        },
        stack,
      );
    database.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretArn(`${props.masterSecretName}-??????`), secretArn(`${props.secretNamePrefix}*`)],
      }),
    );
    grantSecretDecrypt(database, props.secretKeys);
    if (database.role !== undefined)
      acknowledgeNagFinding(
        database.role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${stack.region}:${stack.account}:secret:${props.secretNamePrefix}*]`,
        'A topology member may be opened by its own secret (a cut-over green), named at run time; only secrets ' +
          `named under ${props.secretNamePrefix} can be read, as for the blue-green steps.`,
      );

    // The control step: the topology (read only), the running executions, and the promotion.
    grantTopologyRead(control, props.topology);
    const ownArn = this.ownArn(props);
    const exclusive = [
      props.exclusiveWith.drillStateMachineArn,
      props.exclusiveWith.blueGreenStateMachineArn,
      props.exclusiveWith.drRebuildStateMachineArn,
      props.exclusiveWith.migrationSafetyNetStateMachineArn,
      ownArn,
    ];
    control.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:ListExecutions'], resources: exclusive }),
    );
    const dbArns = props.regions.map(
      (region) => `arn:${stack.partition}:rds:${region}:${props.account}:db:*`,
    );
    control.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['rds:DescribeDBInstances', 'rds:PromoteReadReplica'],
        resources: dbArns,
      }),
    );
    if (control.role !== undefined)
      for (const region of props.regions)
        acknowledgeNagFinding(
          control.role,
          `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:${region}:${props.account}:db:*]`,
          'The replica to promote is the one the topology names at run time (a rebuilt replica has a new ' +
            'identifier), as is a restored instance to adopt (described, never changed); only this step of the ' +
            'app may promote, and only instances of the two DR regions.',
        );

    return { control, database };
  }
}
