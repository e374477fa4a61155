/**
 * An existing RDS PostgreSQL instance in its own VPC (the AWS default VPC range), adopted as docs/adoption.md
 * configures it: the fixture of the adoption tests.
 */
export const ADOPTED_ENDPOINT = 'orders-prod.abcdefghijkl.us-west-2.rds.amazonaws.com';
export const ADOPTED_SECURITY_GROUP = 'sg-0123456789abcdef0';

export const ADOPTED = {
  database: { primaryInstanceIdentifier: 'orders-prod' },
  adoptPrimary: {
    endpointAddress: ADOPTED_ENDPOINT,
    securityGroupId: ADOPTED_SECURITY_GROUP,
    subnetGroupName: 'orders-db-subnets',
    parameterGroup: 'copy',
    parameterGroupBeforeAdoption: 'orders-postgres17',
    vpc: {
      vpcId: 'vpc-0123456789abcdef0',
      cidr: '172.31.0.0/16',
      subnets: [
        {
          subnetId: 'subnet-0aaaaaaaaaaaaaaa1',
          availabilityZone: 'us-west-2a',
          routeTableId: 'rtb-0aaaaaaaaaaaaaaa1',
        },
        {
          subnetId: 'subnet-0aaaaaaaaaaaaaaa2',
          availabilityZone: 'us-west-2b',
          routeTableId: 'rtb-0aaaaaaaaaaaaaaa2',
        },
      ],
      peeringRouteTableIds: ['rtb-0aaaaaaaaaaaaaaa1', 'rtb-0aaaaaaaaaaaaaaa2', 'rtb-0bbbbbbbbbbbbbbb3'],
      secretsManagerEndpoint: 'create',
      containerTaskEndpoints: 'create',
    },
  },
};
