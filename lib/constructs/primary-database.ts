import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DrConfig } from '../config';
import { acknowledgeDrInstanceFindings, drInstanceProps, postgresEngine } from './postgres-instance';
import type { RegionalNetwork } from './regional-network';

/** What the rest of the app needs of the primary region's writer as deployed, created or adopted. */
export interface PrimaryWriter {
  readonly instance: rds.IDatabaseInstance;
  /** Placement a new replica in this region reuses (the re-protect after a failover to the other region). */
  readonly securityGroup: ec2.ISecurityGroup;
  readonly subnetGroupName: string;
  readonly parameterGroupName: string;
  readonly key: kms.IKey;
}

export interface PrimaryDatabaseProps {
  readonly network: RegionalNetwork;
  readonly key: kms.IKey;
  readonly settings: DrConfig['database'];
  /** Region that gets a replica of the master secret, encrypted with its own key. */
  readonly secretReplica: { readonly region: string; readonly key: kms.IKey };
  /**
   * Where the automated backups are replicated (RDS cross-region automated backup replication): the DR region,
   * encrypted with that region's key, kept `retentionDays` there.
   */
  readonly backupReplication: {
    readonly region: string;
    readonly key: kms.IKey;
    readonly retentionDays: number;
  };
  /** Address range allowed in through VPC peering (the other region's VPC). */
  readonly peerCidr: string;
  /** Set when this is the orchestration region: its recovery tooling is admitted. */
  readonly toolingSecurityGroup?: ec2.ISecurityGroup;
  /** Physical name of the hosted rotation function: its errors alarm watches it by name. */
  readonly rotationFunctionName: string;
}

/** The production writer: encrypted, TLS-only, Multi-AZ, deletion-protected, with a rotated master secret. */
export class PrimaryDatabase extends Construct implements PrimaryWriter {
  readonly instance: rds.DatabaseInstance;
  readonly secret: secretsmanager.ISecret;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly subnetGroupName: string;
  readonly parameterGroupName: string;
  readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: PrimaryDatabaseProps) {
    super(scope, id);
    const { settings, network } = props;

    const { props: shared, securityGroup } = drInstanceProps(this, {
      network,
      key: props.key,
      settings,
      instanceIdentifier: settings.primaryInstanceIdentifier,
      peerCidr: props.peerCidr,
      ...(props.toolingSecurityGroup === undefined
        ? {}
        : { toolingSecurityGroup: props.toolingSecurityGroup }),
      description: `PostgreSQL primary ${settings.primaryInstanceIdentifier}`,
    });
    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      ...shared,
      engine: postgresEngine(settings),
      databaseName: settings.databaseName,
      credentials: rds.Credentials.fromGeneratedSecret(settings.masterUsername, {
        secretName: settings.secretName,
        encryptionKey: props.key,
        replicaRegions: [{ region: props.secretReplica.region, encryptionKey: props.secretReplica.key }],
      }),
      allocatedStorage: settings.allocatedStorageGiB,
      backupRetention: Duration.days(settings.backupRetentionDays),
      preferredBackupWindow: settings.preferredBackupWindow,
    });
    acknowledgeDrInstanceFindings(this.instance);
    const cfn = this.instance.node.defaultChild as rds.CfnDBInstance;
    // The automated backups (snapshots and transaction logs) also kept in the DR region, for point-in-time
    // restore there when the primary region is gone. CloudFormation starts the replication once the instance
    // exists and changes or stops it on update; the DatabaseInstance construct has no property for it.
    cfn.automaticBackupReplicationRegion = props.backupReplication.region;
    cfn.automaticBackupReplicationKmsKeyId = props.backupReplication.key.keyArn;
    cfn.automaticBackupReplicationRetentionPeriod = props.backupReplication.retentionDays;
    this.securityGroup = securityGroup;
    this.subnetGroupName = cfn.dbSubnetGroupName ?? '';
    this.parameterGroupName = cfn.dbParameterGroupName ?? '';
    this.key = props.key;

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
        functionName: props.rotationFunctionName,
        vpc: network.vpc,
        vpcSubnets: network.computeSubnets,
        securityGroups: [rotationSecurityGroup],
      }),
      automaticallyAfter: Duration.days(settings.secretRotationDays),
      rotateImmediatelyOnUpdate: false,
    });
  }
}
