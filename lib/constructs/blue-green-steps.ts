import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { STEPS_SERVICE } from '../../lambdas/shared/metric-names';
import { acknowledgeNagFinding } from '../nag';
import type { RegionalNetwork } from './regional-network';
import { grantSecretDecrypt, grantSecretsUnderPrefix } from './secret-access';
import { grantTopologyRead, grantTopologyWrite, type TopologyLocation } from './topology-access';
import { grantRecordUpserts } from './record-access';
import { stepLambda } from './step-lambda';
import { GREEN_OF_TAG, PROVISIONED_BY_TAG } from '../../lambdas/shared/provisioning-tags';

export interface BlueGreenStepsProps {
  /** The orchestration region's network: database steps run in it. */
  readonly network: RegionalNetwork;
  readonly toolingSecurityGroup: ec2.ISecurityGroup;
  /** Prisma migrations folder, bundled into the migration and verify steps. */
  readonly migrationsDirectory: string;
  /** Steps may read only secrets named under this prefix. */
  readonly secretNamePrefix: string;
  /** Keys that may encrypt those secrets in this region. */
  readonly secretKeys: readonly kms.IKey[];
  /** The one record the DNS flip may change. */
  readonly hostedZoneId: string;
  readonly recordName: string;
  /** State machines a real cutover must not race (the drill, the region failover): the input check lists them. */
  readonly exclusiveWith: readonly string[];
  /** Where the topology record lives (the failover DNS stack's region), and the prefix of its parameters. */
  readonly topology: TopologyLocation;
  /**
   * Where a new cross-region replica of the writer goes (the DR rebuild after a cutover, the re-protect after a
   * failover): each region's deployed placement; the replica goes in the other region than the writer's.
   */
  readonly replicaPlacements: ReplicaPlacements;
}

/** Both regions' placements for a new replica, and what every replica shares. */
export interface ReplicaPlacements {
  readonly account: string;
  readonly multiAz: boolean;
  readonly port: number;
  readonly maxAllocatedStorageGiB: number;
  readonly maintenanceWindow: string;
  /** Days the writer's automated backups replicated to the other region are kept (backups.crossRegionRetentionDays). */
  readonly backupReplicationRetentionDays: number;
  readonly regions: readonly {
    readonly region: string;
    readonly subnetGroupName: string;
    readonly securityGroupId: string;
    readonly parameterGroupName: string;
    readonly kmsKeyArn: string;
  }[];
}

/** Where the bundled migrations land inside each function's package. */
const MIGRATIONS_IN_PACKAGE = 'migrations';

export type StepName =
  | 'connectivityCheck'
  | 'migrationPlan'
  | 'migrate'
  | 'verify'
  | 'smokeTest'
  | 'dnsFlip'
  | 'cutover'
  | 'unfence'
  | 'drReplica'
  | 'topology'
  | 'validateInput'
  | 'greenInstance'
  | 'greenDatabase'
  | 'greenSchema'
  | 'retirementInstance'
  | 'endWayBack';

/**
 * Steps of the green provisioning and blue retirement workflows only (the migration workflow neither invokes
 * nor is granted them).
 */
export const OWN_WORKFLOW_STEPS: readonly StepName[] = [
  'greenInstance',
  'greenDatabase',
  'greenSchema',
  'retirementInstance',
  'endWayBack',
];

interface StepSpec {
  readonly entry: string[];
  readonly handler: string;
  readonly description: string;
  readonly timeout: Duration;
  /** Database steps run in the VPC; the others need the internet (the app's URL, the Route 53 API). */
  readonly inVpc: boolean;
  readonly migrations: boolean;
  readonly memorySize: number;
}

const STEPS: Record<StepName, StepSpec> = {
  validateInput: {
    entry: ['workflow-input', 'handler.ts'],
    handler: 'handler',
    description: 'Blue-green step: validate the workflow input before anything is touched',
    timeout: Duration.seconds(30),
    inVpc: false,
    migrations: false,
    memorySize: 256,
  },
  connectivityCheck: {
    entry: ['connectivity-check', 'handler.ts'],
    handler: 'handler',
    description: 'Blue-green step: reach a database and report its role and replication',
    timeout: Duration.seconds(60),
    inVpc: true,
    migrations: false,
    memorySize: 256,
  },
  migrationPlan: {
    entry: ['migrations', 'handlers.ts'],
    handler: 'planHandler',
    description: 'Blue-green step: plan pending Prisma migrations (dry run, writes nothing)',
    timeout: Duration.minutes(2),
    inVpc: true,
    migrations: true,
    memorySize: 256,
  },
  migrate: {
    entry: ['migrations', 'handlers.ts'],
    handler: 'applyHandler',
    description: 'Blue-green step: apply pending Prisma migrations to green',
    timeout: Duration.minutes(15),
    inVpc: true,
    migrations: true,
    memorySize: 512,
  },
  verify: {
    entry: ['verify', 'handler.ts'],
    handler: 'handler',
    description: 'Blue-green step: verify green (migrations, tables, row counts, replication lag)',
    timeout: Duration.minutes(15),
    inVpc: true,
    migrations: true,
    memorySize: 512,
  },
  cutover: {
    entry: ['cutover', 'handler.ts'],
    handler: 'handler',
    description: 'Blue-green step: zero-loss cutover (fence green, fence blue and catch up, finish or abort)',
    timeout: Duration.minutes(11),
    inVpc: true,
    migrations: false,
    memorySize: 256,
  },
  unfence: {
    entry: ['cutover', 'handler.ts'],
    handler: 'unfenceHandler',
    description:
      'Blue-green step: lift the write fence on blue (abort a cutover); short, so it can be retried often',
    // Connect (10 s) and two short statements (60 s limit each): a timed-out attempt has surely ended.
    timeout: Duration.seconds(90),
    inVpc: true,
    migrations: false,
    memorySize: 256,
  },
  drReplica: {
    entry: ['dr-replica', 'handler.ts'],
    handler: 'handler',
    description:
      'DR rebuild step: create a cross-region read replica of the writer, attach its parameters, reboot, report',
    timeout: Duration.minutes(2),
    inVpc: false,
    migrations: false,
    memorySize: 256,
  },
  topology: {
    entry: ['topology', 'handler.ts'],
    handler: 'handler',
    description:
      'Blue-green and DR rebuild step: record the roles just changed (new writer, its replica) in the topology',
    timeout: Duration.seconds(30),
    inVpc: false,
    migrations: false,
    memorySize: 256,
  },
  greenInstance: {
    entry: ['green-provisioning', 'instance-handler.ts'],
    handler: 'greenInstanceHandler',
    description:
      'Green provisioning step: create green like the writer with its own secret, follow RDS until it is available',
    timeout: Duration.seconds(60),
    inVpc: false,
    migrations: false,
    memorySize: 256,
  },
  greenDatabase: {
    entry: ['green-provisioning', 'database-handlers.ts'],
    handler: 'greenDatabaseHandler',
    description:
      'Green provisioning step: check blue for what replication cannot carry; follow the initial copy to green',
    // Connect (10 s) and a few statements of at most 30 s each.
    timeout: Duration.minutes(2),
    inVpc: true,
    migrations: true,
    memorySize: 256,
  },
  greenSchema: {
    entry: ['green-provisioning', 'database-handlers.ts'],
    handler: 'greenSchemaHandler',
    description:
      'Green provisioning step: replay blue’s migrations on green, compare schemas, publish on blue, subscribe green',
    timeout: Duration.minutes(15),
    inVpc: true,
    migrations: true,
    memorySize: 512,
  },
  retirementInstance: {
    entry: ['blue-retirement', 'instance-handler.ts'],
    handler: 'retirementInstanceHandler',
    description:
      'Blue retirement step: plan the window; delete (final snapshot) or stop blue and its DR replicas, a round at a time',
    timeout: Duration.seconds(60),
    inVpc: false,
    migrations: false,
    memorySize: 256,
  },
  endWayBack: {
    entry: ['blue-retirement', 'way-back-handler.ts'],
    handler: 'endWayBackHandler',
    description:
      'Blue retirement step: end the way back (blue’s subscription, the writer’s slot and publication)',
    // Connect (10 s) to each database and a few statements of at most 30 s each.
    timeout: Duration.minutes(2),
    inVpc: true,
    migrations: false,
    memorySize: 256,
  },
  smokeTest: {
    entry: ['smoke-test', 'handler.ts'],
    handler: 'handler',
    description: 'Blue-green step: smoke-test the application URL',
    timeout: Duration.minutes(3),
    inVpc: false,
    migrations: false,
    memorySize: 256,
  },
  dnsFlip: {
    entry: ['dns-flip', 'handler.ts'],
    handler: 'handler',
    description:
      'Blue-green step: flip (or roll back) the database record, wait for INSYNC, confirm the answer',
    timeout: Duration.minutes(10),
    inVpc: false,
    migrations: false,
    memorySize: 256,
  },
};

/**
 * The Lambda steps of the blue-green migration workflow, each with only the access it needs: database steps
 * inside the orchestration VPC reading secrets under one prefix; the DNS flip allowed to UPSERT exactly one
 * record of one zone.
 */
export class BlueGreenSteps extends Construct {
  readonly functions: Record<StepName, nodejs.NodejsFunction>;

  constructor(scope: Construct, id: string, props: BlueGreenStepsProps) {
    super(scope, id);
    const migrationsSource = path.resolve(props.migrationsDirectory);
    const make = (name: StepName, spec: StepSpec): nodejs.NodejsFunction => {
      const fn = stepLambda(this, name, {
        entry: spec.entry,
        handler: spec.handler,
        description: spec.description,
        timeout: spec.timeout,
        memorySize: spec.memorySize,
        service: STEPS_SERVICE,
        ...(spec.inVpc
          ? {
              vpc: {
                vpc: props.network.vpc,
                subnets: props.network.computeSubnets,
                securityGroup: props.toolingSecurityGroup,
              },
            }
          : {}),
        ...(spec.migrations
          ? {
              environment: { MIGRATIONS_DIR: `/var/task/${MIGRATIONS_IN_PACKAGE}` },
              bundling: {
                commandHooks: {
                  beforeBundling: () => [],
                  beforeInstall: () => [],
                  afterBundling: (_input: string, output: string) => [
                    `cp -R ${JSON.stringify(migrationsSource)} ${JSON.stringify(path.join(output, MIGRATIONS_IN_PACKAGE))}`,
                  ],
                },
              },
            }
          : {}),
      });
      if (spec.inVpc) {
        grantSecretsUnderPrefix(
          fn,
          props.secretNamePrefix,
          'Blue and green are chosen per migration, so their secrets are not known at synth',
        );
        grantSecretDecrypt(fn, props.secretKeys);
      }
      return fn;
    };

    this.functions = Object.fromEntries(
      (Object.entries(STEPS) as [StepName, StepSpec][]).map(([name, spec]) => [name, make(name, spec)]),
    ) as Record<StepName, nodejs.NodejsFunction>;

    this.grantReplicaPlacements(props.replicaPlacements);
    this.grantGreenProvisioning(props);
    this.grantRecordChanges(props);
    this.grantTopology(props.topology);
    this.functions.validateInput.addEnvironment('EXCLUSIVE_WITH', props.exclusiveWith.join(','));
    this.functions.validateInput.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:ListExecutions'], resources: [...props.exclusiveWith] }),
    );
  }

  /**
   * The topology step reads the topology's parameters and writes the document and the two record targets
   * (never the health-checked writer: the topology sync's); the input check and the replica step only read
   * the document (blue, or the writer, must be the one it names).
   */
  private grantTopology(topology: BlueGreenStepsProps['topology']): void {
    grantTopologyRead(this.functions.topology, topology, [
      'document',
      'primaryRecord',
      'secondaryRecord',
      'healthCheckedWriter',
    ]);
    grantTopologyWrite(this.functions.topology, topology, ['document', 'primaryRecord', 'secondaryRecord']);
    for (const step of [this.functions.validateInput, this.functions.drReplica])
      grantTopologyRead(step, topology);
  }

  /**
   * The DR replica step: where a replica may go (its environment, both regions), and only the RDS and KMS calls
   * it needs there.
   */
  private grantReplicaPlacements(place: ReplicaPlacements): void {
    const stack = Stack.of(this);
    const replicaStep = this.functions.drReplica;
    replicaStep.addEnvironment('PARTITION', stack.partition);
    replicaStep.addEnvironment('ACCOUNT_ID', place.account);
    replicaStep.addEnvironment('REPLICA_MULTI_AZ', String(place.multiAz));
    replicaStep.addEnvironment('REPLICA_PORT', String(place.port));
    replicaStep.addEnvironment('REPLICA_MAX_ALLOCATED_STORAGE_GIB', String(place.maxAllocatedStorageGiB));
    replicaStep.addEnvironment('REPLICA_MAINTENANCE_WINDOW', place.maintenanceWindow);
    replicaStep.addEnvironment(
      'BACKUP_REPLICATION_RETENTION_DAYS',
      String(place.backupReplicationRetentionDays),
    );
    replicaStep.addEnvironment(
      'REPLICA_PLACEMENTS',
      stack.toJsonString(
        place.regions.map((r) => ({
          region: r.region,
          subnetGroupName: r.subnetGroupName,
          securityGroupIds: [r.securityGroupId],
          parameterGroupName: r.parameterGroupName,
          kmsKeyArn: r.kmsKeyArn,
        })),
      ),
    );
    const rdsArn = (region: string, type: string, name: string) =>
      `arn:${stack.partition}:rds:${region}:${place.account}:${type}:${name}`;
    const instances = place.regions.map((r) => rdsArn(r.region, 'db', '*'));
    replicaStep.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['rds:CreateDBInstanceReadReplica', 'rds:AddTagsToResource'],
        resources: [
          ...instances,
          ...place.regions.map((r) => rdsArn(r.region, 'subgrp', r.subnetGroupName)),
          ...place.regions.map((r) => rdsArn(r.region, 'og', '*')),
        ],
      }),
    );
    replicaStep.addToRolePolicy(
      new iam.PolicyStatement({
        // The writer's automated backups replicated to its replica's region: asked in that region, of the writer.
        actions: [
          'rds:DescribeDBInstances',
          'rds:RebootDBInstance',
          'rds:StartDBInstanceAutomatedBackupsReplication',
        ],
        resources: instances,
      }),
    );
    // The replica starts on the engine's default parameter group (RDS refuses ours at creation for a
    // cross-region PostgreSQL replica); the step attaches its region's group afterwards, and only that group.
    replicaStep.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['rds:ModifyDBInstance'],
        resources: [...instances, ...place.regions.map((r) => rdsArn(r.region, 'pg', r.parameterGroupName))],
      }),
    );
    for (const r of place.regions) {
      // An encrypted replica is encrypted by RDS with its region's key on the caller's behalf.
      replicaStep.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['kms:CreateGrant', 'kms:DescribeKey'],
          resources: [r.kmsKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `rds.${r.region}.amazonaws.com` } },
        }),
      );
      if (replicaStep.role === undefined) continue;
      acknowledgeNagFinding(
        replicaStep.role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:${r.region}:${place.account}:db:*]`,
        'The writer and its replica identifier are chosen per rebuild; the step creates a replica of the writer ' +
          'the topology names in the other region, then describes, attaches that region’s parameter group to and ' +
          'reboots it, and refuses any instance that is not a replica of that writer; it replicates that writer’s ' +
          'automated backups to the other region. It deletes nothing.',
      );
      acknowledgeNagFinding(
        replicaStep.role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:${r.region}:${place.account}:og:*]`,
        'RDS checks the default option group of the new instance; option groups hold no data.',
      );
    }
  }

  /**
   * The green instance step: read the topology (green is made from its writer), describe instances, create only
   * instances named `<prefix>-green-*` that carry the provisioned-by tag, in the deployed subnet and parameter
   * groups, encrypted with a deployed data key; and create and read only the green secrets under the migration's
   * prefix, replicated to the writer's region.
   */
  private grantGreenProvisioning(props: BlueGreenStepsProps): void {
    const stack = Stack.of(this);
    const place = props.replicaPlacements;
    const step = this.functions.greenInstance;
    const prefix = props.topology.resourcePrefix;
    const rdsArn = (region: string, type: string, name: string) =>
      `arn:${stack.partition}:rds:${region}:${place.account}:${type}:${name}`;
    const greens = place.regions.map((r) => rdsArn(r.region, 'db', `${prefix}-green-*`));
    const tagged = {
      StringEquals: { [`aws:RequestTag/${PROVISIONED_BY_TAG}`]: prefix },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [PROVISIONED_BY_TAG, GREEN_OF_TAG] },
    };
    grantTopologyRead(step, props.topology);
    step.addEnvironment('RESOURCE_PREFIX', prefix);
    step.addEnvironment('SECRET_NAME_PREFIX', props.secretNamePrefix);
    step.addEnvironment(
      'SECRET_KEYS',
      stack.toJsonString(Object.fromEntries(place.regions.map((r) => [r.region, r.kmsKeyArn]))),
    );
    step.addEnvironment('DATA_KEYS', stack.toJsonString(place.regions.map((r) => r.kmsKeyArn)));
    step.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['rds:DescribeDBInstances'],
        resources: place.regions.map((r) => rdsArn(r.region, 'db', '*')),
      }),
    );
    step.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['rds:CreateDBInstance'],
        resources: [
          ...greens,
          ...place.regions.map((r) => rdsArn(r.region, 'subgrp', r.subnetGroupName)),
          ...place.regions.map((r) => rdsArn(r.region, 'pg', r.parameterGroupName)),
          ...place.regions.map((r) => rdsArn(r.region, 'og', '*')),
        ],
        conditions: tagged,
      }),
    );
    step.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['rds:AddTagsToResource'], resources: greens, conditions: tagged }),
    );
    const secretArn = (region: string) =>
      `arn:${stack.partition}:secretsmanager:${region}:${place.account}:secret:${props.secretNamePrefix}${prefix}-green-*`;
    step.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'secretsmanager:CreateSecret',
          'secretsmanager:TagResource',
          'secretsmanager:ReplicateSecretToRegions',
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
          // Green's host and port, once RDS gives it an endpoint.
          'secretsmanager:PutSecretValue',
        ],
        resources: place.regions.map((r) => secretArn(r.region)),
        // Replicas only in the deployed regions (absent for calls that add none).
        conditions: {
          'ForAllValues:StringEquals': {
            'secretsmanager:AddReplicaRegions': place.regions.map((r) => r.region),
          },
        },
      }),
    );
    step.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetRandomPassword'], resources: ['*'] }),
    );
    for (const r of place.regions) {
      step.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['kms:CreateGrant', 'kms:DescribeKey'],
          resources: [r.kmsKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `rds.${r.region}.amazonaws.com` } },
        }),
      );
      step.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt'],
          resources: [r.kmsKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${r.region}.amazonaws.com` } },
        }),
      );
    }
    const role = step.role;
    if (role === undefined) return;
    for (const r of place.regions) {
      acknowledgeNagFinding(
        role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:${r.region}:${place.account}:db:*]`,
        'Describe only: green is made from the writer the topology names, which changes with every role change.',
      );
      acknowledgeNagFinding(
        role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:${r.region}:${place.account}:db:${prefix}-green-*]`,
        `Green is named per migration; only instances named ${prefix}-green-* and carrying the ${PROVISIONED_BY_TAG} tag may be created or tagged.`,
      );
      acknowledgeNagFinding(
        role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:${r.region}:${place.account}:og:*]`,
        'RDS checks the default option group of the new instance; option groups hold no data.',
      );
      acknowledgeNagFinding(
        role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${r.region}:${place.account}:secret:${props.secretNamePrefix}${prefix}-green-*]`,
        'Each green gets its own secret, named after it: only those names under the migration secret prefix.',
      );
    }
    acknowledgeNagFinding(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'secretsmanager:GetRandomPassword supports no resource-level permissions (it touches no secret).',
    );
  }

  /** The input check reads the zone; the DNS flip may UPSERT exactly one CNAME of it and read its answers. */
  private grantRecordChanges(props: BlueGreenStepsProps): void {
    const stack = Stack.of(this);
    const zoneArn = `arn:${stack.partition}:route53:::hostedzone/${props.hostedZoneId}`;
    // The input check refuses a private zone (TestDNSAnswer, which confirms every flip, answers public ones only).
    this.functions.validateInput.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['route53:GetHostedZone'], resources: [zoneArn] }),
    );
    grantRecordUpserts(this.functions.dnsFlip, {
      hostedZoneId: props.hostedZoneId,
      recordNames: [props.recordName],
    });
  }
}
