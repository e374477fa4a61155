import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

import type { DatabaseNetwork } from './regional-network';

export interface PeeringRoutesProps {
  /** Every route table that sends the peer range through the peering (DatabaseNetwork.peeringRouteTableIds). */
  readonly routeTableIds: readonly string[];
  readonly peerCidr: string;
  readonly peeringConnectionId: string;
}

/** Routes the peer VPC's range through an inter-region peering connection from each route table given. */
export class PeeringRoutes extends Construct {
  constructor(scope: Construct, id: string, props: PeeringRoutesProps) {
    super(scope, id);
    [...new Set(props.routeTableIds)].forEach((routeTableId, index) => {
      new ec2.CfnRoute(this, `Route${index}`, {
        routeTableId,
        destinationCidrBlock: props.peerCidr,
        vpcPeeringConnectionId: props.peeringConnectionId,
      });
    });
  }
}

export interface InterRegionPeeringProps {
  readonly network: DatabaseNetwork;
  readonly peerVpcId: string;
  readonly peerRegion: string;
  readonly peerAccount: string;
  readonly peerCidr: string;
}

/**
 * Requests peering with a VPC in another region of the same account (CloudFormation accepts it without a
 * peering role) and routes the requester's side. The accepter's side adds its own `PeeringRoutes`.
 */
export class InterRegionPeering extends Construct {
  readonly peeringConnectionId: string;

  constructor(scope: Construct, id: string, props: InterRegionPeeringProps) {
    super(scope, id);
    const connection = new ec2.CfnVPCPeeringConnection(this, 'Connection', {
      vpcId: props.network.vpc.vpcId,
      peerVpcId: props.peerVpcId,
      peerRegion: props.peerRegion,
      peerOwnerId: props.peerAccount,
    });
    this.peeringConnectionId = connection.ref;
    new PeeringRoutes(this, 'Routes', {
      routeTableIds: props.network.peeringRouteTableIds,
      peerCidr: props.peerCidr,
      peeringConnectionId: connection.ref,
    });
  }
}
