import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { DrConfig } from '../config';
import type { DatabaseNetwork } from './regional-network';

export type AdoptedVpcSettings = NonNullable<DrConfig['adoptPrimary']>['vpc'];

/**
 * The VPC of an adopted primary, referenced by id: the stack never creates, changes or deletes it. It adds
 * only what it declares here and in the peering: a Secrets Manager interface endpoint when asked
 * (`secretsManagerEndpoint: create`), and the routes to the DR region in `peeringRouteTableIds`.
 */
export class AdoptedNetwork extends Construct implements DatabaseNetwork {
  readonly vpc: ec2.IVpc;
  readonly cidr: string;
  readonly computeSubnets: ec2.SubnetSelection;
  readonly peeringRouteTableIds: readonly string[];

  constructor(scope: Construct, id: string, settings: AdoptedVpcSettings) {
    super(scope, id);
    this.cidr = settings.cidr;
    this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: settings.vpcId,
      vpcCidrBlock: settings.cidr,
      availabilityZones: [...new Set(settings.subnets.map((s) => s.availabilityZone))],
    });
    const subnets = settings.subnets.map((s) =>
      ec2.Subnet.fromSubnetAttributes(this, s.subnetId, {
        subnetId: s.subnetId,
        availabilityZone: s.availabilityZone,
        routeTableId: s.routeTableId,
      }),
    );
    this.computeSubnets = { subnets };
    this.peeringRouteTableIds = settings.peeringRouteTableIds;

    if (settings.secretsManagerEndpoint === 'create') {
      const endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
        vpc: this.vpc,
        description: 'PostgreSQL DR: HTTPS from the VPC to the Secrets Manager endpoint',
        allowAllOutbound: false,
      });
      endpointSecurityGroup.addIngressRule(
        ec2.Peer.ipv4(settings.cidr),
        ec2.Port.tcp(443),
        'HTTPS from this VPC',
      );
      new ec2.InterfaceVpcEndpoint(this, 'SecretsManagerEndpoint', {
        vpc: this.vpc,
        service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        // An interface endpoint takes one subnet per zone.
        subnets: { subnets, onePerAz: true },
        securityGroups: [endpointSecurityGroup],
        privateDnsEnabled: true,
        open: false,
      });
    }
  }
}
