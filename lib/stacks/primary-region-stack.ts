import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { DrConfig } from '../config';
import { BACKUP_REPLICATION_RULE_ID, BackupBucket } from '../constructs/backup-bucket';
import { BackupReplicationAlarm } from '../constructs/backup-replication-alarm';
import { DumpStatus } from '../constructs/dump-status';
import { ScheduledDump } from '../constructs/scheduled-dump';
import { RotationFailureAlarm } from '../constructs/rotation-failure-alarm';
import { AdoptedNetwork } from '../constructs/adopted-network';
import { AdoptedPrimaryDatabase } from '../constructs/adopted-primary-database';
import { ApplicationAccess } from '../constructs/application-access';
import { HealthProbe } from '../constructs/health-probe';
import { InterRegionPeering } from '../constructs/peering-routes';
import { ReplicationUserSecret } from '../constructs/replication-user-secret';
import { PrimaryDatabase, type PrimaryWriter } from '../constructs/primary-database';
import { RegionalKey } from '../constructs/regional-key';
import { RegionalNetwork } from '../constructs/regional-network';
import { drNames, ROUTE53_METRICS_REGION } from '../names';
import type { SecondaryFoundationStack } from './secondary-foundation-stack';

export interface PrimaryRegionStackProps extends StackProps {
  readonly config: DrConfig;
  readonly secondary: SecondaryFoundationStack;
  /** On-call topic in the primary region: the probe's blind and probe-error alarms page it. */
  readonly onCallTopic: sns.ITopic;
}

/**
 * The production region: the writer (created, or an existing instance adopted with `adoptPrimary`), its
 * backups, its in-VPC health probe and the peering to the DR region.
 */
export class PrimaryRegionStack extends Stack {
  readonly network: RegionalNetwork | AdoptedNetwork;
  readonly database: PrimaryWriter;
  readonly peering: InterRegionPeering;
  readonly probe: HealthProbe;
  readonly backups: BackupBucket;
  readonly dataKey: RegionalKey;
  readonly dumps: ScheduledDump;

  constructor(scope: Construct, id: string, props: PrimaryRegionStackProps) {
    super(scope, id, props);
    const { config, secondary } = props;
    const names = drNames(config);
    const dataKey = (this.dataKey = new RegionalKey(this, 'DataKey', {
      alias: names.keyAlias('primary'),
      description: 'Encrypts the primary database, its master secret and backups',
    }));
    const adopt = config.adoptPrimary;
    if (adopt === undefined) {
      const network = (this.network = new RegionalNetwork(this, 'Network', {
        cidr: config.network.primaryCidr,
        availabilityZones: config.network.primaryAvailabilityZones,
        secretsManagerEndpointZones: config.network.secretsManagerEndpointZones,
      }));
      this.database = new PrimaryDatabase(this, 'Database', {
        network,
        key: dataKey.key,
        settings: config.database,
        secretReplica: { region: config.secondaryRegion, key: secondary.dataKey.key },
        backupReplication: {
          region: config.secondaryRegion,
          key: secondary.dataKey.key,
          retentionDays: config.backups.crossRegionRetentionDays,
        },
        peerCidr: config.network.secondaryCidr,
        rotationFunctionName: names.rotationFunction,
        ...(config.orchestrationRegion === config.primaryRegion
          ? { toolingSecurityGroup: network.recoveryToolingSecurityGroup }
          : {}),
      });
      // The master secret rotates in this region, its primary, by the hosted function the stack names.
      new RotationFailureAlarm(this, 'SecretRotation', {
        topic: props.onCallTopic,
        alarmName: names.alarms.secretRotationFailing,
        secretName: config.database.secretName,
        rotationFunctionName: names.rotationFunction,
      });
    } else {
      this.network = new AdoptedNetwork(this, 'AdoptedNetwork', adopt.vpc);
      this.database = new AdoptedPrimaryDatabase(this, 'AdoptedDatabase', {
        settings: config.database,
        adopt,
        key: dataKey.key,
        peerCidr: config.network.secondaryCidr,
      });
    }
    new ApplicationAccess(this, 'ApplicationAccess', {
      databaseSecurityGroup: this.database.securityGroup,
      port: config.database.port,
      access: config.applicationAccess.primary,
      routeTableIds: this.network instanceof RegionalNetwork ? this.network.dataRouteTableIds : [],
    });
    this.peering = new InterRegionPeering(this, 'PeeringToSecondary', {
      network: this.network,
      peerVpcId: secondary.network.vpc.vpcId,
      peerRegion: config.secondaryRegion,
      peerAccount: config.account,
      peerCidr: config.network.secondaryCidr,
    });
    new ReplicationUserSecret(this, 'ReplicationUser', {
      secretName: config.database.replicationSecretName,
      username: config.database.replicationUsername,
      key: dataKey.key,
      replica: { region: config.secondaryRegion, key: secondary.dataKey.key },
    });
    this.backups = new BackupBucket(this, 'Backups', {
      bucketName: names.backupBucket(config.primaryRegion),
      key: dataKey.key,
      noncurrentVersionExpiration: Duration.days(config.backups.noncurrentVersionExpirationDays),
      dumps: {
        prefix: config.backups.dumps.prefix,
        retention: Duration.days(config.backups.dumps.retentionDays),
      },
      replicateTo: {
        bucketName: names.backupBucket(config.secondaryRegion),
        region: config.secondaryRegion,
        account: config.account,
        keyArn: secondary.dataKey.key.keyArn,
      },
    });
    new BackupReplicationAlarm(this, 'BackupReplication', {
      topic: props.onCallTopic,
      alarmName: names.alarms.backupReplicationFailing,
      sourceBucketName: names.backupBucket(config.primaryRegion),
      destinationBucketName: names.backupBucket(config.secondaryRegion),
      ruleId: BACKUP_REPLICATION_RULE_ID,
    });
    const secretKeys = [
      dataKey.key,
      ...(adopt?.secretKeyArn === undefined
        ? []
        : [kms.Key.fromKeyArn(this, 'AdoptedSecretKey', adopt.secretKeyArn)]),
    ];
    this.dumps = this.scheduledDumps(config, props.onCallTopic, secretKeys);
    this.probe = new HealthProbe(this, 'HealthProbe', {
      network: this.network,
      role: 'primary',
      functionName: names.healthProbeFunction('primary'),
      database: {
        host: this.database.instance.dbInstanceEndpointAddress,
        port: config.database.port,
      },
      admittedBy: [this.database.instance],
      peerCidr: config.network.secondaryCidr,
      databaseName: config.database.databaseName,
      secretName: config.database.secretName,
      secretNamePrefix: config.blueGreen.secretNamePrefix,
      secretKeys,
      settings: config.healthCheck,
      evaluationPeriods: config.healthCheck.alarmEvaluationPeriods,
      alarmNames: {
        unreachable: names.alarms.unreachable('primary', config.healthCheck.alarmEvaluationPeriods),
        blind: names.alarms.probeBlind('primary'),
        errors: names.alarms.probeErrors('primary'),
      },
      onCallTopic: props.onCallTopic,
      pageWhenUnreachable: false,
    });
  }

  /** The scheduled logical dump of the writer, and the age of the newest dump in this region's bucket. */
  private scheduledDumps(config: DrConfig, onCallTopic: sns.ITopic, secretKeys: kms.IKey[]): ScheduledDump {
    const names = drNames(config);
    const dumps = new ScheduledDump(this, 'ScheduledDump', {
      network: this.network,
      databaseSecurityGroup: this.database.securityGroup,
      bucket: { bucketName: names.backupBucket(config.primaryRegion), key: this.dataKey.key },
      secretKeys,
      database: {
        engineVersion: config.database.engineVersion,
        port: config.database.port,
        databaseName: config.database.databaseName,
        secretName: config.database.secretName,
        secretNamePrefix: config.blueGreen.secretNamePrefix,
      },
      dumps: config.backups.dumps,
      topology: { region: ROUTE53_METRICS_REGION, resourcePrefix: config.resourcePrefix },
      onCallTopic: onCallTopic,
      names: {
        stateMachine: names.dumpStateMachine,
        schedule: names.dumpSchedule,
        cluster: names.dumpCluster,
        repository: names.dumpImageRepository,
        failedAlarm: names.alarms.dumpFailed,
      },
    });
    new DumpStatus(this, 'DumpStatus', {
      bucketName: names.backupBucket(config.primaryRegion),
      prefix: config.backups.dumps.prefix,
      maxAgeHours: config.backups.dumps.maxAgeHours,
      onCallTopic: onCallTopic,
      alarmNames: {
        stale: names.alarms.dumpStale('primary'),
        statusUnknown: names.alarms.dumpStatusUnknown('primary'),
      },
    });
    return dumps;
  }
}
