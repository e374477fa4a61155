import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { DrConfig } from '../config';

export interface ApplicationAccessProps {
  /** The security group of the region's database (the writer or replica there, and any later one placed there). */
  readonly databaseSecurityGroup: ec2.ISecurityGroup;
  readonly port: number;
  readonly access: DrConfig['applicationAccess']['primary'];
  /**
   * Route tables of the database subnets that get the routes back to the application ranges: the VPC this app
   * created. Empty for an adopted VPC (the config refuses routes there).
   */
  readonly routeTableIds: readonly string[];
}

/**
 * Lets the application tiers of one region reach the database port: their ranges and security groups are
 * admitted by the database's security group, and the database subnets route back to them through the
 * peering connection or transit gateway named in the config.
 */
export class ApplicationAccess extends Construct {
  constructor(scope: Construct, id: string, props: ApplicationAccessProps) {
    super(scope, id);
    const { access, databaseSecurityGroup, port } = props;
    for (const cidr of access.cidrs)
      databaseSecurityGroup.addIngressRule(
        ec2.Peer.ipv4(cidr),
        ec2.Port.tcp(port),
        `Application tier ${cidr}`,
      );
    for (const groupId of access.securityGroupIds)
      databaseSecurityGroup.addIngressRule(
        ec2.Peer.securityGroupId(groupId),
        ec2.Port.tcp(port),
        `Application tier ${groupId}`,
      );
    for (const route of access.routes) {
      // Named by the range, not its place in the list: removing one route leaves the others' resources alone.
      const range = route.cidr.replace('/', '-');
      [...new Set(props.routeTableIds)].forEach((routeTableId, t) => {
        new ec2.CfnRoute(this, `Route${range}Table${t}`, {
          routeTableId,
          destinationCidrBlock: route.cidr,
          ...(route.vpcPeeringConnectionId === undefined
            ? { transitGatewayId: route.transitGatewayId }
            : { vpcPeeringConnectionId: route.vpcPeeringConnectionId }),
        });
      });
    }
  }
}
