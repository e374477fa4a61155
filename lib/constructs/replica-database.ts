import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import type { DrConfig } from '../config';
import { acknowledgeNagFinding, ENHANCED_MONITORING_POLICY } from '../nag';
import { drParameterGroup } from './postgres-settings';
import type { RegionalNetwork } from './regional-network';

export interface ReplicaDatabaseProps {
  readonly network: RegionalNetwork;
  /** The key of this (the replica's) region: an encrypted cross-region replica cannot use the source's key. */
  readonly key: kms.IKey;
  readonly settings: DrConfig['database'];
  readonly source: rds.IDatabaseInstance;
  readonly sourceRegion: string;
  readonly peerCidr: string;
}

/**
 * The cross-region read replica. It serves reads after a DNS failover; it takes writes only after a deliberate
 * promotion, which is never part of the weekly drill.
 */
export class ReplicaDatabase extends Construct {
  readonly instance: rds.DatabaseInstanceReadReplica;

  constructor(scope: Construct, id: string, props: ReplicaDatabaseProps) {
    super(scope, id);
    const { settings, network } = props;

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: network.vpc,
      description: `PostgreSQL cross-region replica ${settings.replicaInstanceIdentifier}`,
      allowAllOutbound: false,
    });
    securityGroup.addIngressRule(
      ec2.Peer.ipv4(props.peerCidr),
      ec2.Port.tcp(settings.port),
      'PostgreSQL from the peered primary region',
    );

    this.instance = new rds.DatabaseInstanceReadReplica(this, 'Instance', {
      sourceDatabaseInstance: props.source,
      instanceIdentifier: settings.replicaInstanceIdentifier,
      instanceType: new ec2.InstanceType(settings.instanceClass),
      vpc: network.vpc,
      vpcSubnets: network.dataSubnets,
      securityGroups: [securityGroup],
      port: settings.port,
      parameterGroup: drParameterGroup(this, 'Parameters', settings),
      multiAz: settings.multiAz,
      maxAllocatedStorage: settings.maxAllocatedStorageGiB,
      storageType: rds.StorageType.GP3,
      storageEncrypted: true,
      storageEncryptionKey: props.key,
      iamAuthentication: true,
      publiclyAccessible: false,
      // RDS keeps no automated backups of PostgreSQL read replicas: promotion must turn them on
      // (PromoteReadReplica's BackupRetentionPeriod), and the primary's backups cover the data until then.
      copyTagsToSnapshot: true,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      cloudwatchLogsExports: ['postgresql', 'upgrade'],
      enablePerformanceInsights: true,
      performanceInsightEncryptionKey: props.key,
      monitoringInterval: Duration.seconds(60),
      autoMinorVersionUpgrade: true,
    });
    const cfn = this.instance.node.defaultChild as rds.CfnDBInstance;
    // Encrypted cross-region replicas need the source region to pre-sign the copy request.
    cfn.sourceRegion = props.sourceRegion;
    // A replica inherits encryption from its source; CloudFormation rejects StorageEncrypted next to
    // SourceDBInstanceIdentifier. KmsKeyId (this region's key) stays.
    cfn.addPropertyDeletionOverride('StorageEncrypted');
    acknowledgeNagFinding(
      this.instance,
      'AwsSolutions-RDS11',
      'The port is configurable (database.port); 5432 is the default because clients expect it. Access is ' +
        'limited by security groups, TLS and SCRAM, not by an obscure port.',
    );
    const monitoringRole = this.instance.node.tryFindChild('MonitoringRole');
    if (monitoringRole !== undefined) {
      acknowledgeNagFinding(
        monitoringRole,
        ENHANCED_MONITORING_POLICY,
        'AWS-maintained policy for RDS Enhanced Monitoring, scoped by AWS to the RDSOSMetrics log group.',
      );
    }
  }
}
