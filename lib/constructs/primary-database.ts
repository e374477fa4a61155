import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DrConfig } from '../config';
import { acknowledgeNagFinding, ENHANCED_MONITORING_POLICY } from '../nag';
import { drParameterGroup, postgresEngine } from './postgres-settings';
import type { RegionalNetwork } from './regional-network';

export interface PrimaryDatabaseProps {
  readonly network: RegionalNetwork;
  readonly key: kms.IKey;
  readonly settings: DrConfig['database'];
  /** Region that gets a replica of the master secret, encrypted with its own key. */
  readonly secretReplica: { readonly region: string; readonly key: kms.IKey };
  /** Address range allowed in through VPC peering (the other region's VPC). */
  readonly peerCidr: string;
}

/** The production writer: encrypted, TLS-only, Multi-AZ, deletion-protected, with a rotated master secret. */
export class PrimaryDatabase extends Construct {
  readonly instance: rds.DatabaseInstance;
  readonly secret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: PrimaryDatabaseProps) {
    super(scope, id);
    const { settings, network } = props;

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: network.vpc,
      description: `PostgreSQL primary ${settings.primaryInstanceIdentifier}`,
      allowAllOutbound: false,
    });
    securityGroup.addIngressRule(
      ec2.Peer.ipv4(props.peerCidr),
      ec2.Port.tcp(settings.port),
      'PostgreSQL from the peered DR region (orchestration steps)',
    );

    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      engine: postgresEngine(settings),
      instanceIdentifier: settings.primaryInstanceIdentifier,
      instanceType: new ec2.InstanceType(settings.instanceClass),
      vpc: network.vpc,
      vpcSubnets: network.dataSubnets,
      securityGroups: [securityGroup],
      port: settings.port,
      databaseName: settings.databaseName,
      credentials: rds.Credentials.fromGeneratedSecret(settings.masterUsername, {
        secretName: settings.secretName,
        encryptionKey: props.key,
        replicaRegions: [{ region: props.secretReplica.region, encryptionKey: props.secretReplica.key }],
      }),
      parameterGroup: drParameterGroup(this, 'Parameters', settings),
      multiAz: settings.multiAz,
      allocatedStorage: settings.allocatedStorageGiB,
      maxAllocatedStorage: settings.maxAllocatedStorageGiB,
      storageType: rds.StorageType.GP3,
      storageEncrypted: true,
      storageEncryptionKey: props.key,
      iamAuthentication: true,
      publiclyAccessible: false,
      backupRetention: Duration.days(settings.backupRetentionDays),
      copyTagsToSnapshot: true,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      cloudwatchLogsExports: ['postgresql', 'upgrade'],
      enablePerformanceInsights: true,
      performanceInsightEncryptionKey: props.key,
      monitoringInterval: Duration.seconds(60),
      autoMinorVersionUpgrade: true,
    });

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

    const secret = this.instance.secret;
    if (secret === undefined) throw new Error('PrimaryDatabase: RDS did not create the master secret');
    this.secret = secret;

    // Hosted rotation keeps the password short-lived; replicas of the secret follow automatically.
    const rotationSecurityGroup = new ec2.SecurityGroup(this, 'RotationSecurityGroup', {
      vpc: network.vpc,
      description: 'Secrets Manager hosted rotation of the master password',
      allowAllOutbound: false,
    });
    rotationSecurityGroup.addEgressRule(
      ec2.Peer.ipv4(network.cidr),
      ec2.Port.tcp(443),
      'Secrets Manager endpoint',
    );
    rotationSecurityGroup.addEgressRule(
      ec2.Peer.ipv4(network.cidr),
      ec2.Port.tcp(settings.port),
      'PostgreSQL primary',
    );
    securityGroup.addIngressRule(
      rotationSecurityGroup,
      ec2.Port.tcp(settings.port),
      'Secrets Manager hosted rotation',
    );
    secret.addRotationSchedule('Rotation', {
      hostedRotation: secretsmanager.HostedRotation.postgreSqlSingleUser({
        vpc: network.vpc,
        vpcSubnets: network.computeSubnets,
        securityGroups: [rotationSecurityGroup],
      }),
      automaticallyAfter: Duration.days(settings.secretRotationDays),
      rotateImmediatelyOnUpdate: false,
    });
  }
}
