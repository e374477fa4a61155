import { Arn, ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { DrConfig } from '../config';
import { acknowledgeDeployTimeCalls } from '../nag';
import { drParameterGroup, postgresEngine } from './postgres-instance';
import type { PrimaryWriter } from './primary-database';

export interface AdoptedPrimaryDatabaseProps {
  readonly settings: DrConfig['database'];
  readonly adopt: NonNullable<DrConfig['adoptPrimary']>;
  /** This region's data key: a new replica placed here after a failover is encrypted with it. */
  readonly key: kms.IKey;
  /** The DR region's VPC range, admitted through the peering (its probe of the primary, recovery tooling). */
  readonly peerCidr: string;
}

/**
 * An existing RDS PostgreSQL instance as the primary: referenced, never created, replaced or deleted by the
 * stack. What the template changes is declared here and nowhere else:
 * - ingress rules on `adopt.securityGroupId` (the DR region's range; the probe and application access add
 *   theirs);
 * - the instance's DB parameter group: the DR parameter group (retained when the stack goes) is associated by
 *   ModifyDBInstance with ApplyImmediately false, so no modification already queued on the instance is applied
 *   with it, and the instance is never rebooted. `rds.logical_replication` is static: it takes effect only at
 *   the reboot the operator chooses (docs/adoption.md). Deleting the stack associates
 *   `adopt.parameterGroupBeforeAdoption` again, the same way.
 */
export class AdoptedPrimaryDatabase extends Construct implements PrimaryWriter {
  readonly instance: rds.IDatabaseInstance;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly subnetGroupName: string;
  readonly parameterGroupName: string;
  readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: AdoptedPrimaryDatabaseProps) {
    super(scope, id);
    const { settings, adopt } = props;
    this.key = props.key;
    this.subnetGroupName = adopt.subnetGroupName;
    this.securityGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'SecurityGroup', adopt.securityGroupId, {
      mutable: true,
    });
    this.instance = rds.DatabaseInstance.fromDatabaseInstanceAttributes(this, 'Instance', {
      instanceIdentifier: settings.primaryInstanceIdentifier,
      instanceEndpointAddress: adopt.endpointAddress,
      port: settings.port,
      securityGroups: [this.securityGroup],
      engine: postgresEngine(settings),
    });
    this.instance.connections.allowFrom(
      ec2.Peer.ipv4(props.peerCidr),
      ec2.Port.tcp(settings.port),
      'PostgreSQL DR: the peered DR region (probe of the primary, recovery tooling)',
    );

    const group = drParameterGroup(this, settings, { removalPolicy: RemovalPolicy.RETAIN });
    this.parameterGroupName = group.bindToInstance({}).parameterGroupName;
    const stack = Stack.of(this);
    const groupArn = (name: string) =>
      Arn.format(
        { service: 'rds', resource: 'pg', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME },
        stack,
      );
    const associate = (groupName: string): cr.AwsSdkCall => ({
      service: 'RDS',
      action: 'modifyDBInstance',
      parameters: {
        DBInstanceIdentifier: settings.primaryInstanceIdentifier,
        DBParameterGroupName: groupName,
        ApplyImmediately: false,
      },
      physicalResourceId: cr.PhysicalResourceId.of(
        `${settings.primaryInstanceIdentifier}-dr-parameter-group`,
      ),
    });
    new cr.AwsCustomResource(this, 'ParameterGroupAssociation', {
      onCreate: associate(this.parameterGroupName),
      onUpdate: associate(this.parameterGroupName),
      onDelete: associate(adopt.parameterGroupBeforeAdoption),
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['rds:ModifyDBInstance'],
          resources: [
            this.instance.instanceArn,
            groupArn(this.parameterGroupName),
            groupArn(adopt.parameterGroupBeforeAdoption),
          ],
        }),
      ]),
      installLatestAwsSdk: false,
    });
    acknowledgeDeployTimeCalls(
      this,
      `RDS ModifyDBInstance on ${settings.primaryInstanceIdentifier} with its two parameter groups`,
    );
  }
}
