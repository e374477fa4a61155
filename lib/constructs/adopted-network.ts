import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { DrConfig } from '../config';
import type { DatabaseNetwork } from './regional-network';

export type AdoptedVpcSettings = NonNullable<DrConfig['adoptPrimary']>['vpc'];

/**
 * The VPC of an adopted primary, referenced by id: the stack never creates, changes or deletes it. It adds
 * only what it declares here and in the peering: a Secrets Manager interface endpoint when asked
 * (`secretsManagerEndpoint: create`), the dump task's ECR and Logs endpoints when asked
 * (`containerTaskEndpoints: create`), and the routes to the DR region in `peeringRouteTableIds`.
 */
export class AdoptedNetwork extends Construct implements DatabaseNetwork {
  readonly vpc: ec2.IVpc;
  readonly cidr: string;
  readonly computeSubnets: ec2.SubnetSelection;
  readonly peeringRouteTableIds: readonly string[];
  private readonly endpointSubnets: ec2.ISubnet[];
  private readonly containerTaskEndpoints: AdoptedVpcSettings['containerTaskEndpoints'];
  private endpointSecurityGroup: ec2.SecurityGroup | undefined;
  private containerEndpointsAdded = false;

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

    this.endpointSubnets = subnets;
    this.containerTaskEndpoints = settings.containerTaskEndpoints;
    if (settings.secretsManagerEndpoint === 'create')
      this.interfaceEndpoint('SecretsManagerEndpoint', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER);
  }

  /**
   * ECR (API and registry) and CloudWatch Logs endpoints for the dump task, when the config says to create
   * them (`containerTaskEndpoints`); with `existing` the VPC is trusted to reach them.
   */
  addContainerTaskEndpoints(): void {
    if (this.containerTaskEndpoints !== 'create' || this.containerEndpointsAdded) return;
    this.containerEndpointsAdded = true;
    this.interfaceEndpoint('EcrApiEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR);
    this.interfaceEndpoint('EcrRegistryEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER);
    this.interfaceEndpoint('LogsEndpoint', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS);
  }

  /** An interface endpoint with private DNS in the listed subnets (one per zone), HTTPS from the VPC. */
  private interfaceEndpoint(id: string, service: ec2.InterfaceVpcEndpointAwsService): void {
    this.endpointSecurityGroup ??= (() => {
      // Its description once named the Secrets Manager endpoint alone; the new one replaces the group on the
      // next deploy (CloudFormation moves the endpoint to the new group, then deletes the old one).
      const group = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
        vpc: this.vpc,
        description: 'PostgreSQL DR: HTTPS from the VPC to the interface endpoints this stack adds',
        allowAllOutbound: false,
      });
      group.addIngressRule(ec2.Peer.ipv4(this.cidr), ec2.Port.tcp(443), 'HTTPS from this VPC');
      return group;
    })();
    new ec2.InterfaceVpcEndpoint(this, id, {
      vpc: this.vpc,
      service,
      // An interface endpoint takes one subnet per zone.
      subnets: { subnets: this.endpointSubnets, onePerAz: true },
      securityGroups: [this.endpointSecurityGroup],
      privateDnsEnabled: true,
      open: false,
    });
  }
}
