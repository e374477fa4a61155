import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** What the database side of a region offers the functions and peering placed in it: created or adopted. */
export interface DatabaseNetwork {
  readonly vpc: ec2.IVpc;
  /** The VPC's IPv4 range. */
  readonly cidr: string;
  /** Private subnets for functions that connect to the databases and reach Secrets Manager. */
  readonly computeSubnets: ec2.SubnetSelection;
  /** Route tables that send the other region's range through the inter-region peering. */
  readonly peeringRouteTableIds: readonly string[];
}

export interface RegionalNetworkProps {
  readonly cidr: string;
  /** Explicit zones: synth never has to look them up in an AWS account. */
  readonly availabilityZones: readonly string[];
  /** Zones with a Secrets Manager endpoint: every zone, or the first only (cheaper, one zone's fate). */
  readonly secretsManagerEndpointZones: 'all' | 'first';
}

/**
 * A VPC with no internet path at all: isolated `data` subnets for the database and isolated `compute` subnets
 * for Lambdas and interface endpoints. AWS APIs are reached through VPC endpoints only.
 */
export class RegionalNetwork extends Construct implements DatabaseNetwork {
  static readonly DATA_SUBNETS = 'data';
  static readonly COMPUTE_SUBNETS = 'compute';

  readonly vpc: ec2.Vpc;
  readonly cidr: string;
  /**
   * For the recovery tooling (workflow step Lambdas) in this region. The orchestration region's database
   * admits it; the other region's database admits this whole VPC range through peering, because security
   * groups cannot be referenced across regions.
   */
  readonly recoveryToolingSecurityGroup: ec2.SecurityGroup;
  private readonly endpointSecurityGroup: ec2.SecurityGroup;
  private readonly endpointZones: RegionalNetworkProps['secretsManagerEndpointZones'];
  private readonly availabilityZones: readonly string[];
  private containerEndpointsAdded = false;

  constructor(scope: Construct, id: string, props: RegionalNetworkProps) {
    super(scope, id);
    this.cidr = props.cidr;
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      availabilityZones: [...props.availabilityZones],
      natGateways: 0,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        { name: RegionalNetwork.DATA_SUBNETS, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
        { name: RegionalNetwork.COMPUTE_SUBNETS, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
      ],
    });

    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    this.endpointZones = props.secretsManagerEndpointZones;
    this.availabilityZones = props.availabilityZones;
    const endpointSecurityGroup = (this.endpointSecurityGroup = new ec2.SecurityGroup(
      this,
      'EndpointSecurityGroup',
      {
        vpc: this.vpc,
        description: 'HTTPS from inside the VPC to AWS interface endpoints',
        allowAllOutbound: false,
      },
    ));
    endpointSecurityGroup.addIngressRule(ec2.Peer.ipv4(props.cidr), ec2.Port.tcp(443), 'HTTPS from this VPC');
    // Secrets Manager: Lambdas fetch database credentials; the hosted rotation function rotates them.
    this.vpc.addInterfaceEndpoint('SecretsManagerEndpoint', {
      service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      subnets: {
        subnetGroupName: RegionalNetwork.COMPUTE_SUBNETS,
        ...(props.secretsManagerEndpointZones === 'first'
          ? { availabilityZones: props.availabilityZones.slice(0, 1) }
          : {}),
      },
      securityGroups: [endpointSecurityGroup],
      privateDnsEnabled: true,
      // The security group above already admits this VPC on 443; the default rule would duplicate it.
      open: false,
    });
    // S3 gateway endpoint: free, and the drill's replication probe writes to the backup buckets.
    this.vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3 });

    // Outbound is bounded by the routes: this VPC, the peered VPC and the AWS endpoints; no internet path.
    this.recoveryToolingSecurityGroup = new ec2.SecurityGroup(this, 'RecoveryToolingSecurityGroup', {
      vpc: this.vpc,
      description: 'Recovery tooling (workflow steps) that connects to the databases',
      allowAllOutbound: true,
    });
  }

  /**
   * The interface endpoints an ECS Fargate task in the compute subnets needs to start with no internet path:
   * ECR's API and registry (its image layers come through the S3 gateway endpoint) and CloudWatch Logs (the
   * awslogs driver), in the zones the Secrets Manager endpoint uses. Added once, by the first construct that
   * runs such a task.
   */
  addContainerTaskEndpoints(): void {
    if (this.containerEndpointsAdded) return;
    this.containerEndpointsAdded = true;
    for (const [id, service] of [
      ['EcrApiEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR],
      ['EcrRegistryEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER],
      ['LogsEndpoint', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
    ] as const)
      this.vpc.addInterfaceEndpoint(id, {
        service,
        subnets: {
          subnetGroupName: RegionalNetwork.COMPUTE_SUBNETS,
          ...(this.endpointZones === 'first'
            ? { availabilityZones: this.availabilityZones.slice(0, 1) }
            : {}),
        },
        securityGroups: [this.endpointSecurityGroup],
        privateDnsEnabled: true,
        open: false,
      });
  }

  get dataSubnets(): ec2.SubnetSelection {
    return { subnetGroupName: RegionalNetwork.DATA_SUBNETS };
  }

  get computeSubnets(): ec2.SubnetSelection {
    return { subnetGroupName: RegionalNetwork.COMPUTE_SUBNETS };
  }

  get peeringRouteTableIds(): readonly string[] {
    return this.vpc.isolatedSubnets.map((subnet) => subnet.routeTable.routeTableId);
  }

  /** The route tables of the database subnets (where routes back to application ranges go). */
  get dataRouteTableIds(): readonly string[] {
    return this.vpc.selectSubnets(this.dataSubnets).subnets.map((subnet) => subnet.routeTable.routeTableId);
  }
}
