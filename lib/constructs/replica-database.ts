import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import type { DrConfig } from '../config';
import { acknowledgeDrInstanceFindings, drInstanceProps } from './postgres-instance';
import type { RegionalNetwork } from './regional-network';

export interface ReplicaDatabaseProps {
  readonly network: RegionalNetwork;
  /** The key of this (the replica's) region: an encrypted cross-region replica cannot use the source's key. */
  readonly key: kms.IKey;
  readonly settings: DrConfig['database'];
  readonly source: rds.IDatabaseInstance;
  readonly sourceRegion: string;
  readonly peerCidr: string;
  /** Set when this is the orchestration region: its recovery tooling is admitted. */
  readonly toolingSecurityGroup?: ec2.ISecurityGroup;
}

/**
 * The cross-region read replica. It serves reads after a DNS failover; it takes writes only after a deliberate
 * promotion, which is never part of the weekly drill.
 */
export class ReplicaDatabase extends Construct {
  readonly instance: rds.DatabaseInstanceReadReplica;
  /** Placement a new replica in this region reuses (of green after a cutover, of the writer after a failback). */
  readonly securityGroup: ec2.ISecurityGroup;
  readonly subnetGroupName: string;
  readonly parameterGroupName: string;
  readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: ReplicaDatabaseProps) {
    super(scope, id);
    const { settings } = props;
    this.key = props.key;
    const shared = drInstanceProps(this, {
      network: props.network,
      key: props.key,
      settings,
      instanceIdentifier: settings.replicaInstanceIdentifier,
      peerCidr: props.peerCidr,
      ...(props.toolingSecurityGroup === undefined
        ? {}
        : { toolingSecurityGroup: props.toolingSecurityGroup }),
      description: `PostgreSQL cross-region replica ${settings.replicaInstanceIdentifier}`,
    });
    this.securityGroup = shared.securityGroup;
    this.instance = new rds.DatabaseInstanceReadReplica(this, 'Instance', {
      ...shared.props,
      multiAz: settings.replicaMultiAz,
      sourceDatabaseInstance: props.source,
      // No backupRetention: RDS keeps no automated backups of PostgreSQL read replicas. Promotion must turn
      // them on (PromoteReadReplica's BackupRetentionPeriod); the primary's backups cover the data until then.
    });
    const cfn = this.instance.node.defaultChild as rds.CfnDBInstance;
    // Encrypted cross-region replicas need the source region to pre-sign the copy request.
    cfn.sourceRegion = props.sourceRegion;
    // A replica inherits encryption from its source; CloudFormation rejects StorageEncrypted next to
    // SourceDBInstanceIdentifier. KmsKeyId (this region's key) stays.
    cfn.addPropertyDeletionOverride('StorageEncrypted');
    acknowledgeDrInstanceFindings(this.instance);
    this.subnetGroupName = cfn.dbSubnetGroupName ?? '';
    this.parameterGroupName = cfn.dbParameterGroupName ?? '';
  }
}
