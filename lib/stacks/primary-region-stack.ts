import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { DrConfig } from '../config';
import { BackupBucket } from '../constructs/backup-bucket';
import { HealthProbe } from '../constructs/health-probe';
import { InterRegionPeering } from '../constructs/peering-routes';
import { ReplicationUserSecret } from '../constructs/replication-user-secret';
import { PrimaryDatabase } from '../constructs/primary-database';
import { RegionalKey } from '../constructs/regional-key';
import { RegionalNetwork } from '../constructs/regional-network';
import { drNames } from '../names';
import type { SecondaryFoundationStack } from './secondary-foundation-stack';

export interface PrimaryRegionStackProps extends StackProps {
  readonly config: DrConfig;
  readonly secondary: SecondaryFoundationStack;
  /** On-call topic in the primary region: the probe's blind and probe-error alarms page it. */
  readonly onCallTopic: sns.ITopic;
}

/** The production region: the writer, its backups, its in-VPC health probe and the peering to the DR region. */
export class PrimaryRegionStack extends Stack {
  readonly network: RegionalNetwork;
  readonly database: PrimaryDatabase;
  readonly peering: InterRegionPeering;
  readonly probe: HealthProbe;
  readonly backups: BackupBucket;
  readonly dataKey: RegionalKey;

  constructor(scope: Construct, id: string, props: PrimaryRegionStackProps) {
    super(scope, id, props);
    const { config, secondary } = props;
    const names = drNames(config);

    this.network = new RegionalNetwork(this, 'Network', {
      cidr: config.network.primaryCidr,
      availabilityZones: config.network.primaryAvailabilityZones,
    });
    const dataKey = (this.dataKey = new RegionalKey(this, 'DataKey', {
      alias: names.keyAlias('primary'),
      description: 'Encrypts the primary database, its master secret and backups',
    }));
    this.peering = new InterRegionPeering(this, 'PeeringToSecondary', {
      vpc: this.network.vpc,
      peerVpcId: secondary.network.vpc.vpcId,
      peerRegion: config.secondaryRegion,
      peerAccount: config.account,
      peerCidr: config.network.secondaryCidr,
    });
    this.database = new PrimaryDatabase(this, 'Database', {
      network: this.network,
      key: dataKey.key,
      settings: config.database,
      secretReplica: { region: config.secondaryRegion, key: secondary.dataKey.key },
      peerCidr: config.network.secondaryCidr,
      ...(config.orchestrationRegion === config.primaryRegion
        ? { toolingSecurityGroup: this.network.recoveryToolingSecurityGroup }
        : {}),
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
      replicateTo: {
        bucketName: names.backupBucket(config.secondaryRegion),
        region: config.secondaryRegion,
        account: config.account,
        keyArn: secondary.dataKey.key.keyArn,
      },
    });
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
      secretKey: dataKey.key,
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
}
