import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import type { DrConfig } from '../config';
import { REQUIRED_DATABASE_PARAMETERS } from '../database-parameters';
import { acknowledgeNagFinding, acknowledgeNistFinding } from '../nag';
import type { RegionalNetwork } from './regional-network';

export function postgresEngine(settings: DrConfig['database']): rds.IInstanceEngine {
  const major = settings.engineVersion.split('.')[0] ?? settings.engineVersion;
  return rds.DatabaseInstanceEngine.postgres({
    version: rds.PostgresEngineVersion.of(settings.engineVersion, major),
  });
}

/**
 * The parameters every DR instance runs with, created instances and an adopted primary alike: TLS only, and
 * logical replication for blue-green cutovers (static: it takes effect at the next reboot).
 */
export function drParameterGroup(
  scope: Construct,
  settings: DrConfig['database'],
  options: Pick<rds.ParameterGroupProps, 'removalPolicy'> = {},
): rds.ParameterGroup {
  return new rds.ParameterGroup(scope, 'Parameters', {
    engine: postgresEngine(settings),
    description: 'PostgreSQL DR: TLS only, logical replication for blue-green cutovers',
    // The owner's parameters first: the DR ones always win (the config refuses them anyway).
    parameters: {
      log_min_duration_statement: '1000',
      ...settings.parameters,
      ...REQUIRED_DATABASE_PARAMETERS,
    },
    ...options,
  });
}

/** Props both DatabaseInstance and DatabaseInstanceReadReplica accept. */
export type DrInstanceProps = rds.DatabaseInstanceNewProps &
  Pick<rds.DatabaseInstanceReadReplicaProps, 'instanceType' | 'storageEncrypted' | 'storageEncryptionKey'>;

export interface DrInstanceOptions {
  readonly network: RegionalNetwork;
  readonly key: kms.IKey;
  readonly settings: DrConfig['database'];
  readonly instanceIdentifier: string;
  /** The other region's VPC range, allowed in through peering. */
  readonly peerCidr: string;
  readonly description: string;
  /** Recovery tooling in this region (set in the orchestration region only). */
  readonly toolingSecurityGroup?: ec2.ISecurityGroup;
}

/**
 * What the primary and its cross-region replica share: a security group admitting the peered region, and
 * the instance settings (placement, TLS-only parameters, encryption with this region's key, deletion
 * protection, logs, monitoring). A replica cannot use its source's parameter group or key, so each region
 * gets its own from this one definition.
 */
export function drInstanceProps(
  scope: Construct,
  options: DrInstanceOptions,
): { props: DrInstanceProps; securityGroup: ec2.SecurityGroup } {
  const { settings, network } = options;
  const securityGroup = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc: network.vpc,
    description: options.description,
    allowAllOutbound: false,
  });
  securityGroup.addIngressRule(
    ec2.Peer.ipv4(options.peerCidr),
    ec2.Port.tcp(settings.port),
    'PostgreSQL from the peered region (recovery tooling, probes)',
  );
  if (options.toolingSecurityGroup !== undefined) {
    securityGroup.addIngressRule(
      options.toolingSecurityGroup,
      ec2.Port.tcp(settings.port),
      'Recovery tooling',
    );
  }
  const props: DrInstanceProps = {
    instanceIdentifier: options.instanceIdentifier,
    instanceType: new ec2.InstanceType(settings.instanceClass),
    vpc: network.vpc,
    vpcSubnets: network.dataSubnets,
    securityGroups: [securityGroup],
    port: settings.port,
    parameterGroup: drParameterGroup(scope, settings),
    multiAz: settings.multiAz,
    maxAllocatedStorage: settings.maxAllocatedStorageGiB,
    storageType: rds.StorageType.GP3,
    storageEncrypted: true,
    storageEncryptionKey: options.key,
    iamAuthentication: true,
    publiclyAccessible: false,
    copyTagsToSnapshot: true,
    deletionProtection: true,
    removalPolicy: RemovalPolicy.SNAPSHOT,
    cloudwatchLogsExports: ['postgresql', 'upgrade'],
    enablePerformanceInsights: true,
    performanceInsightEncryptionKey: options.key,
    monitoringInterval: Duration.seconds(60),
    autoMinorVersionUpgrade: true,
    // Minor upgrades, patches and the Multi-AZ failovers RDS schedules happen here, away from the drill.
    preferredMaintenanceWindow: settings.preferredMaintenanceWindow,
  };
  return { props, securityGroup };
}

/** Records the reviewed cdk-nag findings every DR instance has. */
export function acknowledgeDrInstanceFindings(instance: rds.DatabaseInstanceBase): void {
  acknowledgeNistFinding(
    instance,
    'RDSInBackupPlan',
    'The primary keeps RDS automated backups (point-in-time restore, database.backupRetentionDays), replicated ' +
      'to the DR region (backups.crossRegionRetentionDays), and a cross-region replica; an AWS Backup plan ' +
      'would duplicate them (docs/backups.md). A replica gets backups when promoted.',
  );
  acknowledgeNagFinding(
    instance,
    'AwsSolutions-RDS11',
    'The port is configurable (database.port); 5432 is the default because clients expect it. Access is ' +
      'limited by security groups, TLS and SCRAM, not by an obscure port.',
  );
  const monitoringRole = instance.node.tryFindChild('MonitoringRole');
  if (monitoringRole !== undefined) {
    acknowledgeNagFinding(
      monitoringRole,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
      'AWS-maintained policy for RDS Enhanced Monitoring, scoped by AWS to the RDSOSMetrics log group.',
    );
  }
}
