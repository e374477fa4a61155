import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { DrDashboard } from '../constructs/dr-dashboard';
import { DrillSteps } from '../constructs/drill-steps';
import type { FailoverDns } from '../constructs/failover-dns';
import { FailoverDrill } from '../constructs/failover-drill';
import { drillInput } from '../drill-input';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { DrConfig } from '../config';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { BlueGreenSteps, type ReplicaPlacements } from '../constructs/blue-green-steps';
import { BlueGreenWorkflow } from '../constructs/blue-green-workflow';
import { DrRebuildWorkflow } from '../constructs/dr-rebuild-workflow';
import { BlueRetirementWorkflow } from '../constructs/blue-retirement-workflow';
import { GreenProvisioningWorkflow } from '../constructs/green-provisioning-workflow';
import { MigrationSafetyNet } from '../constructs/migration-safety-net';
import { RegionFailover } from '../constructs/region-failover';
import { ReplicaLagAlarm } from '../constructs/replica-lag-alarm';
import { StorageAlarms } from '../constructs/storage-alarms';
import { TopologySync } from '../constructs/topology-sync';
import type { FollowedRecord } from '../../lambdas/topology-sync/records';
import { RetiredWriterGuard } from '../constructs/retired-writer-guard';
import type { PrimaryWriter } from '../constructs/primary-database';
import type { ReplicaDatabase } from '../constructs/replica-database';
import { drNames, failoverSetIdentifier, stateMachineArnIn } from '../names';
import type { RegionalNetwork } from '../constructs/regional-network';

export interface OrchestrationStackProps extends StackProps {
  readonly config: DrConfig;
  /** The network of the orchestration region (the secondary by default). */
  readonly network: RegionalNetwork;
  /** Keys that encrypt database secrets in this region. */
  readonly secretKeys: readonly kms.IKey[];
  /** On-call topic in this region. */
  readonly onCallTopic: sns.ITopic;
  /** The DR replica of the topology: a new replica in the DR region gets the same placement. */
  readonly replica: ReplicaDatabase;
  /** The primary: a new replica in the home region (re-protect after a failover) gets the same placement. */
  readonly primary: PrimaryWriter;
  /** The failover records and health checks the drill fails over. */
  readonly failoverDns: FailoverDns;
  readonly primaryEndpoint: string;
  readonly replicaEndpoint: string;
  /** The key of the primary backup bucket (the drill's S3 probe writes there). */
  readonly primaryBackupKey: kms.IKey;
}

/**
 * Recovery tooling, in the region that survives losing the primary: the blue-green migration workflow, the
 * failover drill with its schedule and alarms, and the DR dashboard.
 */
export class OrchestrationStack extends Stack {
  readonly blueGreenSteps: BlueGreenSteps;
  readonly blueGreenWorkflow: BlueGreenWorkflow;
  readonly drRebuild: DrRebuildWorkflow;
  readonly greenProvisioning: GreenProvisioningWorkflow;
  readonly blueRetirement: BlueRetirementWorkflow;
  readonly migrationSafetyNet: MigrationSafetyNet;
  readonly drillSteps: DrillSteps;
  readonly drill: FailoverDrill;
  readonly regionFailover: RegionFailover;
  readonly retiredWriterGuard: RetiredWriterGuard;
  readonly topologySync: TopologySync;
  /** The pg-dr-disaster-recovery dashboard; buildDrApp puts every paging alarm of the app on it. */
  readonly dashboard: DrDashboard;

  constructor(scope: Construct, id: string, props: OrchestrationStackProps) {
    super(scope, id, props);
    const { config } = props;
    const names = drNames(config);
    this.blueGreenSteps = new BlueGreenSteps(this, 'BlueGreenSteps', {
      network: props.network,
      toolingSecurityGroup: props.network.recoveryToolingSecurityGroup,
      migrationsDirectory: config.migrationsDirectory,
      secretNamePrefix: config.blueGreen.secretNamePrefix,
      secretKeys: props.secretKeys,
      hostedZoneId: config.hostedZoneId,
      recordName: config.recordName,
      exclusiveWith: [
        stateMachineArnIn(this, names.drillStateMachine),
        stateMachineArnIn(this, names.regionFailoverStateMachine),
      ],
      // The topology lives beside the failover records that read it.
      topology: {
        region: Stack.of(props.failoverDns).region,
        resourcePrefix: config.resourcePrefix,
      },
      replicaPlacements: replicaPlacements(config, props),
    });
    this.drRebuild = new DrRebuildWorkflow(this, 'DrRebuild', {
      drReplica: this.blueGreenSteps.functions.drReplica,
      dnsFlip: this.blueGreenSteps.functions.dnsFlip,
      topology: this.blueGreenSteps.functions.topology,
      onCallTopic: props.onCallTopic,
      stateMachineName: names.drRebuildStateMachine,
      alarmName: names.alarms.drRebuildFailed,
      drillScheduleRuleName: names.drillSchedule,
      drRegion: config.secondaryRegion,
    });
    this.blueGreenWorkflow = new BlueGreenWorkflow(this, 'BlueGreenWorkflow', {
      steps: this.blueGreenSteps,
      onCallTopic: props.onCallTopic,
      stateMachineName: names.blueGreenStateMachine,
      alarmName: names.alarms.migrationFailed,
      drRebuildStateMachineArn: this.drRebuild.stateMachine.stateMachineArn,
      // By name: the retirement refers to the migration too (it must not end a way back a rollback reads).
      blueRetirementStateMachineArn: stateMachineArnIn(this, names.blueRetirementStateMachine),
    });
    this.greenProvisioning = this.addGreenProvisioning(config, props.onCallTopic);
    this.blueRetirement = this.addBlueRetirement(config, props);
    this.migrationSafetyNet = new MigrationSafetyNet(this, 'MigrationSafetyNet', {
      migrationStateMachineName: names.blueGreenStateMachine,
      dnsFlip: this.blueGreenSteps.functions.dnsFlip,
      cutover: this.blueGreenSteps.functions.cutover,
      unfence: this.blueGreenSteps.functions.unfence,
      topology: this.blueGreenSteps.functions.topology,
      onCallTopic: props.onCallTopic,
      stateMachineName: names.migrationSafetyNetStateMachine,
      alarmName: names.alarms.migrationSafetyNetFailed,
    });
    const dns = props.failoverDns;
    const { invertCheck, watch } = drilledChecks(dns, config.drill.record);
    const stateMachineArn = (name: string) => stateMachineArnIn(this, name);
    const drillArn = stateMachineArn(names.drillStateMachine);
    const migrationArn = stateMachineArn(names.blueGreenStateMachine);
    const failoverArn = stateMachineArn(names.regionFailoverStateMachine);
    this.drillSteps = new DrillSteps(this, 'DrillSteps', {
      network: props.network,
      toolingSecurityGroup: props.network.recoveryToolingSecurityGroup,
      secretName: config.database.secretName,
      secretNamePrefix: config.blueGreen.secretNamePrefix,
      secretKeys: props.secretKeys,
      invertHealthCheckId: invertCheck.healthCheckId,
      watchedHealthCheckIds: watch.map((w) => w.healthCheckId),
      drillStateMachineArn: drillArn,
      drillStateMachineName: names.drillStateMachine,
      migrationStateMachineArn: migrationArn,
      regionFailoverStateMachineArn: failoverArn,
      hostedZoneId: config.hostedZoneId,
      onCallTopic: props.onCallTopic,
      topology: { region: Stack.of(props.failoverDns).region, resourcePrefix: config.resourcePrefix },
      backups: {
        sourceBucket: names.backupBucket(config.primaryRegion),
        sourceKey: props.primaryBackupKey,
        replicaBucket: names.backupBucket(config.secondaryRegion),
      },
    });
    this.drill = new FailoverDrill(this, 'FailoverDrill', {
      steps: this.drillSteps,
      onCallTopic: props.onCallTopic,
      stateMachineName: names.drillStateMachine,
      migrationStateMachineName: names.blueGreenStateMachine,
      input: drillInput(config, {
        invertHealthCheckId: invertCheck.healthCheckId,
        watch,
        drillStateMachineArn: drillArn,
        migrationStateMachineArn: migrationArn,
        regionFailoverStateMachineArn: failoverArn,
      }),
      schedule: { ...config.drill.schedule, ruleName: names.drillSchedule },
      budgets: config.drill.budgets,
      staleAfterDays: config.drill.staleAfterDays,
      alarmNames: names.alarms,
    });
    this.regionFailover = this.addRegionFailover(props, drillArn, migrationArn);
    this.retiredWriterGuard = this.addRetiredWriterGuard(config, props.onCallTopic);
    this.topologySync = this.addTopologySync(props);
    const replicaLag = new ReplicaLagAlarm(this, 'ReplicaLag', {
      topic: props.onCallTopic,
      alarmName: names.alarms.replicaLagHigh,
      thresholdSeconds: config.replicaLagAlarmSeconds,
    });
    new StorageAlarms(this, 'Storage', {
      topic: props.onCallTopic,
      alarmNames: names.alarms,
      ...config.alarms,
    });
    this.dashboard = this.addDashboard(config, replicaLag.lag, dns.primaryDatabaseHealthCheck.healthCheckId);
    this.addOutputs(config);
  }

  /** The `pg-dr-disaster-recovery` dashboard: the drills, replication, restore from backup, the paging alarms. */
  private addDashboard(config: DrConfig, replicaLag: cloudwatch.IMetric, healthCheckId: string): DrDashboard {
    return new DrDashboard(this, 'Dashboard', {
      dashboardName: drNames(config).dashboard,
      budgets: config.drill.budgets,
      staleAfterDays: config.drill.staleAfterDays,
      replicaLag,
      primaryDatabaseHealthCheckId: healthCheckId,
      backups: {
        region: config.secondaryRegion,
        staleAfterDays: config.backups.restoreTest.staleAfterDays,
        maxBackupAgeMinutes: config.backups.restoreTest.maxBackupAgeMinutes,
      },
      dumps: {
        primaryRegion: config.primaryRegion,
        drRegion: config.secondaryRegion,
        maxAgeHours: config.backups.dumps.maxAgeHours,
      },
    });
  }

  /** `dr migrate --provision-green`: green made from the writer, in sync, then the migration run. */
  private addGreenProvisioning(config: DrConfig, onCallTopic: sns.ITopic): GreenProvisioningWorkflow {
    const names = drNames(config);
    return new GreenProvisioningWorkflow(this, 'GreenProvisioning', {
      steps: this.blueGreenSteps,
      onCallTopic,
      stateMachineName: names.greenProvisioningStateMachine,
      alarmName: names.alarms.greenProvisioningFailed,
      migrationStateMachineName: names.blueGreenStateMachine,
      migrationStateMachineArn: this.blueGreenWorkflow.stateMachine.stateMachineArn,
    });
  }

  /** Blue's retirement after a cutover with the way back: the window, then the way back ended and blue retired. */
  private addBlueRetirement(config: DrConfig, props: OrchestrationStackProps): BlueRetirementWorkflow {
    const names = drNames(config);
    return new BlueRetirementWorkflow(this, 'BlueRetirement', {
      steps: this.blueGreenSteps,
      onCallTopic: props.onCallTopic,
      stateMachineName: names.blueRetirementStateMachine,
      alarmName: names.alarms.blueRetirementFailed,
      topology: { region: Stack.of(props.failoverDns).region, resourcePrefix: config.resourcePrefix },
      account: config.account,
      regions: [config.primaryRegion, config.secondaryRegion],
      secretNamePrefix: config.blueGreen.secretNamePrefix,
      action: config.blueGreen.retireBlue,
      windowHours: config.blueGreen.wayBackWindowHours,
      migrationStateMachineArn: this.blueGreenWorkflow.stateMachine.stateMachineArn,
    });
  }

  /** The topology sync: the probes, the health-checked writer, SECONDARY and the drill record follow the topology. */
  private addTopologySync(props: OrchestrationStackProps): TopologySync {
    const { config } = props;
    const names = drNames(config);
    const dns = props.failoverDns;
    return new TopologySync(this, 'TopologySync', {
      probes: names.healthProbes,
      topology: { region: Stack.of(dns).region, resourcePrefix: config.resourcePrefix },
      databasePort: config.database.port,
      masterSecretName: config.database.secretName,
      hostedZoneId: config.hostedZoneId,
      records: followedRecords(config),
      writerHealthCheckIds: [
        dns.primaryDatabaseHealthCheck.healthCheckId,
        dns.primaryRemoteHealthCheck.healthCheckId,
      ],
      // A probe's alarm is about its new target alone once its whole evaluation window has passed, and a minute more.
      settle: Duration.minutes(
        Math.max(config.healthCheck.alarmEvaluationPeriods, config.healthCheck.remoteAlarmEvaluationPeriods) +
          2,
      ),
      functionName: names.topologySyncFunction,
      alarmName: names.alarms.topologySyncFailing,
      onCallTopic: props.onCallTopic,
    });
  }

  /** The region failover: it promotes the topology's replica, and must not race the other workflows. */
  private addRegionFailover(
    props: OrchestrationStackProps,
    drillArn: string,
    migrationArn: string,
  ): RegionFailover {
    const { config } = props;
    const names = drNames(config);
    return new RegionFailover(this, 'RegionFailover', {
      network: props.network,
      toolingSecurityGroup: props.network.recoveryToolingSecurityGroup,
      masterSecretName: config.database.secretName,
      secretNamePrefix: config.blueGreen.secretNamePrefix,
      secretKeys: props.secretKeys,
      regions: [config.primaryRegion, config.secondaryRegion],
      account: config.account,
      topology: { region: Stack.of(props.failoverDns).region, resourcePrefix: config.resourcePrefix },
      topologyStep: this.blueGreenSteps.functions.topology,
      dnsFlip: this.blueGreenSteps.functions.dnsFlip,
      hostedZoneId: config.hostedZoneId,
      recordName: config.recordName,
      limits: config.failover,
      backupRetentionDays: config.database.backupRetentionDays,
      exclusiveWith: {
        drillStateMachineArn: drillArn,
        blueGreenStateMachineArn: migrationArn,
        drRebuildStateMachineArn: this.drRebuild.stateMachine.stateMachineArn,
        migrationSafetyNetStateMachineArn: this.migrationSafetyNet.stateMachine.stateMachineArn,
      },
      drillScheduleRuleName: names.drillSchedule,
      onCallTopic: props.onCallTopic,
      stateMachineName: names.regionFailoverStateMachine,
      approvalActivityName: names.failoverApprovalActivity,
      alarmName: names.alarms.regionFailoverFailed,
    });
  }

  /** Retires again, every 5 minutes, any retired former writer that answers (a returned old primary). */
  private addRetiredWriterGuard(config: DrConfig, onCallTopic: sns.ITopic): RetiredWriterGuard {
    const names = drNames(config);
    return new RetiredWriterGuard(this, 'RetiredWriterGuard', {
      control: this.regionFailover.functions.control,
      database: this.regionFailover.functions.database,
      masterSecretName: config.database.secretName,
      onCallTopic,
      stateMachineName: names.retiredWriterGuardStateMachine,
      scheduleRuleName: names.retiredWriterGuardSchedule,
      alarmName: names.alarms.retiredWriterGuardFailing,
    });
  }

  /** What `dr` and on-call look up: the state machines, and every blue-green step function by name. */
  private addOutputs(config: DrConfig): void {
    new CfnOutput(this, 'FailoverDrillStateMachineArn', {
      value: this.drill.stateMachine.stateMachineArn,
      description: 'The failover drill (dr drill starts it with the schedule input)',
    });
    new CfnOutput(this, 'BlueGreenStateMachineArn', {
      value: this.blueGreenWorkflow.stateMachine.stateMachineArn,
      description: 'Start blue-green migrations here (dr migrate finds it by this output)',
    });
    new CfnOutput(this, 'GreenProvisioningStateMachineArn', {
      value: this.greenProvisioning.stateMachine.stateMachineArn,
      description:
        'dr migrate --provision-green starts it: green made from the writer, in sync, then the migration',
    });
    new CfnOutput(this, 'BlueRetirementStateMachineArn', {
      value: this.blueRetirement.stateMachine.stateMachineArn,
      description:
        'Blue retirements: the migration starts one after a cutover with the way back (dr migrate rollback and dr migrate finish find it here)',
    });
    new CfnOutput(this, 'RegionFailoverStateMachineArn', {
      value: this.regionFailover.stateMachine.stateMachineArn,
      description: 'The region failover (dr failover starts it; dr failover approve answers its approval)',
    });
    new CfnOutput(this, 'FailoverApprovalActivityArn', {
      value: this.regionFailover.approvalActivity.activityArn,
      description: 'The region failover waits here for a person (dr failover approve takes and answers it)',
    });
    new CfnOutput(this, 'DrRebuildStateMachineArn', {
      value: this.drRebuild.stateMachine.stateMachineArn,
      description:
        'The DR rebuild: after a cutover (the migration starts it with rebuildDr) and after a failover or switchover (dr reprotect); start it again to resume',
    });
    new CfnOutput(this, 'DrRebuildDnsInput', {
      value: JSON.stringify({
        hostedZoneId: config.hostedZoneId,
        recordName: config.recordName,
        secondarySetIdentifier: failoverSetIdentifier(config.recordName, 'secondary'),
      }),
      description:
        'The dns input of the DR rebuild (dr reprotect passes it): the record whose SECONDARY it repoints',
    });
    for (const [name, fn] of Object.entries(this.blueGreenSteps.functions)) {
      new CfnOutput(this, `${name}FunctionName`, {
        value: fn.functionName,
        description: `Blue-green step ${name}`,
      });
    }
  }
}

/**
 * The health check the drill inverts (the drill record's, or production's when `drill.record` says so), and
 * the checks it watches: each observer of the primary, the secondary's, and the sidecar's when there is one.
 */
function drilledChecks(
  dns: OrchestrationStackProps['failoverDns'],
  record: DrConfig['drill']['record'],
): { invertCheck: { healthCheckId: string }; watch: { healthCheckId: string; label: string }[] } {
  const invertCheck = record === 'production' ? dns.primaryRecordHealthCheck : dns.drillRecordHealthCheck;
  if (invertCheck === undefined)
    throw new Error('drill.record is "separate" but no drill record was created');
  const watch = [
    { healthCheckId: dns.primaryDatabaseHealthCheck.healthCheckId, label: 'primary database' },
    {
      healthCheckId: dns.primaryRemoteHealthCheck.healthCheckId,
      label: 'primary, seen from the secondary',
    },
    { healthCheckId: dns.secondaryDatabaseHealthCheck.healthCheckId, label: 'secondary database' },
    ...(dns.sidecarHealthCheck === undefined
      ? []
      : [{ healthCheckId: dns.sidecarHealthCheck.healthCheckId, label: 'sidecar' }]),
  ];
  return { invertCheck, watch };
}

/** Where a new replica goes in either region: the placement of the database the first deploy made there. */
function replicaPlacements(
  config: DrConfig,
  props: Pick<OrchestrationStackProps, 'primary' | 'replica'>,
): ReplicaPlacements {
  return {
    account: config.account,
    // Replicas the workflows create are replicas: they follow the replica's setting.
    multiAz: config.database.replicaMultiAz,
    port: config.database.port,
    maxAllocatedStorageGiB: config.database.maxAllocatedStorageGiB,
    maintenanceWindow: config.database.preferredMaintenanceWindow,
    backupReplicationRetentionDays: config.backups.crossRegionRetentionDays,
    regions: [
      { region: config.primaryRegion, database: props.primary },
      { region: config.secondaryRegion, database: props.replica },
    ].map(({ region, database }) => ({
      region,
      subnetGroupName: database.subnetGroupName,
      securityGroupId: database.securityGroup.securityGroupId,
      parameterGroupName: database.parameterGroupName,
      kmsKeyArn: database.key.keyArn,
    })),
  };
}

/**
 * The record sets the topology sync keeps on the topology: production SECONDARY (PRIMARY is the workflows'),
 * and both sets of the drill record when it is separate (only the drill reads it).
 */
function followedRecords(config: DrConfig): FollowedRecord[] {
  const set = (recordName: string, follows: FollowedRecord['follows']): FollowedRecord => ({
    recordName,
    setIdentifier: failoverSetIdentifier(recordName, follows),
    follows,
  });
  const production = set(config.recordName, 'secondary');
  if (config.drill.record === 'production') return [production];
  return [production, set(config.drill.recordName, 'primary'), set(config.drill.recordName, 'secondary')];
}
