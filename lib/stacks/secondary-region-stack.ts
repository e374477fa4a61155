import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { DrConfig } from '../config';
import { ApplicationAccess } from '../constructs/application-access';
import { BackupRestoreTest } from '../constructs/backup-restore-test';
import { DumpRestoreTest } from '../constructs/dump-restore-test';
import { DumpStatus } from '../constructs/dump-status';
import { HealthProbe } from '../constructs/health-probe';
import { PeeringRoutes } from '../constructs/peering-routes';
import { ReplicaDatabase } from '../constructs/replica-database';
import {
  drNames,
  DUMP_LOCATIONS_OUTPUT,
  DUMP_RESTORE_TEST_OUTPUT,
  dumpLocations,
  RESTORE_TEST_OUTPUT,
  ROUTE53_METRICS_REGION,
} from '../names';
import type { PrimaryRegionStack } from './primary-region-stack';
import type { SecondaryFoundationStack } from './secondary-foundation-stack';

export interface SecondaryRegionStackProps extends StackProps {
  readonly config: DrConfig;
  readonly foundation: SecondaryFoundationStack;
  readonly primary: PrimaryRegionStack;
  readonly onCallTopic: sns.ITopic;
}

/**
 * The DR region: the encrypted cross-region read replica, its probe, the alarms that say DR is degraded, and
 * the monthly restore test of the backups replicated here.
 */
export class SecondaryRegionStack extends Stack {
  readonly replica: ReplicaDatabase;
  readonly probe: HealthProbe;
  /** The primary as the secondary region sees it. */
  readonly remoteProbe: HealthProbe;
  readonly restoreTest: BackupRestoreTest;

  constructor(scope: Construct, id: string, props: SecondaryRegionStackProps) {
    super(scope, id, props);
    const { config, foundation, primary } = props;
    const names = drNames(config);

    new PeeringRoutes(this, 'PeeringToPrimary', {
      routeTableIds: foundation.network.peeringRouteTableIds,
      peerCidr: config.network.primaryCidr,
      peeringConnectionId: primary.peering.peeringConnectionId,
    });
    this.replica = new ReplicaDatabase(this, 'Replica', {
      network: foundation.network,
      key: foundation.dataKey.key,
      settings: config.database,
      source: primary.database.instance,
      sourceRegion: config.primaryRegion,
      peerCidr: config.network.primaryCidr,
      ...(config.orchestrationRegion === config.secondaryRegion
        ? { toolingSecurityGroup: foundation.network.recoveryToolingSecurityGroup }
        : {}),
    });
    new ApplicationAccess(this, 'ApplicationAccess', {
      databaseSecurityGroup: this.replica.securityGroup,
      port: config.database.port,
      access: config.applicationAccess.secondary,
      routeTableIds: foundation.network.dataRouteTableIds,
    });
    this.probe = new HealthProbe(this, 'HealthProbe', {
      network: foundation.network,
      role: 'replica',
      functionName: names.healthProbeFunction('replica'),
      database: {
        host: this.replica.instance.dbInstanceEndpointAddress,
        port: config.database.port,
      },
      admittedBy: [this.replica.instance],
      peerCidr: config.network.primaryCidr,
      databaseName: config.database.databaseName,
      secretName: config.database.secretName,
      secretNamePrefix: config.blueGreen.secretNamePrefix,
      secretKeys: foundation.secretKeys,
      settings: config.healthCheck,
      evaluationPeriods: config.healthCheck.alarmEvaluationPeriods,
      alarmNames: {
        unreachable: names.alarms.unreachable('replica', config.healthCheck.alarmEvaluationPeriods),
        blind: names.alarms.probeBlind('replica'),
        errors: names.alarms.probeErrors('replica'),
      },
      onCallTopic: props.onCallTopic,
      pageWhenUnreachable: true,
    });
    // The remote observer: the primary probed from this region over the peering, with this region's copy of the
    // master secret and this region's CloudWatch, so losing the primary region's own probe or CloudWatch in the
    // same event does not freeze the PRIMARY health check healthy.
    this.remoteProbe = new HealthProbe(this, 'PrimaryRemoteProbe', {
      network: foundation.network,
      role: 'primary-remote',
      functionName: names.healthProbeFunction('primary-remote'),
      database: {
        host: primary.database.instance.dbInstanceEndpointAddress,
        port: config.database.port,
      },
      // After a failover or a failback to this region, the writer it watches is this region's database.
      admittedBy: [this.replica.instance],
      peerCidr: config.network.primaryCidr,
      databaseName: config.database.databaseName,
      secretName: config.database.secretName,
      secretNamePrefix: config.blueGreen.secretNamePrefix,
      secretKeys: foundation.secretKeys,
      settings: config.healthCheck,
      evaluationPeriods: config.healthCheck.remoteAlarmEvaluationPeriods,
      alarmNames: {
        unreachable: names.alarms.unreachable(
          'primary-remote',
          config.healthCheck.remoteAlarmEvaluationPeriods,
        ),
        blind: names.alarms.probeBlind('primary-remote'),
        errors: names.alarms.probeErrors('primary-remote'),
      },
      onCallTopic: props.onCallTopic,
      pageWhenUnreachable: false,
    });
    const checks = this.backupChecks(config, foundation, props.onCallTopic);
    this.restoreTest = checks.restoreTest;
    new CfnOutput(this, RESTORE_TEST_OUTPUT, {
      value: this.restoreTest.stateMachine.stateMachineArn,
      description:
        'The restore test of the backups in this region (monthly; dr backups restore-test runs it now)',
    });
    new CfnOutput(this, DUMP_RESTORE_TEST_OUTPUT, {
      value: checks.dumpRestoreTest.stateMachine.stateMachineArn,
      description:
        'The restore test of the logical dumps in this region (monthly; dr backups restore-test --dump runs it now)',
    });
    new CfnOutput(this, DUMP_LOCATIONS_OUTPUT, {
      value: JSON.stringify(dumpLocations(config)),
      description:
        'Where the logical dumps are: their prefix, and the backup bucket of each region (dr backups)',
    });
  }

  /** The physical restore test of this region's backups, and the age of the dumps replicated to its bucket. */
  private backupChecks(
    config: DrConfig,
    foundation: SecondaryFoundationStack,
    onCallTopic: sns.ITopic,
  ): { readonly restoreTest: BackupRestoreTest; readonly dumpRestoreTest: DumpRestoreTest } {
    const names = drNames(config);
    const restoreTest = new BackupRestoreTest(this, 'RestoreTest', {
      network: foundation.network,
      placement: {
        subnetGroupName: this.replica.subnetGroupName,
        securityGroup: this.replica.securityGroup,
        parameterGroupName: this.replica.parameterGroupName,
      },
      dataKey: foundation.dataKey.key,
      secretKeys: foundation.secretKeys,
      database: {
        port: config.database.port,
        databaseName: config.database.databaseName,
        secretName: config.database.secretName,
        secretNamePrefix: config.blueGreen.secretNamePrefix,
      },
      topology: { region: ROUTE53_METRICS_REGION, resourcePrefix: config.resourcePrefix },
      resourcePrefix: config.resourcePrefix,
      // A failover promotes the DR replica; re-protect names later replicas <prefix>-replica-g<generation>.
      drWriterNames: [config.database.replicaInstanceIdentifier, `${config.resourcePrefix}-replica-g*`],
      onCallTopic: onCallTopic,
      stateMachineName: names.restoreTestStateMachine,
      schedule: { ruleName: names.restoreTestSchedule, expression: config.backups.restoreTest.schedule },
      staleAfterDays: config.backups.restoreTest.staleAfterDays,
      maxBackupAgeMinutes: config.backups.restoreTest.maxBackupAgeMinutes,
      alarmNames: {
        failed: names.alarms.restoreTestFailed,
        stale: names.alarms.restoreTestStale,
        backupStale: names.alarms.backupStale,
        statusUnknown: names.alarms.backupStatusUnknown,
        instanceLeft: names.alarms.restoreTestInstanceLeft,
      },
    });
    // The dumps S3 replication has copied to this region's bucket, and the monthly proof that they restore.
    const dumpRestoreTest = new DumpRestoreTest(this, 'DumpRestoreTest', {
      network: foundation.network,
      bucket: { bucketName: names.backupBucket(config.secondaryRegion), key: foundation.dataKey.key },
      engineVersion: config.database.engineVersion,
      dumps: config.backups.dumps,
      onCallTopic,
      names: {
        stateMachine: names.dumpRestoreTestStateMachine,
        schedule: names.dumpRestoreTestSchedule,
        cluster: names.dumpCheckCluster,
        repository: names.dumpCheckImageRepository,
        failedAlarm: names.alarms.dumpRestoreTestFailed,
      },
    });
    new DumpStatus(this, 'DumpStatus', {
      bucketName: names.backupBucket(config.secondaryRegion),
      prefix: config.backups.dumps.prefix,
      maxAgeHours: config.backups.dumps.maxAgeHours,
      onCallTopic,
      alarmNames: {
        stale: names.alarms.dumpStale('dr-region'),
        statusUnknown: names.alarms.dumpStatusUnknown('dr-region'),
      },
      restoreTest: {
        stateMachineName: names.dumpRestoreTestStateMachine,
        staleAfterDays: config.backups.restoreTest.staleAfterDays,
        staleAlarm: names.alarms.dumpRestoreTestStale,
      },
    });
    return { restoreTest, dumpRestoreTest };
  }
}
