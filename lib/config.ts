import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import {
  DUMP_PREFIX,
  HOSTED_ZONE_ID,
  LOWER_IDENTIFIER,
  RDS_INSTANCE_IDENTIFIER,
  RESOURCE_PREFIX,
} from '../lambdas/shared/patterns';
import { echoNames, echoValue } from '../lambdas/shared/redact';
import { WAY_BACK_WINDOW_HOURS_MAX } from '../lambdas/shared/provisioning-tags';
import { DUMP_CHECK_REPORT_PREFIX } from '../lambdas/backups/dump-objects';
import { parseIpv4Range, rangesOverlap } from './ipv4-range';

/** Commercial regions that have RDS for PostgreSQL cross-region replicas, S3 RTC and CloudWatch alarms Route 53 can read. */
export const SUPPORTED_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'eu-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-north-1',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'sa-east-1',
] as const;
export type Region = (typeof SUPPORTED_REGIONS)[number];

/** Route 53 only accepts these two request intervals for endpoint health checks. */
const HEALTH_CHECK_INTERVALS = [10, 30] as const;

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });

const intIn = (min: number, max: number) =>
  z
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be a whole number from ${min} to ${max}` })
    .max(max, { error: `must be a whole number from ${min} to ${max}` });

const dnsName = z
  .string({ error: 'must be a DNS name such as db.example.org' })
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
    error: 'must be a lower-case DNS name such as db.example.org, without a trailing dot',
  });

const cidr16 = z
  .string()
  .regex(/^10\.(\d{1,3})\.0\.0\/16$/, { error: 'must be a /16 inside 10.0.0.0/8, such as 10.10.0.0/16' });

const ipv4Cidr = z
  .string({ error: 'must be an IPv4 CIDR block such as 10.30.0.0/16' })
  .refine((text) => parseIpv4Range(text) !== undefined, {
    error: 'must be an IPv4 CIDR block whose address starts its range, such as 10.30.0.0/16',
  });

/** An EC2 resource id: `sg-…`, `vpc-…`, `subnet-…`, `rtb-…`, `pcx-…`, `tgw-…`. */
const ec2Id = (kind: string, prefix: string) =>
  z
    .string({ error: `must be ${kind} id such as ${prefix}-0123456789abcdef0` })
    .regex(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), {
      error: `must be ${kind} id such as ${prefix}-0123456789abcdef0`,
    });

const zoneName = z
  .string()
  .regex(/^[a-z]{2}-[a-z]+-\d[a-z]$/, { error: 'must be a zone name such as us-west-2a' });

const availabilityZones = z
  .array(z.string().regex(/^[a-z]{2}-[a-z]+-\d[a-z]$/, { error: 'must be zone names such as us-west-2a' }), {
    error: 'must be a list of 2 or 3 zone names such as ["us-west-2a", "us-west-2b"]',
  })
  .min(2, { error: 'must list 2 or 3 zones (Multi-AZ needs two)' })
  .max(3, { error: 'must list 2 or 3 zones (Multi-AZ needs two)' });

const httpsUrl = z
  .url({ error: 'must be an https:// URL' })
  .refine((u) => u.startsWith('https://'), { error: 'must be an https:// URL' })
  .refine((u) => !/^https:\/\/[^/]*@/.test(u), { error: 'must not embed credentials (user:password@)' });

/** A KMS key ARN: a single-Region key id, or a multi-Region one (`mrk-…`). */
const kmsKeyArn = z
  .string()
  .regex(/^arn:aws:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:key\/([0-9a-f-]{36}|mrk-[0-9a-f]{32})$/, {
    error:
      'must be a KMS key ARN such as arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  });

/**
 * An existing RDS PostgreSQL instance the DR is built around, instead of one the app creates (the primary
 * region stack references it and never replaces it). docs/adoption.md says what the template changes.
 */
const adoptPrimarySchema = z.strictObject({
  /** Its endpoint (DescribeDBInstances Endpoint.Address); database.primaryInstanceIdentifier names it. */
  endpointAddress: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,62}\.[a-z0-9]+\.[a-z]{2}(-[a-z]+)+-\d\.rds\.amazonaws\.com$/, {
      error: 'must be the instance endpoint address, such as orders.abcdefghijkl.us-west-2.rds.amazonaws.com',
    }),
  /** A security group of the instance: the probes and the DR region are admitted to it (rules added). */
  securityGroupId: ec2Id('a security group', 'sg'),
  /** Its DB subnet group: a new replica in this region (after a failover) is placed in it. */
  subnetGroupName: z.string().regex(/^[A-Za-z0-9 ._-]{1,255}$/, {
    error: 'must be a DB subnet group name (letters, digits, spaces, periods, underscores, hyphens)',
  }),
  /**
   * `copy`: the stack copies the instance's parameter group, sets the DR parameters in the copy and associates
   * it (no reboot; deleting the stack gives this group back). `unchanged`: the group stays as it is, and its
   * owner sets `rds.force_ssl` and `rds.logical_replication` to 1 in it (dr doctor checks).
   */
  parameterGroup: oneOf(['copy', 'unchanged'] as const),
  /** The parameter group it uses today: copied (or left) as `parameterGroup` says. */
  parameterGroupBeforeAdoption: z.string().regex(/^[A-Za-z][A-Za-z0-9.-]{0,254}$/, {
    error: 'must be a DB parameter group name, such as default.postgres17',
  }),
  /** The KMS key of database.secretName when it is a customer managed key (leave out for aws/secretsmanager). */
  secretKeyArn: kmsKeyArn.optional(),
  /** The same for the secret's replica in the secondary region. */
  secretReplicaKeyArn: kmsKeyArn.optional(),
  vpc: z.strictObject({
    vpcId: ec2Id('a VPC', 'vpc'),
    /** The VPC's IPv4 range (its primary CIDR block): peered with network.secondaryCidr. */
    cidr: ipv4Cidr,
    /** Private subnets the health probe runs in: they must reach the instance and Secrets Manager. */
    subnets: z
      .array(
        z.strictObject({
          subnetId: ec2Id('a subnet', 'subnet'),
          availabilityZone: zoneName,
          routeTableId: ec2Id('a route table', 'rtb'),
        }),
        { error: 'must be a list of 1 to 6 subnets ({ subnetId, availabilityZone, routeTableId })' },
      )
      .min(1, { error: 'must list at least one subnet' })
      .max(6, { error: 'must list at most 6 subnets' }),
    /**
     * Route tables that get a route to network.secondaryCidr through the peering: those of the instance's
     * subnets (its answers to the DR region's probe and tooling) and of the subnets above.
     */
    peeringRouteTableIds: z
      .array(ec2Id('a route table', 'rtb'), { error: 'must be a list of route table ids' })
      .min(1, { error: 'must list the route tables of the instance subnets' })
      .max(20, { error: 'must list at most 20 route tables' }),
    /** `create`: an interface endpoint with private DNS in the subnets above. `existing`: the VPC has one. */
    secretsManagerEndpoint: oneOf(['create', 'existing'] as const),
    /**
     * The scheduled dump's Fargate task runs in the subnets above and pulls its images from ECR and logs to
     * CloudWatch Logs. `create`: interface endpoints with private DNS for ECR (API and registry) and Logs there.
     * `existing`: the subnets reach them already (endpoints or NAT). S3 (image layers, the task script, the
     * bucket) must be reachable either way: a gateway endpoint on their route tables, or NAT.
     */
    containerTaskEndpoints: oneOf(['create', 'existing'] as const),
  }),
});

/** Who may connect to the database port in one region, and the routes back to them from the database VPC. */
const applicationAccessSchema = z.strictObject({
  /** Address ranges of the application tiers (peered or Transit Gateway attached VPCs, on-premises). */
  cidrs: z.array(ipv4Cidr, { error: 'must be a list of CIDR blocks' }).max(50),
  /** Security groups of the application tiers: in this VPC, or in a VPC peered with it in the same region. */
  securityGroupIds: z
    .array(ec2Id('a security group', 'sg'), { error: 'must be a list of security group ids' })
    .max(50),
  /** Routes from the database subnets of the VPC this app created: to an application range, through one of them. */
  routes: z
    .array(
      z
        .strictObject({
          cidr: ipv4Cidr,
          vpcPeeringConnectionId: ec2Id('a VPC peering connection', 'pcx').optional(),
          transitGatewayId: ec2Id('a transit gateway', 'tgw').optional(),
        })
        .refine((r) => (r.vpcPeeringConnectionId === undefined) !== (r.transitGatewayId === undefined), {
          error: 'needs exactly one of vpcPeeringConnectionId or transitGatewayId',
        }),
      { error: 'must be a list of { cidr, vpcPeeringConnectionId | transitGatewayId }' },
    )
    .max(20)
    .refine((routes) => new Set(routes.map((r) => r.cidr)).size === routes.length, {
      error: 'must name each range once (a route table holds one route per range)',
    }),
});

const identifier = z.string().regex(RDS_INSTANCE_IDENTIFIER, {
  error:
    'must be 1-63 lower-case letters, digits or hyphens, starting with a letter, not ending with a hyphen or holding two in a row',
});

const databaseSchema = z
  .strictObject({
    /** Major.minor, e.g. "17.6". */
    engineVersion: z.string().regex(/^(1[3-8])\.\d{1,2}$/, {
      error: 'must be a PostgreSQL version from 13 to 18 written major.minor, such as 17.6',
    }),
    /** Instance class without the "db." prefix, e.g. "r6g.large". */
    instanceClass: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, {
      error: 'must be an RDS instance class without the db. prefix, such as r6g.large',
    }),
    allocatedStorageGiB: intIn(20, 65536),
    maxAllocatedStorageGiB: intIn(20, 65536),
    multiAz: z.boolean({ error: 'must be true or false' }),
    /**
     * Multi-AZ for the cross-region replica (and the replicas the workflows create). false halves its instance
     * cost; a failover then promotes a Single-AZ writer (docs/adoption.md, What it costs).
     */
    replicaMultiAz: z.boolean({ error: 'must be true or false' }),
    backupRetentionDays: intIn(1, 35),
    databaseName: z.string().regex(LOWER_IDENTIFIER, {
      error: 'must be a lower-case PostgreSQL identifier (letters, digits, underscore)',
    }),
    masterUsername: z.string().regex(/^[a-z_][a-z0-9_]{0,15}$/, {
      error: 'must be a lower-case identifier of at most 16 characters',
    }),
    port: intIn(1150, 65535),
    primaryInstanceIdentifier: identifier,
    replicaInstanceIdentifier: identifier,
    /** Secrets Manager name of the master secret; the same name resolves to its replica in the secondary region. */
    secretName: z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,200}$/, {
      error: 'must be a Secrets Manager name (letters, digits and /_+=.@-)',
    }),
    secretRotationDays: intIn(1, 365),
    /**
     * RDS maintenance (minor upgrades, OS patches, Multi-AZ failovers it schedules) happens in this weekly UTC
     * window, never at a random time; it must not overlap the drill. `ddd:hh24:mi-ddd:hh24:mi`.
     */
    preferredMaintenanceWindow: z
      .string()
      .regex(
        /^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$/,
        {
          error: 'must be ddd:hh24:mi-ddd:hh24:mi (UTC), such as tue:03:00-tue:03:30',
        },
      ),
    /** Daily UTC window of the automated backups (snapshot I/O pause on single-AZ). `hh24:mi-hh24:mi`. */
    preferredBackupWindow: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, {
      error: 'must be hh24:mi-hh24:mi (UTC), such as 04:00-04:30',
    }),
    /**
     * More parameters for the parameter groups the app creates (the created primary, the DR replica, the
     * replicas the workflows place): what the application relies on, such as `shared_preload_libraries`, so
     * a promoted replica has it too. The DR parameters themselves are not overridable.
     */
    parameters: z
      .record(
        z.string().regex(/^[a-z_][a-z0-9_.]{0,62}$/, { error: 'must be PostgreSQL parameter names' }),
        z.string().max(1024, { error: 'must be values of at most 1024 characters' }),
        {
          error:
            'must be an object of parameter names to values, such as {"shared_preload_libraries": "pg_stat_statements"}',
        },
      )
      .refine((p) => Object.keys(p).length <= 50, { error: 'must hold at most 50 parameters' })
      .refine(
        (p) => !Object.keys(p).some((name) => name === 'rds.force_ssl' || name === 'rds.logical_replication'),
        {
          error: 'must not set rds.force_ssl or rds.logical_replication (the DR parameters, always 1)',
        },
      ),
    /** The dedicated logical replication user a blue-green subscription connects as; its secret is not rotated. */
    replicationUsername: z.string().regex(LOWER_IDENTIFIER, {
      error: 'must be a lower-case PostgreSQL identifier',
    }),
    /** Secrets Manager name of that user's password (generated by the stack, never rotated). */
    replicationSecretName: z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,200}$/, {
      error: 'must be a Secrets Manager name (letters, digits and /_+=.@-)',
    }),
  })
  .refine((d) => d.maxAllocatedStorageGiB >= d.allocatedStorageGiB, {
    error: 'must be at least allocatedStorageGiB',
    path: ['maxAllocatedStorageGiB'],
  });

const healthCheckSchema = z.strictObject({
  /** Seconds between probes of each database from inside its VPC. */
  probeIntervalSeconds: z.union([z.literal(10), z.literal(15), z.literal(20), z.literal(30), z.literal(60)], {
    error: 'must be one of 10, 15, 20, 30, 60 (it must divide the one-minute schedule)',
  }),
  /** Below the smallest interval, so a round always ends before the next one is due. */
  probeTimeoutSeconds: intIn(1, 9),
  /**
   * Consecutive one-minute periods in which most probes from inside the database's VPC failed before it counts
   * as unhealthy (every period must fail: N of N).
   */
  alarmEvaluationPeriods: intIn(1, 5),
  /** The same for the primary probed from the secondary region (crosses the peering: give it more room). */
  remoteAlarmEvaluationPeriods: intIn(1, 5),
  /** Request interval of the sidecar HTTPS health check. */
  requestIntervalSeconds: z
    .number()
    .refine((n) => (HEALTH_CHECK_INTERVALS as readonly number[]).includes(n), {
      error: `must be one of ${HEALTH_CHECK_INTERVALS.join(', ')} (Route 53 offers only these)`,
    }),
  failureThreshold: intIn(1, 10),
});

const onCallSchema = z
  .strictObject({
    email: z.email({ error: 'must be an e-mail address' }).optional(),
    httpsEndpoint: httpsUrl.optional(),
  })
  .refine((o) => o.email !== undefined || o.httpsEndpoint !== undefined, {
    error: 'needs at least one of email or httpsEndpoint, or nobody is paged',
  });

/** EventBridge schedule expressions: cron(...) in UTC or rate(...). */
const scheduleExpression = z
  .string()
  .regex(/^(cron\([^)]+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$/, {
    error: 'must be an EventBridge schedule expression such as cron(0 2 ? * SUN *) (UTC) or rate(7 days)',
  });

/**
 * Fargate's task sizes: the memory (MiB) each CPU value allows (ECS developer guide, "Task CPU and memory"; 8
 * and 16 vCPU need platform 1.4.0, which LATEST is).
 */
const steps = (from: number, to: number, step: number): number[] =>
  Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
export const FARGATE_MEMORY: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: steps(1024, 4096, 1024),
  1024: steps(2048, 8192, 1024),
  2048: steps(4096, 16384, 1024),
  4096: steps(8192, 30720, 1024),
  8192: steps(16384, 61440, 4096),
  16384: steps(32768, 122880, 8192),
};

/** The longest a scheduled dump may be given (backups.dumps.maxMinutes): a day. */
export const DUMP_MAX_MINUTES = 1440;

const dumpsSchema = z
  .strictObject({
    /** EventBridge schedule (UTC) of the dump: daily by default, before the automated backup window. */
    schedule: scheduleExpression,
    /**
     * Where the dumps go in both backup buckets: folders ending in `/` (dumps/), of their own (the expiry of
     * `retentionDays` applies to everything under it).
     */
    prefix: z
      .string()
      .regex(DUMP_PREFIX, { error: 'must be folders each ending in /, such as dumps/ (no . or .. folder)' })
      .refine((p) => p.length > 0, { error: 'must not be empty: the dumps expire by their prefix' })
      .refine((p) => !p.startsWith('dr-drill/'), { error: 'must not be under dr-drill/ (the drill probes)' })
      .refine((p) => !p.startsWith(DUMP_CHECK_REPORT_PREFIX), {
        error: `must not be under ${DUMP_CHECK_REPORT_PREFIX} (the dump restore tests' reports)`,
      }),
    /** Days a dump and its manifest are current in both buckets before they expire (old versions then follow). */
    retentionDays: intIn(1, 3650),
    /** A dump still running after this many minutes is stopped, and the run fails (and pages). */
    maxMinutes: intIn(10, DUMP_MAX_MINUTES),
    /** Page when the newest dump, in either region's bucket, started more than this many hours ago. */
    maxAgeHours: intIn(2, 24 * 31),
    /** The dump task's Fargate CPU units (256-16384) and memory (MiB), a combination Fargate offers. */
    cpu: z.union(
      [256, 512, 1024, 2048, 4096, 8192, 16384].map((n) => z.literal(n)),
      {
        error: 'must be a Fargate CPU value: 256, 512, 1024, 2048, 4096, 8192 or 16384',
      },
    ),
    memoryMiB: intIn(512, 122880),
    /** The task's storage, which holds the whole dump before its upload: 21-200 GiB. */
    ephemeralStorageGiB: intIn(21, 200),
    /**
     * EventBridge schedule (UTC) of the restore test of the newest dump in the DR region (the same task size;
     * its storage holds the download and the restored database): monthly by default. It pages when none has
     * passed for backups.restoreTest.staleAfterDays.
     */
    restoreTestSchedule: scheduleExpression,
  })
  .superRefine((d, ctx) => {
    const allowed = FARGATE_MEMORY[d.cpu] ?? [];
    if (!allowed.includes(d.memoryMiB))
      ctx.addIssue({
        code: 'custom',
        path: ['memoryMiB'],
        message: `must be one of ${allowed.join(', ')} MiB with cpu ${d.cpu} (Fargate task sizes)`,
      });
  });

const drillSchema = z.strictObject({
  schedule: z.strictObject({
    /** Off: no scheduled drills (the "no successful drill" alarm still watches). */
    enabled: z.boolean({ error: 'must be true or false' }),
    expression: scheduleExpression,
  }),
  budgets: z.strictObject({
    /** Simulated failure → a client of the record reads from the replica. Over it, the drill aborts. */
    serviceDisruptionSeconds: intIn(10, 600),
    /** Simulated failure → Route 53 answers the replica. */
    dnsFailoverSeconds: intIn(10, 600),
    /** Probe object in the primary bucket → present in the replica bucket. */
    s3ReplicationSeconds: intIn(10, 840),
  }),
  /** Preflight refuses when a heartbeat takes longer than this to reach the replica. */
  maxReplicaLagSeconds: intIn(1, 600),
  failbackTimeoutSeconds: intIn(10, 600),
  heartbeatTimeoutSeconds: intIn(1, 600),
  /** How long the S3 probe waits before failing the drill (at least the S3 budget; RTC promises 15 min). */
  s3TimeoutSeconds: intIn(10, 840),
  pollIntervalMs: intIn(500, 10_000),
  /**
   * Which record a drill fails over. `separate` (the default): a drill record pair over the same databases
   * with its own PRIMARY health check, so production DNS never moves. `production`: the production record
   * itself, the path a disaster takes; writes through it fail for about a minute every drill.
   */
  record: oneOf(['separate', 'production']),
  /** The separate drill record's name (default: the production name's first label + "-drill"). */
  recordName: dnsName.optional(),
  /** Scenario 5: run the blue-green workflow as a dry run against the primary. */
  migrationDryRun: z.boolean({ error: 'must be true or false' }),
  /** The "no successful drill" alarm fires after this many days. */
  staleAfterDays: intIn(2, 30),
});

export const drConfigSchema = z
  .strictObject({
    account: z.string().regex(/^\d{12}$/, { error: 'must be a 12-digit AWS account id' }),
    primaryRegion: oneOf(SUPPORTED_REGIONS),
    secondaryRegion: oneOf(SUPPORTED_REGIONS),
    /** Where recovery tooling runs; it must survive losing the primary region. */
    orchestrationRegion: oneOf(SUPPORTED_REGIONS).optional(),
    /** Short prefix for physical names (buckets, alarms, stacks). */
    resourcePrefix: z.string().regex(RESOURCE_PREFIX, {
      error: 'must be 2-20 lower-case letters, digits or hyphens, starting with a letter',
    }),
    hostedZoneId: z
      .string()
      .regex(HOSTED_ZONE_ID, { error: 'must be a Route 53 hosted zone id such as Z0123456789ABC' }),
    hostedZoneName: dnsName,
    /**
     * The zone must be public: Route 53's TestDNSAnswer, which confirms every flip and times the drill, answers
     * for public hosted zones only. A private zone is refused here, and again at run time (ValidateInput, the
     * drill preflight, dr doctor), since the zone's real type is only known in the account.
     */
    hostedZoneVisibility: z
      .enum(['public', 'private'], { error: 'must be public or private' })
      .refine((v) => v === 'public', {
        error:
          'must be public: TestDNSAnswer, which the DNS flip and the drill use to confirm what Route 53 answers, ' +
          'supports public hosted zones only. Put the failover records in a public zone (their values are ' +
          'private endpoint names; resolving them still needs the VPC)',
      }),
    recordName: dnsName,
    recordTtlSeconds: intIn(5, 60),
    sidecarHealthUrl: httpsUrl.optional(),
    healthCheck: healthCheckSchema,
    replicaLagAlarmSeconds: intIn(5, 3600),
    /** Thresholds of the alarms that page on-call (docs/runbooks.md has an entry for each). */
    alarms: z.strictObject({
      /** Free storage of the writer or the replica below this, for 5 minutes, pages. */
      freeStorageLowGiB: intIn(1, 1024),
      /** WAL kept by the writer's most-behind replication slot above this, for 5 minutes, pages. */
      replicationSlotWalHighGiB: intIn(1, 1024),
    }),
    network: z.strictObject({
      primaryCidr: cidr16,
      secondaryCidr: cidr16,
      /** Two or three zones of the region; default: its "a" and "b" zones. */
      primaryAvailabilityZones: availabilityZones.optional(),
      secondaryAvailabilityZones: availabilityZones.optional(),
      /**
       * Zones that get the interface endpoints in each created VPC (Secrets Manager; in the primary region also
       * ECR and Logs for the dump task): `all` (one per zone) or `first` (one: a third of the cost with 3
       * zones, but secret reads and the dump then depend on that zone).
       */
      secretsManagerEndpointZones: oneOf(['all', 'first'] as const),
    }),
    database: databaseSchema,
    /** Build the DR around an existing instance instead of creating the primary (docs/adoption.md). */
    adoptPrimary: adoptPrimarySchema.optional(),
    /** Application tiers allowed to the database port, per region (docs/adoption.md, "Connecting the applications"). */
    applicationAccess: z.strictObject({
      primary: applicationAccessSchema,
      secondary: applicationAccessSchema,
    }),
    backups: z.strictObject({
      /** Days a superseded dump version is kept before expiry. */
      noncurrentVersionExpirationDays: intIn(1, 3650),
      /**
       * Days the primary's automated backups replicated to the DR region are kept there (RDS cross-region
       * automated backup replication: point-in-time restore in the DR region), 1-35.
       */
      crossRegionRetentionDays: intIn(1, 35),
      /**
       * The physical restore test (statemachines/restore-test.asl.json) in the DR region: when it runs, and
       * when its alarms page.
       */
      restoreTest: z.strictObject({
        /** EventBridge schedule (UTC): monthly by default. */
        schedule: scheduleExpression,
        /** Page when no restore test has passed for this many days. */
        staleAfterDays: intIn(1, 90),
        /** Page when the writer's newest restorable point in the DR region is older than this. */
        maxBackupAgeMinutes: intIn(15, 1440),
      }),
      /** The scheduled logical dump (statemachines/dump.asl.json), an ECS Fargate task in the primary region. */
      dumps: dumpsSchema,
    }),
    onCall: onCallSchema,
    /** Prisma migrations folder bundled into the migration steps, relative to the CDK app. */
    migrationsDirectory: z
      .string()
      .min(1)
      .refine((dir) => existsSync(resolve(dir)) && statSync(resolve(dir)).isDirectory(), {
        error: 'must be an existing folder (the Prisma migrations folder, relative to the CDK app)',
      }),
    drill: drillSchema,
    /** The region failover (statemachines/region-failover.asl.json): when it refuses to promote unless forced. */
    failover: z.strictObject({
      /** Refuse when the replica is more WAL than this behind a writer that answers. */
      maxBytesBehind: intIn(0, 1024 ** 4),
      /**
       * Refuse when the writer cannot be asked and the replica's last replayed commit is older than this. That
       * is an upper bound of the loss, and it grows with the time since the region was lost (an idle writer
       * commits nothing either): the default (an hour) refuses a replica that was far behind, not a failover
       * started late; `dr failover --force` accepts the measured bound.
       */
      maxSecondsSinceLastReplay: intIn(1, 86_400),
    }),
    blueGreen: z.strictObject({
      /**
       * Blue and green secrets must be named under this prefix: the workflow steps may read only those
       * (their names are not known at synth).
       */
      secretNamePrefix: z.string().regex(/^[A-Za-z0-9_+=.@-]+\/$/, {
        error: 'must be a Secrets Manager name prefix ending in /, such as pg-dr/',
      }),
      /**
       * After a cutover with the way back, blue follows green this long (a rollback is possible), then the
       * way back ends and blue is retired; `dr migrate finish` ends it sooner. The writer keeps a slot for
       * blue meanwhile (WAL retained while blue lags).
       */
      wayBackWindowHours: intIn(1, WAY_BACK_WINDOW_HOURS_MAX),
      /**
       * What retiring blue does after its final snapshot: `delete` it (automated backups kept for their
       * retention), or `stop` it (RDS starts a stopped instance again after 7 days). Only instances green
       * provisioning made; any other blue is kept and its way back ended.
       */
      retireBlue: z.enum(['delete', 'stop']),
    }),
  })
  .superRefine((c, ctx) => {
    const clash = drillWindowClash(c.drill.schedule.expression, c.database);
    if (clash !== undefined)
      ctx.addIssue({ code: 'custom', path: ['database', clash.key], message: clash.message });
    if (c.primaryRegion === c.secondaryRegion) {
      ctx.addIssue({ code: 'custom', path: ['secondaryRegion'], message: 'must differ from primaryRegion' });
    }
    const orchestration = c.orchestrationRegion ?? c.secondaryRegion;
    if (orchestration !== c.primaryRegion && orchestration !== c.secondaryRegion) {
      ctx.addIssue({
        code: 'custom',
        path: ['orchestrationRegion'],
        message: `must be one of ${c.primaryRegion}, ${c.secondaryRegion} (the primary or secondary region)`,
      });
    }
    if (c.recordName !== c.hostedZoneName && !c.recordName.endsWith(`.${c.hostedZoneName}`)) {
      ctx.addIssue({
        code: 'custom',
        path: ['recordName'],
        message: `must be inside hostedZoneName ${c.hostedZoneName}`,
      });
    }
    for (const issue of networkIssues(c)) ctx.addIssue({ code: 'custom', ...issue });
    for (const [key, region] of [
      ['primaryAvailabilityZones', c.primaryRegion],
      ['secondaryAvailabilityZones', c.secondaryRegion],
    ] as const) {
      const zones = c.network[key] ?? [];
      if (zones.some((zone) => zone.slice(0, -1) !== region)) {
        ctx.addIssue({ code: 'custom', path: ['network', key], message: `must all be zones of ${region}` });
      }
    }
    if (c.drill.record === 'production' && c.drill.recordName !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['drill', 'recordName'],
        message: 'applies only to drill.record "separate" (a production drill fails over recordName itself)',
      });
    } else if (c.drill.recordName !== undefined) {
      if (c.drill.recordName === c.recordName)
        ctx.addIssue({
          code: 'custom',
          path: ['drill', 'recordName'],
          message:
            'must differ from recordName (set drill.record to "production" to drill the production record)',
        });
      else if (!c.drill.recordName.endsWith(`.${c.hostedZoneName}`))
        ctx.addIssue({
          code: 'custom',
          path: ['drill', 'recordName'],
          message: `must be inside hostedZoneName ${c.hostedZoneName}`,
        });
    }
    if (c.drill.s3TimeoutSeconds < c.drill.budgets.s3ReplicationSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['drill', 's3TimeoutSeconds'],
        message: 'must be at least drill.budgets.s3ReplicationSeconds (or the budget could never be missed)',
      });
    }
    if (c.drill.migrationDryRun && !c.database.secretName.startsWith(c.blueGreen.secretNamePrefix)) {
      ctx.addIssue({
        code: 'custom',
        path: ['drill', 'migrationDryRun'],
        message: `needs database.secretName under blueGreen.secretNamePrefix ${c.blueGreen.secretNamePrefix} (the migration steps may read only those secrets), or false`,
      });
    }
    if (c.database.primaryInstanceIdentifier === c.database.replicaInstanceIdentifier) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'replicaInstanceIdentifier'],
        message: 'must differ from database.primaryInstanceIdentifier',
      });
    }
  });

/** What the address-range checks read of the parsed config. */
interface NetworkChecked {
  account: string;
  primaryRegion: string;
  secondaryRegion: string;
  orchestrationRegion?: string | undefined;
  database: { primaryInstanceIdentifier: string };
  network: { primaryCidr: string; secondaryCidr: string };
  adoptPrimary?: z.output<typeof adoptPrimarySchema> | undefined;
  applicationAccess: Record<'primary' | 'secondary', z.output<typeof applicationAccessSchema>>;
}

/** Address ranges and adoption: ranges that must not overlap, routes that must stay in range. */
function networkIssues(c: NetworkChecked): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  const adopt = c.adoptPrimary;
  const primaryCidr = adopt?.vpc.cidr ?? c.network.primaryCidr;
  const primaryKey = adopt === undefined ? ['network', 'primaryCidr'] : ['adoptPrimary', 'vpc', 'cidr'];
  const overlap = (a: string, b: string) => {
    const ra = parseIpv4Range(a);
    const rb = parseIpv4Range(b);
    return ra !== undefined && rb !== undefined && rangesOverlap(ra, rb);
  };
  if (overlap(primaryCidr, c.network.secondaryCidr))
    issues.push({
      path: ['network', 'secondaryCidr'],
      message: `must not overlap ${primaryKey.join('.')} ${primaryCidr} (VPC peering needs distinct ranges)`,
    });
  if (adopt !== undefined) {
    const home = `.${c.primaryRegion}.rds.amazonaws.com`;
    if (
      !adopt.endpointAddress.startsWith(`${c.database.primaryInstanceIdentifier}.`) ||
      !adopt.endpointAddress.endsWith(home)
    )
      issues.push({
        path: ['adoptPrimary', 'endpointAddress'],
        message: `must be the endpoint of database.primaryInstanceIdentifier ${c.database.primaryInstanceIdentifier} in ${c.primaryRegion} (…${home})`,
      });
    for (const [key, region] of [
      ['secretKeyArn', c.primaryRegion],
      ['secretReplicaKeyArn', c.secondaryRegion],
    ] as const) {
      const arn = adopt[key];
      if (arn !== undefined && !arn.startsWith(`arn:aws:kms:${region}:${c.account}:`))
        issues.push({
          path: ['adoptPrimary', key],
          message: `must be a key of account ${c.account} in ${region}, where that secret is read`,
        });
    }
    const subnetIds = adopt.vpc.subnets.map((s) => s.subnetId);
    if (new Set(subnetIds).size !== subnetIds.length)
      issues.push({ path: ['adoptPrimary', 'vpc', 'subnets'], message: 'must name each subnet once' });
    adopt.vpc.subnets.forEach((subnet, index) => {
      if (subnet.availabilityZone.slice(0, -1) !== c.primaryRegion)
        issues.push({
          path: ['adoptPrimary', 'vpc', 'subnets', String(index), 'availabilityZone'],
          message: `must be a zone of ${c.primaryRegion}`,
        });
    });
    if ((c.orchestrationRegion ?? c.secondaryRegion) === c.primaryRegion)
      issues.push({
        path: ['orchestrationRegion'],
        message: `must be ${c.secondaryRegion} when adoptPrimary is set (the recovery tooling runs in the VPC this app creates)`,
      });
    if (c.applicationAccess.primary.routes.length > 0)
      issues.push({
        path: ['applicationAccess', 'primary', 'routes'],
        message: 'must be empty when adoptPrimary is set: the adopted VPC routes are yours to manage',
      });
  }
  for (const [region, own, peer] of [
    ['primary', primaryCidr, c.network.secondaryCidr],
    ['secondary', c.network.secondaryCidr, primaryCidr],
  ] as const) {
    const access = c.applicationAccess[region];
    access.cidrs.forEach((cidr, index) => {
      if ((parseIpv4Range(cidr)?.prefix ?? 32) < 8)
        issues.push({
          path: ['applicationAccess', region, 'cidrs', String(index)],
          message: 'is wider than a /8: name the application ranges, not the internet',
        });
    });
    access.routes.forEach((route, index) => {
      if (overlap(route.cidr, own) || overlap(route.cidr, peer))
        issues.push({
          path: ['applicationAccess', region, 'routes', String(index), 'cidr'],
          message: `must not overlap the database VPCs (${own}, ${peer})`,
        });
    });
  }
  return issues;
}

export type DrConfigInput = z.input<typeof drConfigSchema>;

type ParsedConfig = z.output<typeof drConfigSchema>;

/** Validated configuration, with derived values resolved. */
export type DrConfig = Omit<ParsedConfig, 'orchestrationRegion' | 'network' | 'drill'> & {
  readonly orchestrationRegion: Region;
  /** `recordName` is the record the drill fails over: the drill record, or the production one. */
  readonly drill: Omit<ParsedConfig['drill'], 'recordName'> & { readonly recordName: string };
  readonly network: Omit<
    ParsedConfig['network'],
    'primaryAvailabilityZones' | 'secondaryAvailabilityZones'
  > & {
    readonly primaryAvailabilityZones: readonly string[];
    readonly secondaryAvailabilityZones: readonly string[];
  };
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const WEEK = 7 * 24 * 60;
/** A drill runs about an hour from its start; RDS work must stay out of that hour. */
const DRILL_HOUR = 60;

/** Minutes into the week (Sunday 00:00 UTC) of `ddd:hh:mi`. */
function weekMinute(day: string, time: string): number {
  const [h = 0, m = 0] = time.split(':').map(Number);
  return DAYS.indexOf(day) * 1440 + h * 60 + m;
}

/** Whether the week-minute ranges [a0, a1) and [b0, b1) overlap, either wrapping past Saturday night. */
function overlaps(a0: number, a1: number, b0: number, b1: number): boolean {
  const norm = (x0: number, x1: number): [number, number][] =>
    x1 > x0
      ? [[x0, x1]]
      : [
          [x0, WEEK],
          [0, x1],
        ];
  return norm(a0, a1).some(([p0, p1]) => norm(b0, b1).some(([q0, q1]) => p0 < q1 && q0 < p1));
}

/**
 * A drill that starts while RDS maintains or backs up the instance measures RDS, not failover (and a Multi-AZ
 * failover mid-drill can fail it). Checked for the weekly cron form the drill uses, `cron(M H ? * DAY *)`.
 */
function drillWindowClash(
  expression: string,
  db: { preferredMaintenanceWindow: string; preferredBackupWindow: string },
): { key: 'preferredMaintenanceWindow' | 'preferredBackupWindow'; message: string } | undefined {
  const cron = /^cron\((\d{1,2}) (\d{1,2}) \? \* ([A-Za-z]{3}|\*) \*\)$/.exec(expression);
  if (cron === null) return undefined;
  const [, minute = '0', hour = '0', dayField = '*'] = cron;
  const days = dayField === '*' ? DAYS : [dayField.toLowerCase()];
  const [m0 = '', m1 = ''] = db.preferredMaintenanceWindow.split('-');
  const maintenance: [number, number] = [
    weekMinute(m0.slice(0, 3), m0.slice(4)),
    weekMinute(m1.slice(0, 3), m1.slice(4)),
  ];
  const [b0 = '00:00', b1 = '00:00'] = db.preferredBackupWindow.split('-');
  for (const day of days) {
    if (!DAYS.includes(day)) return undefined;
    const start = weekMinute(day, `${hour}:${minute}`);
    const end = (start + DRILL_HOUR) % WEEK;
    if (overlaps(start, end, ...maintenance))
      return {
        key: 'preferredMaintenanceWindow',
        message: `overlaps the drill (${expression}, about an hour): move one of them`,
      };
    const backup: [number, number] = [weekMinute(day, b0), weekMinute(day, b1)];
    if (overlaps(start % 1440, end % 1440 || 1440, backup[0] % 1440, backup[1] % 1440 || 1440))
      return {
        key: 'preferredBackupWindow',
        message: `overlaps the drill (${expression}, about an hour): move one of them`,
      };
  }
  return undefined;
}

/** Defaults follow the seed document; everything else must be set on purpose. */
export const CONFIG_DEFAULTS = {
  primaryRegion: 'us-west-2',
  secondaryRegion: 'us-east-1',
  resourcePrefix: 'pg-dr',
  recordName: 'db.provability-fabric.org',
  hostedZoneName: 'provability-fabric.org',
  hostedZoneVisibility: 'public',
  recordTtlSeconds: 10,
  healthCheck: {
    probeIntervalSeconds: 10,
    probeTimeoutSeconds: 3,
    alarmEvaluationPeriods: 3,
    remoteAlarmEvaluationPeriods: 3,
    requestIntervalSeconds: 10,
    failureThreshold: 2,
  },
  replicaLagAlarmSeconds: 60,
  alarms: { freeStorageLowGiB: 5, replicationSlotWalHighGiB: 5 },
  network: { primaryCidr: '10.10.0.0/16', secondaryCidr: '10.20.0.0/16', secretsManagerEndpointZones: 'all' },
  database: {
    engineVersion: '17.6',
    instanceClass: 'r6g.large',
    allocatedStorageGiB: 100,
    maxAllocatedStorageGiB: 500,
    multiAz: true,
    replicaMultiAz: true,
    parameters: {},
    backupRetentionDays: 7,
    databaseName: 'app',
    masterUsername: 'dr_admin',
    port: 5432,
    primaryInstanceIdentifier: 'pg-dr-primary',
    replicaInstanceIdentifier: 'pg-dr-replica',
    secretName: 'pg-dr/postgres-master',
    replicationUsername: 'dr_replication',
    replicationSecretName: 'pg-dr/replication-user',
    secretRotationDays: 30,
    preferredMaintenanceWindow: 'tue:03:00-tue:03:30',
    preferredBackupWindow: '04:00-04:30',
  },
  backups: {
    noncurrentVersionExpirationDays: 30,
    crossRegionRetentionDays: 7,
    restoreTest: { schedule: 'cron(0 5 1 * ? *)', staleAfterDays: 35, maxBackupAgeMinutes: 120 },
    dumps: {
      schedule: 'cron(0 3 * * ? *)',
      prefix: 'dumps/',
      retentionDays: 35,
      maxMinutes: 180,
      maxAgeHours: 30,
      cpu: 1024,
      memoryMiB: 4096,
      ephemeralStorageGiB: 50,
      restoreTestSchedule: 'cron(0 6 1 * ? *)',
    },
  },
  applicationAccess: {
    primary: { cidrs: [], securityGroupIds: [], routes: [] },
    secondary: { cidrs: [], securityGroupIds: [], routes: [] },
  },
  migrationsDirectory: 'prisma/migrations',
  failover: { maxBytesBehind: 16 * 1024 * 1024, maxSecondsSinceLastReplay: 3600 },
  blueGreen: { secretNamePrefix: 'pg-dr/', wayBackWindowHours: 72, retireBlue: 'delete' },
  drill: {
    schedule: { enabled: true, expression: 'cron(0 2 ? * SUN *)' },
    budgets: { serviceDisruptionSeconds: 90, dnsFailoverSeconds: 60, s3ReplicationSeconds: 60 },
    maxReplicaLagSeconds: 30,
    failbackTimeoutSeconds: 180,
    heartbeatTimeoutSeconds: 60,
    s3TimeoutSeconds: 300,
    pollIntervalMs: 2000,
    migrationDryRun: true,
    staleAfterDays: 8,
    record: 'separate',
  },
} as const;

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

function withDefaults(defaults: Plain, given: Plain): Plain {
  const out: Plain = { ...defaults };
  for (const [key, value] of Object.entries(given)) {
    const base = out[key];
    out[key] = isPlain(base) && isPlain(value) ? withDefaults(base, value) : value;
  }
  return out;
}

function describe(issue: z.core.$ZodIssue, input: unknown): string {
  const key = ['dr', ...issue.path.map(String)].join('.');
  let got: unknown = input;
  for (const part of issue.path) got = isPlain(got) ? got[String(part)] : undefined;
  if (issue.code === 'unrecognized_keys') {
    return `${key} has unknown key(s) ${echoNames(issue.keys)}: remove them or fix their spelling.`;
  }
  // What was given, through the redaction rule (no URL credentials or query values) and bounded.
  const shown = got === undefined ? 'nothing' : echoValue(JSON.stringify(got));
  return `${key} ${issue.message}; got ${shown}.`;
}

/** The default drill record: `db.example.org` → `db-drill.example.org`, in the same zone. */
function drillRecordName(c: { recordName: string; hostedZoneName: string }): string {
  if (c.recordName === c.hostedZoneName) return `drill.${c.hostedZoneName}`;
  const [first, ...rest] = c.recordName.split('.');
  return [`${first ?? 'db'}-drill`, ...rest].join('.');
}

/**
 * Validates the `dr` context object once, at synth. Throws a ConfigError whose message has one sentence per
 * bad key, naming the key and what it accepts.
 */
export function parseConfig(raw: unknown): DrConfig {
  if (!isPlain(raw)) {
    throw new ConfigError('Context key "dr" must be an object in cdk.json (see docs/configuration.md).');
  }
  const merged = withDefaults(CONFIG_DEFAULTS, raw);
  const result = drConfigSchema.safeParse(merged);
  const lines = result.success ? [] : result.error.issues.map((issue) => describe(issue, merged));
  // An adopted VPC brings its own range and zones: the created VPC's settings would be silently unused.
  if (raw.adoptPrimary !== undefined && isPlain(raw.network))
    for (const key of ['primaryCidr', 'primaryAvailabilityZones'])
      if (raw.network[key] !== undefined)
        lines.push(
          `dr.network.${key} applies only to a created primary: with adoptPrimary, remove it (adoptPrimary.vpc says the range and zones).`,
        );
  if (!result.success || lines.length > 0) {
    throw new ConfigError(`Invalid DR configuration:\n  ${lines.join('\n  ')}`);
  }
  const c = result.data;
  const adoptedVpc = c.adoptPrimary?.vpc;
  return {
    ...c,
    orchestrationRegion: c.orchestrationRegion ?? c.secondaryRegion,
    drill: {
      ...c.drill,
      recordName: c.drill.record === 'production' ? c.recordName : (c.drill.recordName ?? drillRecordName(c)),
    },
    network: {
      ...c.network,
      primaryCidr: adoptedVpc?.cidr ?? c.network.primaryCidr,
      primaryAvailabilityZones: (adoptedVpc && [
        ...new Set(adoptedVpc.subnets.map((s) => s.availabilityZone)),
      ]) ??
        c.network.primaryAvailabilityZones ?? [`${c.primaryRegion}a`, `${c.primaryRegion}b`],
      secondaryAvailabilityZones: c.network.secondaryAvailabilityZones ?? [
        `${c.secondaryRegion}a`,
        `${c.secondaryRegion}b`,
      ],
    },
  };
}
