import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { ConfigError } from '../../lib/config';
import { acknowledgeNistAppDecisions } from '../../lib/nag';
import { ADOPTED, ADOPTED_ENDPOINT, ADOPTED_SECURITY_GROUP } from '../support/adopted-config';
import { synthApp, testConfig } from './test-config';

type Resources = Record<
  string,
  {
    Type: string;
    Properties?: Record<string, unknown>;
    DeletionPolicy?: string;
    UpdateReplacePolicy?: string;
  }
>;

const ENDPOINT = ADOPTED_ENDPOINT;
const SG = ADOPTED_SECURITY_GROUP;

const resourcesOf = (t: Template, type: string) => t.findResources(type) as Resources;
const propsOf = (t: Template, type: string) =>
  Object.values(resourcesOf(t, type)).map((r) => r.Properties ?? {});

/** A CloudFormation value with its tokens flattened to text (Fn::Join parts, Refs as {Ref:…}). */
function text(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value);
}

describe('adopting an existing primary (adoptPrimary)', () => {
  const { stacks } = synthApp(ADOPTED);
  const primary = Template.fromStack(stacks.primary);
  const secondary = Template.fromStack(stacks.secondary);

  it('creates no instance, VPC, subnet group or rotation in the primary region: the instance is referenced', () => {
    for (const type of [
      'AWS::RDS::DBInstance',
      'AWS::RDS::DBSubnetGroup',
      'AWS::EC2::VPC',
      'AWS::EC2::Subnet',
      'AWS::SecretsManager::RotationSchedule',
    ])
      primary.resourceCountIs(type, 0);
  });

  /** The deploy-time RDS calls of the primary stack, by construct id, with their create, update and delete. */
  const calls = (t: Template) =>
    Object.entries(resourcesOf(t, 'Custom::AWS')).map(([id, r]) => ({
      id,
      create: text(r.Properties?.Create),
      update: text(r.Properties?.Update),
      remove: text(r.Properties?.Delete),
    }));
  /** `"Key":"value"` as it appears inside a call's JSON text (itself a JSON string in the template). */
  const pair = (key: string, value: string | boolean) =>
    JSON.stringify(JSON.stringify({ [key]: value }).slice(1, -1)).slice(1, -1);

  it("copies the instance's own parameter group, sets the DR parameters in it for the next reboot, and associates it without applying queued changes", () => {
    // No group of the stack's own: the copy keeps every setting the owner made.
    primary.resourceCountIs('AWS::RDS::DBParameterGroup', 0);
    const find = (part: string) => calls(primary).find((c) => c.id.includes(part));
    const copy = find('ParameterGroupCopy');
    const values = find('ParameterGroupDrValues');
    const association = find('ParameterGroupAssociation');
    expect(copy?.create).toContain('copyDBParameterGroup');
    expect(copy?.create).toContain(pair('SourceDBParameterGroupIdentifier', 'orders-postgres17'));
    expect(copy?.create).toContain(pair('TargetDBParameterGroupIdentifier', 'orders-prod-dr-parameters'));
    expect(copy?.remove).toContain('deleteDBParameterGroup');
    expect(values?.create).toContain('modifyDBParameterGroup');
    for (const name of ['rds.force_ssl', 'rds.logical_replication']) {
      expect(values?.create).toContain(pair('ParameterName', name));
    }
    expect(values?.create).toContain(pair('ApplyMethod', 'pending-reboot'));
    expect(values?.create).not.toContain('immediate');
    expect(association?.create).toContain('modifyDBInstance');
    expect(association?.create).toContain(pair('DBParameterGroupName', 'orders-prod-dr-parameters'));
    expect(association?.create).toContain(pair('ApplyImmediately', false));
    expect(association?.update).toBe(association?.create);
    // Deleting the stack gives the old group back, the same way; a retired or deleted instance does not wedge it.
    expect(association?.remove).toContain(pair('DBParameterGroupName', 'orders-postgres17'));
    expect(association?.remove).toContain(pair('ApplyImmediately', false));
    expect(association?.remove).toContain('DBInstanceNotFound');
    for (const call of calls(primary))
      for (const body of [call.create, call.update, call.remove]) {
        expect(body).not.toMatch(/rebootDBInstance/i);
        expect(body).not.toContain(pair('ApplyImmediately', true));
      }
    // The association runs after the DR values are set, and the values after the copy.
    const resources = primary.toJSON().Resources as Record<string, { Type: string; DependsOn?: string[] }>;
    const idOf = (part: string) =>
      Object.keys(resources).find((k) => k.includes(part) && resources[k]?.Type === 'Custom::AWS') ?? '';
    expect(resources[idOf('ParameterGroupAssociation')]?.DependsOn).toEqual(
      expect.arrayContaining([idOf('ParameterGroupDrValues')]),
    );
    expect(resources[idOf('ParameterGroupDrValues')]?.DependsOn).toEqual(
      expect.arrayContaining([idOf('ParameterGroupCopy')]),
    );
  });

  it('with a default parameter group, makes a group of the family with the DR parameters (a default group holds only defaults)', () => {
    const { stacks: fromDefault } = synthApp({
      ...ADOPTED,
      adoptPrimary: { ...ADOPTED.adoptPrimary, parameterGroupBeforeAdoption: 'default.postgres17' },
    });
    const t = Template.fromStack(fromDefault.primary);
    const [group] = Object.values(resourcesOf(t, 'AWS::RDS::DBParameterGroup'));
    expect(group?.Properties?.Parameters).toMatchObject({
      'rds.force_ssl': '1',
      'rds.logical_replication': '1',
    });
    expect(group?.Properties?.Family).toBe('postgres17');
    // Retained: the instance may still use it when the stack goes.
    expect(group?.DeletionPolicy).toBe('Retain');
    expect(calls(t).some((c) => c.create.includes('copyDBParameterGroup'))).toBe(false);
    expect(calls(t).find((c) => c.id.includes('ParameterGroupAssociation'))?.remove).toContain(
      'default.postgres17',
    );
  });

  it('with parameterGroup unchanged, changes nothing of the instance: no group, no call', () => {
    const { stacks: unchanged } = synthApp({
      ...ADOPTED,
      adoptPrimary: { ...ADOPTED.adoptPrimary, parameterGroup: 'unchanged' },
    });
    const t = Template.fromStack(unchanged.primary);
    t.resourceCountIs('AWS::RDS::DBParameterGroup', 0);
    expect(calls(t)).toEqual([]);
    expect(unchanged.primary.database.parameterGroupName).toBe('orders-postgres17');
  });

  it('lets the deploy-time calls touch only that instance, its own group and the copy', () => {
    const statements = propsOf(primary, 'AWS::IAM::Policy').flatMap(
      (p) =>
        (p.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement,
    );
    const rds = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('rds:')));
    const grants = new Map(
      rds.flatMap((s) => [s.Action].flat().map((action) => [action, [s.Resource].flat().map(text)] as const)),
    );
    expect([...grants.keys()].sort()).toEqual([
      'rds:CopyDBParameterGroup',
      'rds:DeleteDBParameterGroup',
      'rds:ModifyDBInstance',
      'rds:ModifyDBParameterGroup',
    ]);
    const names = (action: string) =>
      (grants.get(action) ?? []).map((arn) => /:(db|pg):([^"]+)"/.exec(arn)?.slice(1).join(':')).sort();
    expect(names('rds:CopyDBParameterGroup')).toEqual([
      'pg:orders-postgres17',
      'pg:orders-prod-dr-parameters',
    ]);
    expect(names('rds:DeleteDBParameterGroup')).toEqual(['pg:orders-prod-dr-parameters']);
    expect(names('rds:ModifyDBParameterGroup')).toEqual(['pg:orders-prod-dr-parameters']);
    expect(names('rds:ModifyDBInstance')).toEqual([
      'db:orders-prod',
      'pg:orders-postgres17',
      'pg:orders-prod-dr-parameters',
    ]);
  });

  it("admits the DR region's range, the probe and the dump task on the instance's own security group", () => {
    const ingress = propsOf(primary, 'AWS::EC2::SecurityGroupIngress').filter((r) => r.GroupId === SG);
    expect(ingress).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ CidrIp: '10.20.0.0/16', FromPort: 5432, ToPort: 5432 }),
      ]),
    );
    expect(
      ingress
        .filter((r) => r.SourceSecurityGroupId !== undefined && r.FromPort === 5432)
        .map((r) => r.Description)
        .sort(),
    ).toEqual(['primary health probe', 'scheduled dump task']);
    expect(ingress).toHaveLength(3);
  });

  it('peers the adopted VPC with the DR VPC and routes the DR range from each listed route table', () => {
    primary.hasResourceProperties('AWS::EC2::VPCPeeringConnection', {
      VpcId: 'vpc-0123456789abcdef0',
      PeerRegion: 'us-east-1',
    });
    const routes = propsOf(primary, 'AWS::EC2::Route');
    expect(routes.map((r) => r.RouteTableId).sort()).toEqual(ADOPTED.adoptPrimary.vpc.peeringRouteTableIds);
    expect(routes.every((r) => r.DestinationCidrBlock === '10.20.0.0/16')).toBe(true);
    // The DR side routes back to the adopted range.
    const back = propsOf(secondary, 'AWS::EC2::Route').filter(
      (r) => r.DestinationCidrBlock === '172.31.0.0/16',
    );
    expect(back).toHaveLength(4);
  });

  it('runs the probe in the listed subnets, watching the adopted endpoint, with a Secrets Manager endpoint', () => {
    const probe = propsOf(primary, 'AWS::Lambda::Function').find(
      (f) => f.FunctionName === 'pg-dr-primary-health-probe',
    );
    expect(probe?.VpcConfig).toMatchObject({
      SubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'],
    });
    expect(probe?.Environment).toMatchObject({ Variables: { DB_HOST: ENDPOINT, DB_PORT: '5432' } });
    primary.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcId: 'vpc-0123456789abcdef0',
      PrivateDnsEnabled: true,
      SubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'],
    });
  });

  it('runs the dump task in the listed subnets, with the ECR and Logs endpoints only when asked to create them', () => {
    const services = (template: Template) =>
      propsOf(template, 'AWS::EC2::VPCEndpoint')
        .map((e) => String(e.ServiceName).split('.').slice(3).join('.'))
        .sort();
    expect(services(primary)).toEqual(['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager']);
    const existing = synthApp({
      ...ADOPTED,
      adoptPrimary: {
        ...ADOPTED.adoptPrimary,
        vpc: {
          ...ADOPTED.adoptPrimary.vpc,
          secretsManagerEndpoint: 'existing',
          containerTaskEndpoints: 'existing',
        },
      },
    });
    expect(services(Template.fromStack(existing.stacks.primary))).toEqual([]);
    expect(
      JSON.stringify(
        Template.fromStack(existing.stacks.primary).findResources('AWS::StepFunctions::StateMachine'),
      ),
    ).toContain('pg-dr-scheduled-dump');
  });

  it('makes the cross-region replica a replica of the adopted instance', () => {
    const [replica] = propsOf(secondary, 'AWS::RDS::DBInstance');
    expect(text(replica?.SourceDBInstanceIdentifier)).toContain(':rds:us-west-2:111122223333:db:orders-prod');
    expect(replica?.SourceRegion).toBe('us-west-2');
  });

  it('seeds the topology with the adopted instance as the writer', () => {
    const dns = Template.fromStack(stacks.failoverDns);
    const seeds = propsOf(dns, 'Custom::AWS').map((p) => text(p.Create));
    const document = seeds.find((s) => s.includes('generation'));
    expect(document).toContain('orders-prod');
    expect(document).toContain(ENDPOINT);
  });

  it('is cdk-nag clean (AWS Solutions and NIST 800-53 r5), every acknowledgment with its reason', () => {
    const { app } = synthApp(ADOPTED);
    acknowledgeNistAppDecisions(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
    expect(() => app.synth()).not.toThrow();
  });

  it("lets the readers of the secret decrypt it with the owner's keys, multi-Region ones too, in each region", () => {
    const primaryKey = 'arn:aws:kms:us-west-2:111122223333:key/mrk-0123456789abcdef0123456789abcdef';
    const replicaKey = 'arn:aws:kms:us-east-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef';
    const { stacks: keyed } = synthApp({
      ...ADOPTED,
      adoptPrimary: { ...ADOPTED.adoptPrimary, secretKeyArn: primaryKey, secretReplicaKeyArn: replicaKey },
    });
    const decryptable = (stack: Parameters<typeof Template.fromStack>[0]) =>
      propsOf(Template.fromStack(stack), 'AWS::IAM::Policy')
        .flatMap(
          (p) => (p.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }).Statement,
        )
        .filter((st) => [st.Action].flat().includes('kms:Decrypt'))
        .flatMap((st) => [st.Resource].flat().map(text));
    expect(decryptable(keyed.primary).some((r) => r.includes(primaryKey))).toBe(true);
    expect(decryptable(keyed.secondary).filter((r) => r.includes(replicaKey)).length).toBeGreaterThanOrEqual(
      2,
    );
    expect(decryptable(keyed.orchestration).some((r) => r.includes(replicaKey))).toBe(true);
  });

  it('leaves it out when secretsManagerEndpoint is existing', () => {
    const { stacks: existing } = synthApp({
      ...ADOPTED,
      adoptPrimary: {
        ...ADOPTED.adoptPrimary,
        vpc: { ...ADOPTED.adoptPrimary.vpc, secretsManagerEndpoint: 'existing' },
      },
    });
    // Only the dump task's endpoints (containerTaskEndpoints create) are left.
    expect(
      propsOf(Template.fromStack(existing.primary), 'AWS::EC2::VPCEndpoint').map((e) => e.ServiceName),
    ).toEqual([
      'com.amazonaws.us-west-2.ecr.api',
      'com.amazonaws.us-west-2.ecr.dkr',
      'com.amazonaws.us-west-2.logs',
    ]);
  });
});

describe('adoption configuration', () => {
  const adopt =
    (over: Record<string, unknown>, top: Record<string, unknown> = {}) =>
    () =>
      testConfig({ ...ADOPTED, ...top, adoptPrimary: { ...ADOPTED.adoptPrimary, ...over } });

  it('takes the primary range and zones from the adopted VPC', () => {
    const config = testConfig(ADOPTED);
    expect(config.network.primaryCidr).toBe('172.31.0.0/16');
    expect(config.network.primaryAvailabilityZones).toEqual(['us-west-2a', 'us-west-2b']);
  });

  it.each([
    [
      'an endpoint of another instance',
      adopt({ endpointAddress: 'billing.abcdefghijkl.us-west-2.rds.amazonaws.com' }),
      'dr.adoptPrimary.endpointAddress must be the endpoint of database.primaryInstanceIdentifier orders-prod',
    ],
    [
      'an endpoint in another region',
      adopt({ endpointAddress: 'orders-prod.abcdefghijkl.eu-west-1.rds.amazonaws.com' }),
      'dr.adoptPrimary.endpointAddress must be the endpoint of database.primaryInstanceIdentifier',
    ],
    [
      'a VPC range overlapping the DR VPC',
      adopt({ vpc: { ...ADOPTED.adoptPrimary.vpc, cidr: '10.20.128.0/17' } }),
      'dr.network.secondaryCidr must not overlap adoptPrimary.vpc.cidr 10.20.128.0/17',
    ],
    [
      'a range that does not start its block',
      adopt({ vpc: { ...ADOPTED.adoptPrimary.vpc, cidr: '172.31.0.1/16' } }),
      'dr.adoptPrimary.vpc.cidr must be an IPv4 CIDR block whose address starts its range',
    ],
    [
      'a subnet in another region',
      adopt({
        vpc: {
          ...ADOPTED.adoptPrimary.vpc,
          subnets: [
            {
              subnetId: 'subnet-0aaaaaaaaaaaaaaa1',
              availabilityZone: 'us-east-1a',
              routeTableId: 'rtb-0aaaaaaaaaaaaaaa1',
            },
          ],
        },
      }),
      'dr.adoptPrimary.vpc.subnets.0.availabilityZone must be a zone of us-west-2',
    ],
    [
      'the recovery tooling in the adopted region',
      adopt({}, { orchestrationRegion: 'us-west-2' }),
      'dr.orchestrationRegion must be us-east-1 when adoptPrimary is set',
    ],
    [
      'a created-VPC range next to an adopted VPC',
      adopt({}, { network: { primaryCidr: '10.10.0.0/16' } }),
      'dr.network.primaryCidr applies only to a created primary',
    ],
    [
      'a security group id that is not one',
      adopt({ securityGroupId: 'orders-db' }),
      'dr.adoptPrimary.securityGroupId must be a security group id such as sg-0123456789abcdef0',
    ],
    [
      'a secret key in another region',
      adopt({ secretKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' }),
      'dr.adoptPrimary.secretKeyArn must be a key of account 111122223333 in us-west-2',
    ],
    [
      'the same subnet twice',
      adopt({
        vpc: {
          ...ADOPTED.adoptPrimary.vpc,
          subnets: [ADOPTED.adoptPrimary.vpc.subnets[0], ADOPTED.adoptPrimary.vpc.subnets[0]],
        },
      }),
      'dr.adoptPrimary.vpc.subnets must name each subnet once',
    ],
    [
      'no parameter group to give back',
      adopt({ parameterGroupBeforeAdoption: undefined }),
      'dr.adoptPrimary.parameterGroupBeforeAdoption',
    ],
  ])('refuses %s, naming the key', (_what, build, message) => {
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(message);
  });
});

describe('application access (applicationAccess)', () => {
  const access = {
    applicationAccess: {
      primary: {
        cidrs: ['10.50.0.0/16'],
        securityGroupIds: ['sg-0cccccccccccccccc'],
        routes: [{ cidr: '10.50.0.0/16', vpcPeeringConnectionId: 'pcx-0ddddddddddddddd1' }],
      },
      secondary: {
        cidrs: ['10.60.0.0/16'],
        securityGroupIds: [],
        routes: [{ cidr: '10.60.0.0/16', transitGatewayId: 'tgw-0eeeeeeeeeeeeeee1' }],
      },
    },
  };
  const { stacks } = synthApp(access);
  const primary = Template.fromStack(stacks.primary);
  const secondary = Template.fromStack(stacks.secondary);

  /** Every PostgreSQL-port ingress rule of a template, inline or standalone. */
  const ingress = (t: Template) => [
    ...propsOf(t, 'AWS::EC2::SecurityGroupIngress'),
    ...propsOf(t, 'AWS::EC2::SecurityGroup').flatMap(
      (sg) => (sg.SecurityGroupIngress as Record<string, unknown>[] | undefined) ?? [],
    ),
  ];

  it("admits each region's application ranges and security groups to the database port", () => {
    expect(ingress(primary)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ CidrIp: '10.50.0.0/16', FromPort: 5432, ToPort: 5432 }),
        expect.objectContaining({ SourceSecurityGroupId: 'sg-0cccccccccccccccc', FromPort: 5432 }),
      ]),
    );
    expect(ingress(secondary)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ CidrIp: '10.60.0.0/16', FromPort: 5432, ToPort: 5432 }),
      ]),
    );
    // Each range is admitted in its own region only.
    expect(ingress(primary).some((r) => r.CidrIp === '10.60.0.0/16')).toBe(false);
    expect(ingress(secondary).some((r) => r.CidrIp === '10.50.0.0/16')).toBe(false);
  });

  it('routes back to the application ranges from the database subnets only, through the named connection', () => {
    const toApps = propsOf(primary, 'AWS::EC2::Route').filter(
      (r) => r.DestinationCidrBlock === '10.50.0.0/16',
    );
    // Two zones: one data subnet route table each (the compute subnets hold no database).
    expect(toApps).toHaveLength(2);
    expect(toApps.every((r) => r.VpcPeeringConnectionId === 'pcx-0ddddddddddddddd1')).toBe(true);
    const viaTgw = propsOf(secondary, 'AWS::EC2::Route').filter(
      (r) => r.DestinationCidrBlock === '10.60.0.0/16',
    );
    expect(viaTgw).toHaveLength(2);
    expect(viaTgw.every((r) => r.TransitGatewayId === 'tgw-0eeeeeeeeeeeeeee1')).toBe(true);
  });

  it('admits no application by default', () => {
    const { stacks: plain } = synthApp();
    for (const t of [Template.fromStack(plain.primary), Template.fromStack(plain.secondary)])
      expect(
        ingress(t).filter((r) => r.FromPort === 5432 && /^Application/.test(String(r.Description))),
      ).toEqual([]);
  });

  it.each([
    [
      { primary: { cidrs: ['0.0.0.0/0'], securityGroupIds: [], routes: [] } },
      'dr.applicationAccess.primary.cidrs.0 is wider than a /8',
    ],
    [
      {
        secondary: {
          cidrs: [],
          securityGroupIds: [],
          routes: [{ cidr: '10.10.0.0/24', vpcPeeringConnectionId: 'pcx-0ddddddddddddddd1' }],
        },
      },
      'dr.applicationAccess.secondary.routes.0.cidr must not overlap the database VPCs',
    ],
    [
      {
        primary: {
          cidrs: [],
          securityGroupIds: [],
          routes: [
            {
              cidr: '10.70.0.0/16',
              vpcPeeringConnectionId: 'pcx-0ddddddddddddddd1',
              transitGatewayId: 'tgw-0eeeeeeeeeeeeeee1',
            },
          ],
        },
      },
      'needs exactly one of vpcPeeringConnectionId or transitGatewayId',
    ],
  ])('refuses %j', (applicationAccess, message) => {
    expect(() => testConfig({ applicationAccess })).toThrow(message);
  });

  it('names each route by its range: removing one leaves the others (no replacement, no RouteAlreadyExists)', () => {
    const route = (cidr: string) => ({ cidr, vpcPeeringConnectionId: 'pcx-0ddddddddddddddd1' });
    const ids = (routes: object[]) =>
      Object.entries(
        Template.fromStack(
          synthApp({ applicationAccess: { primary: { routes } } }).stacks.primary,
        ).findResources('AWS::EC2::Route') as Record<
          string,
          { Properties: { DestinationCidrBlock: string } }
        >,
      )
        .filter(([, r]) => r.Properties.DestinationCidrBlock === '10.71.0.0/16')
        .map(([id]) => id)
        .sort();
    const both = ids([route('10.70.0.0/16'), route('10.71.0.0/16')]);
    expect(both).toHaveLength(2);
    expect(ids([route('10.71.0.0/16')])).toEqual(both);
    expect(() =>
      testConfig({
        applicationAccess: { primary: { routes: [route('10.70.0.0/16'), route('10.70.0.0/16')] } },
      }),
    ).toThrow('dr.applicationAccess.primary.routes must name each range once');
  });

  it('refuses routes in an adopted VPC (they are the owner’s to manage)', () => {
    expect(() =>
      testConfig({
        ...ADOPTED,
        applicationAccess: {
          primary: { routes: [{ cidr: '10.70.0.0/16', transitGatewayId: 'tgw-0eeeeeeeeeeeeeee1' }] },
        },
      }),
    ).toThrow('dr.applicationAccess.primary.routes must be empty when adoptPrimary is set');
  });
});

describe("the owner's parameters (database.parameters)", () => {
  it('go into every parameter group the app creates, so a promoted replica has them too; the DR ones always win', () => {
    const { stacks } = synthApp({
      database: { parameters: { shared_preload_libraries: 'pg_stat_statements', max_connections: '400' } },
    });
    for (const stack of [stacks.primary, stacks.secondary]) {
      const groups = propsOf(Template.fromStack(stack), 'AWS::RDS::DBParameterGroup');
      expect(groups).toHaveLength(1);
      expect(groups[0]?.Parameters).toEqual({
        shared_preload_libraries: 'pg_stat_statements',
        max_connections: '400',
        log_min_duration_statement: '1000',
        'rds.force_ssl': '1',
        'rds.logical_replication': '1',
      });
    }
  });

  it('refuses to override a DR parameter, naming the key', () => {
    expect(() => testConfig({ database: { parameters: { 'rds.force_ssl': '0' } } })).toThrow(
      'dr.database.parameters must not set rds.force_ssl or rds.logical_replication',
    );
  });
});
