import { Arn, ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { DrConfig } from '../config';
import { acknowledgeDeployTimeCalls } from '../nag';
import { REQUIRED_DATABASE_PARAMETERS } from '../database-parameters';
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
 * - with `parameterGroup` `copy`, the instance's DB parameter group: a copy of its own with the DR parameters,
 *   associated by ModifyDBInstance with ApplyImmediately false, so no modification already queued on the
 *   instance is applied with it and the instance is not rebooted. The DR parameters take effect at its next
 *   reboot (docs/adoption.md). Deleting the stack associates `parameterGroupBeforeAdoption` again, the same
 *   way. With `unchanged`, nothing of the instance is changed at all.
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

    if (adopt.parameterGroup === 'unchanged') {
      // The owner sets the DR parameters in the group the instance has (dr doctor checks them).
      this.parameterGroupName = adopt.parameterGroupBeforeAdoption;
      return;
    }
    this.parameterGroupName = this.drCopyOfParameterGroup(settings, adopt);
  }

  /**
   * The instance's own parameters plus the DR ones, in a group of its own, associated with the instance. A
   * custom group is copied (CopyDBParameterGroup keeps every setting the owner made: preloaded libraries,
   * connection limits, timeouts) and the two DR parameters are set in the copy with ApplyMethod
   * pending-reboot. A default group (`default.*`) holds engine defaults only: a new group of the family with
   * the DR parameters is the same thing. Either way the association is made by ModifyDBInstance with
   * ApplyImmediately false, and deleting the stack gives the instance its group back the same way.
   */
  private drCopyOfParameterGroup(
    settings: DrConfig['database'],
    adopt: NonNullable<DrConfig['adoptPrimary']>,
  ): string {
    const stack = Stack.of(this);
    const groupArn = (name: string) =>
      Arn.format(
        { service: 'rds', resource: 'pg', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME },
        stack,
      );
    const before = adopt.parameterGroupBeforeAdoption;
    let groupName: string;
    let ready: Construct;
    if (before.startsWith('default.')) {
      const group = drParameterGroup(this, settings, { removalPolicy: RemovalPolicy.RETAIN });
      groupName = group.bindToInstance({}).parameterGroupName;
      ready = group;
    } else {
      groupName = `${settings.primaryInstanceIdentifier}-dr-parameters`;
      const copy = new cr.AwsCustomResource(this, 'ParameterGroupCopy', {
        onCreate: {
          service: 'RDS',
          action: 'copyDBParameterGroup',
          parameters: {
            SourceDBParameterGroupIdentifier: before,
            TargetDBParameterGroupIdentifier: groupName,
            TargetDBParameterGroupDescription: `${before} with the PostgreSQL DR parameters`,
          },
          physicalResourceId: cr.PhysicalResourceId.of(groupName),
          // A copy an earlier deploy made (a redeployed stack) is used as it is, and set again below.
          ignoreErrorCodesMatching: 'DBParameterGroupAlreadyExists.*',
        },
        // Runs after the association below is undone (it depends on this), so the copy is no longer in use.
        onDelete: {
          service: 'RDS',
          action: 'deleteDBParameterGroup',
          parameters: { DBParameterGroupName: groupName },
          ignoreErrorCodesMatching: 'DBParameterGroupNotFound.*|InvalidDBParameterGroupState.*',
        },
        policy: cr.AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({
            actions: ['rds:CopyDBParameterGroup'],
            resources: [groupArn(before), groupArn(groupName)],
          }),
          new iam.PolicyStatement({
            actions: ['rds:DeleteDBParameterGroup'],
            resources: [groupArn(groupName)],
          }),
        ]),
        installLatestAwsSdk: false,
      });
      const setDr: cr.AwsSdkCall = {
        service: 'RDS',
        action: 'modifyDBParameterGroup',
        parameters: {
          DBParameterGroupName: groupName,
          Parameters: Object.entries(REQUIRED_DATABASE_PARAMETERS).map(([name, value]) => ({
            ParameterName: name,
            ParameterValue: value,
            ApplyMethod: 'pending-reboot',
          })),
        },
        physicalResourceId: cr.PhysicalResourceId.of(`${groupName}-dr-values`),
      };
      const values = new cr.AwsCustomResource(this, 'ParameterGroupDrValues', {
        onCreate: setDr,
        onUpdate: setDr,
        policy: cr.AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({
            actions: ['rds:ModifyDBParameterGroup'],
            resources: [groupArn(groupName)],
          }),
        ]),
        installLatestAwsSdk: false,
      });
      values.node.addDependency(copy);
      ready = values;
    }
    const associate = (name: string): cr.AwsSdkCall => ({
      service: 'RDS',
      action: 'modifyDBInstance',
      parameters: {
        DBInstanceIdentifier: settings.primaryInstanceIdentifier,
        DBParameterGroupName: name,
        ApplyImmediately: false,
      },
      physicalResourceId: cr.PhysicalResourceId.of(
        `${settings.primaryInstanceIdentifier}-dr-parameter-group`,
      ),
    });
    const association = new cr.AwsCustomResource(this, 'ParameterGroupAssociation', {
      onCreate: associate(groupName),
      onUpdate: associate(groupName),
      // The instance gone (a failover retired and deleted it) or busy must not wedge the stack's deletion.
      onDelete: {
        ...associate(before),
        ignoreErrorCodesMatching: 'DBInstanceNotFound.*|InvalidDBInstanceState.*',
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['rds:ModifyDBInstance'],
          resources: [this.instance.instanceArn, groupArn(groupName), groupArn(before)],
        }),
      ]),
      installLatestAwsSdk: false,
    });
    association.node.addDependency(ready);
    acknowledgeDeployTimeCalls(
      this,
      `RDS ModifyDBInstance on ${settings.primaryInstanceIdentifier} and Copy/Modify/DeleteDBParameterGroup on its DR parameter group`,
    );
    return groupName;
  }
}
