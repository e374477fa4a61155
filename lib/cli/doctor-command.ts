import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import {
  DescribeRuleCommand,
  EventBridgeClient,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-eventbridge';
import {
  DescribeDBInstancesCommand,
  DescribeDBParametersCommand,
  RDSClient,
  type DBInstance,
} from '@aws-sdk/client-rds';
import {
  GetHealthCheckCommand,
  GetHealthCheckStatusCommand,
  GetHostedZoneCommand,
  Route53Client,
  TestDNSAnswerCommand,
} from '@aws-sdk/client-route-53';
import { HeadObjectCommand, ListObjectsV2Command, S3Client, type _Object } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Command } from 'commander';
import { DRILL_PROBE_PREFIX } from '../../lambdas/drill/s3-replication';
import { normalizeName } from '../../lambdas/shared/dns-name';
import {
  DATABASE_DIMENSION,
  HEALTH_PROBE_NAMESPACE,
  HEALTH_PROBE_SERVICE,
  REACHABLE_METRIC,
  type DatabaseRole,
} from '../../lambdas/health-probe/metric';
import { ConfigError, type DrConfig } from '../config';
import { parseAppConfig } from './config-defaults';
import { REQUIRED_DATABASE_PARAMETERS } from '../database-parameters';
import { DRILL_PAUSED_TAG_KEY, drNames, onCallRegions, ROUTE53_METRICS_REGION } from '../names';
import { UsageError } from './database-url';
import { PRIMARY_RECORD_CHECK_OUTPUT } from './hold-command';

/**
 * `dr doctor`: the post-deploy acceptance check of a real account. Read-only: it describes, lists and reads
 * metrics, and changes nothing. It settles what no local test can: what Route 53, RDS, S3, Secrets Manager,
 * SNS and EventBridge really report for the deployed app.
 */

export type CheckStatus = 'ok' | 'problem' | 'warning';

export interface DoctorCheck {
  readonly check: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do about a problem or warning. */
  readonly fix?: string;
}

export interface DoctorIo {
  readonly cloudFormation: (region: string) => Pick<CloudFormationClient, 'send'>;
  readonly route53: () => Pick<Route53Client, 'send'>;
  readonly rds: (region: string) => Pick<RDSClient, 'send'>;
  readonly cloudwatch: (region: string) => Pick<CloudWatchClient, 'send'>;
  readonly s3: (region: string) => Pick<S3Client, 'send'>;
  readonly events: (region: string) => Pick<EventBridgeClient, 'send'>;
  readonly sns: (region: string) => Pick<SNSClient, 'send'>;
  readonly secrets: (region: string) => Pick<SecretsManagerClient, 'send'>;
  readonly now: () => number;
}

export interface DoctorOptions {
  config: string;
  json?: boolean;
}

/** The RDS CAs whose roots the Lambda runtime's bundle (/var/runtime/ca-cert.pem) carries. */
export const TRUSTED_RDS_CAS = ['rds-ca-rsa2048-g1', 'rds-ca-rsa4096-g1', 'rds-ca-ecc384-g1'];
/** Expired CAs: a client that verifies (as every step here does) refuses them. */
const EXPIRED_RDS_CAS = ['rds-ca-2019', 'rds-ca-2015'];
/** Probes publish several times a minute: nothing in this window means a probe is not running. */
const PROBE_WINDOW_MS = 5 * 60_000;
/** At most this many pages of a list (parameters, objects): bounded reads. */
const MAX_PAGES = 20;
/** Parameters the DR topology needs in effect on both instances. */

export function addDoctorCommand(program: Command, action: (options: DoctorOptions) => Promise<void>): void {
  program
    .command('doctor')
    .description(
      'Read-only acceptance check of the deployed app in the account: health checks, hosted zone and answer, ' +
        'parameter groups, probes, RDS CAs, replica lag, S3 replication, drill schedule, on-call subscriptions, ' +
        'secret replica. Prints ok / problem / how to fix; exits 1 when anything is a problem.',
    )
    .option('--config <file>', 'the CDK app config (cdk.json, its "dr" context)', 'cdk.json')
    .option('--json', 'print one machine-readable JSON result')
    .action(action);
}

/** The app's config, read as `cdk synth` reads it. */
export function readConfig(file: string): DrConfig {
  let text: string;
  try {
    text = readFileSync(resolve(file), 'utf8');
  } catch {
    throw new UsageError('--config: cannot read that file (give the CDK app config, cdk.json)');
  }
  try {
    const context = (JSON.parse(text) as { context?: { dr?: unknown } }).context;
    return parseAppConfig(context?.dr, resolve(file));
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`--config: ${error.message}`);
    throw new UsageError('--config: that file is not JSON');
  }
}

const errorText = (error: unknown) =>
  `${(error as { name?: string }).name ?? 'Error'}: ${error instanceof Error ? error.message : String(error)}`;

/** Runs one check; an AWS error (a missing permission, a missing resource) is that check's problem only. */
async function guarded(
  check: string,
  fix: string,
  body: () => Promise<DoctorCheck[]>,
): Promise<DoctorCheck[]> {
  try {
    return await body();
  } catch (error) {
    return [{ check, status: 'problem', detail: `could not check: ${errorText(error)}`, fix }];
  }
}

async function outputs(io: DoctorIo, region: string, stack: string): Promise<Output[]> {
  const { Stacks } = await io.cloudFormation(region).send(new DescribeStacksCommand({ StackName: stack }));
  return Stacks?.[0]?.Outputs ?? [];
}

const outputValue = (list: readonly Output[], key: string) =>
  list.find((o) => o.OutputKey === key)?.OutputValue;

/**
 * One value per metric query over the last whole minutes: the statistic over the window, or undefined without
 * data. CloudWatch rounds StartTime down to the period's boundary and answers per period, so the window is
 * aligned to whole minutes and is one period long (one datapoint, never a trailing partial one).
 */
async function metricOverWindow(
  cloudwatch: Pick<CloudWatchClient, 'send'>,
  queries: readonly {
    id: string;
    metric: NonNullable<MetricDataQuery['MetricStat']>['Metric'];
    stat: string;
  }[],
  now: number,
  windowMs: number,
): Promise<Map<string, number | undefined>> {
  const end = Math.floor(now / 60_000) * 60_000;
  const start = end - Math.ceil(windowMs / 60_000) * 60_000;
  const { MetricDataResults } = await cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(start),
      EndTime: new Date(end),
      ScanBy: 'TimestampDescending',
      MetricDataQueries: queries.map((q) => ({
        Id: q.id,
        MetricStat: { Metric: q.metric, Period: (end - start) / 1000, Stat: q.stat },
        ReturnData: true,
      })),
    }),
  );
  return new Map(queries.map((q) => [q.id, MetricDataResults?.find((r) => r.Id === q.id)?.Values?.[0]]));
}

async function healthChecks(config: DrConfig, io: DoctorIo, dns: readonly Output[]): Promise<DoctorCheck[]> {
  const roles: [string, string][] = [
    ['PrimaryRecordHealthCheckId', 'PRIMARY record'],
    ['PrimaryDatabaseHealthCheckId', 'primary, probed in its region'],
    ['PrimaryRemoteHealthCheckId', 'primary, probed from the secondary'],
    ['SecondaryDatabaseHealthCheckId', 'replica'],
    ['SidecarHealthCheckId', 'sidecar'],
    ['DrillRecordHealthCheckId', 'drill record'],
  ];
  const present = roles.flatMap(([key, label]) => {
    const id = outputValue(dns, key);
    return id === undefined ? [] : [{ key, label, id }];
  });
  if (present.length === 0)
    return [
      {
        check: 'health checks',
        status: 'problem',
        detail: `stack ${drNames(config).stacks.failoverDns} names no health checks`,
        fix: 'deploy the app (cdk deploy --all)',
      },
    ];
  const route53 = io.route53();
  const status = await metricOverWindow(
    io.cloudwatch(ROUTE53_METRICS_REGION),
    present.map((p, i) => ({
      id: `c${i}`,
      metric: {
        Namespace: 'AWS/Route53',
        MetricName: 'HealthCheckStatus',
        Dimensions: [{ Name: 'HealthCheckId', Value: p.id }],
      },
      stat: 'Minimum',
    })),
    io.now(),
    PROBE_WINDOW_MS,
  );
  const results: DoctorCheck[] = [];
  for (const [i, p] of present.entries()) {
    const check = `health check: ${p.label}`;
    results.push(
      ...(await guarded(check, 'give the caller route53:GetHealthCheck', async () => {
        const { HealthCheck } = await route53.send(new GetHealthCheckCommand({ HealthCheckId: p.id }));
        const c = HealthCheck?.HealthCheckConfig;
        const value = status.get(`c${i}`);
        // What Route 53's checkers report for this check: for an alarm-based check, GetHealthCheckStatus is
        // undocumented (and refused for CALCULATED checks); shown as it answers, never relied on.
        let observed = '';
        if (c?.Type !== 'CALCULATED') {
          observed = await route53.send(new GetHealthCheckStatusCommand({ HealthCheckId: p.id })).then(
            (r) => {
              const statuses = [
                ...new Set((r.HealthCheckObservations ?? []).map((o) => o.StatusReport?.Status ?? '?')),
              ];
              return `; GetHealthCheckStatus: ${r.HealthCheckObservations?.length ?? 0} observation(s), ${statuses.slice(0, 2).join(' | ') || 'none'}`;
            },
            (error: unknown) => `; GetHealthCheckStatus refused: ${errorText(error)}`,
          );
        }
        if (c?.Disabled === true)
          return [
            {
              check,
              status: 'problem',
              detail: `${p.id} is disabled${p.key === PRIMARY_RECORD_CHECK_OUTPUT ? ' (held: dr hold): automatic failover is OFF' : ''}`,
              fix:
                p.key === PRIMARY_RECORD_CHECK_OUTPUT
                  ? 'dr hold --release once the blip is over'
                  : 'enable the check',
            },
          ];
        if (c?.Inverted === true)
          return [
            {
              check,
              status: 'problem',
              detail: `${p.id} is inverted (a drill running, or one that could not restore it)`,
              fix: 'dr status; if no drill runs: dr drill restore',
            },
          ];
        if (value === undefined)
          return [
            {
              check,
              status: 'problem',
              detail: `${p.id}: no HealthCheckStatus in the last 5 minutes${observed}`,
              fix: 'a new check takes a few minutes; otherwise see its alarm (dr doctor probes)',
            },
          ];
        return [
          value >= 1
            ? { check, status: 'ok', detail: `${p.id} healthy${observed}` }
            : {
                check,
                status: 'problem',
                detail: `${p.id} unhealthy in the last 5 minutes${observed}`,
                fix: 'see the observer alarms (…-db-unreachable, …-probe-*) and the probe logs',
              },
        ];
      })),
    );
  }
  return results;
}

async function hostedZone(
  config: DrConfig,
  io: DoctorIo,
  primaryEndpoint: string | undefined,
): Promise<DoctorCheck[]> {
  return guarded(
    'hosted zone',
    'give the caller route53:GetHostedZone and route53:TestDNSAnswer',
    async () => {
      const route53 = io.route53();
      const { HostedZone } = await route53.send(new GetHostedZoneCommand({ Id: config.hostedZoneId }));
      if (HostedZone?.Config?.PrivateZone === true)
        return [
          {
            check: 'hosted zone',
            status: 'problem',
            detail: `${config.hostedZoneId} is private: TestDNSAnswer (the flip's and the drill's confirmation) supports public zones only`,
            fix: 'put the failover records in a public hosted zone',
          },
        ];
      const answer = await route53.send(
        new TestDNSAnswerCommand({
          HostedZoneId: config.hostedZoneId,
          RecordName: config.recordName,
          RecordType: 'CNAME',
        }),
      );
      const values = (answer.RecordData ?? []).map(normalizeName);
      const zone = {
        check: 'hosted zone',
        status: 'ok' as const,
        detail: `${config.hostedZoneId} is public`,
      };
      if (primaryEndpoint === undefined) return [zone];
      const expected = normalizeName(primaryEndpoint);
      return [
        zone,
        values.includes(expected)
          ? {
              check: 'record answer',
              status: 'ok',
              detail: `${config.recordName} answers the primary (${primaryEndpoint})`,
            }
          : {
              check: 'record answer',
              status: 'problem',
              detail: `${config.recordName} answers ${values.join(', ') || 'nothing'} (${answer.ResponseCode ?? '?'}), not the primary ${primaryEndpoint}`,
              fix: 'PRIMARY is unhealthy or inverted: see the health checks above',
            },
      ];
    },
  );
}

async function describeInstance(io: DoctorIo, region: string, id: string): Promise<DBInstance | undefined> {
  const { DBInstances } = await io
    .rds(region)
    .send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
  return DBInstances?.[0];
}

async function parameters(
  io: Pick<DoctorIo, 'rds'>,
  region: string,
  group: string,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let marker: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await io.rds(region).send(
      new DescribeDBParametersCommand({
        DBParameterGroupName: group,
        Source: 'user',
        MaxRecords: 100,
        ...(marker === undefined ? {} : { Marker: marker }),
      }),
    );
    for (const p of answer.Parameters ?? [])
      if (p.ParameterName !== undefined) found.set(p.ParameterName, p.ParameterValue ?? '');
    marker = answer.Marker;
    if (marker === undefined) break;
  }
  return found;
}

/** Parameter group in sync and with the DR parameters in effect, and an RDS CA the runtime trusts. */
export async function databaseChecks(
  io: Pick<DoctorIo, 'rds'>,
  label: string,
  region: string,
  instance: DBInstance,
): Promise<DoctorCheck[]> {
  const id = instance.DBInstanceIdentifier ?? '?';
  const out: DoctorCheck[] = [];
  const group = instance.DBParameterGroups?.[0];
  const apply = group?.ParameterApplyStatus ?? '?';
  out.push(
    apply === 'in-sync'
      ? {
          check: `${label}: parameter group`,
          status: 'ok',
          detail: `${group?.DBParameterGroupName ?? '?'} in-sync`,
        }
      : {
          check: `${label}: parameter group`,
          status: 'problem',
          detail: `${group?.DBParameterGroupName ?? '?'} is ${apply}: its parameters are not all in effect`,
          fix:
            apply === 'pending-reboot'
              ? `reboot ${id} (in its maintenance window)`
              : 'wait, then check again',
        },
  );
  if (group?.DBParameterGroupName !== undefined) {
    const name = group.DBParameterGroupName;
    out.push(
      ...(await guarded(`${label}: parameters`, 'give the caller rds:DescribeDBParameters', async () => {
        const values = await parameters(io, region, name);
        const wrong = Object.entries(REQUIRED_DATABASE_PARAMETERS).filter(([k, v]) => values.get(k) !== v);
        return [
          wrong.length === 0
            ? {
                check: `${label}: parameters`,
                status: 'ok',
                detail: Object.entries(REQUIRED_DATABASE_PARAMETERS)
                  .map(([k, v]) => `${k} = ${v}`)
                  .join(', '),
              }
            : {
                check: `${label}: parameters`,
                status: 'problem',
                detail: wrong.map(([k, v]) => `${k} is ${values.get(k) ?? 'not set'}, needs ${v}`).join('; '),
                fix: `set them in ${name} and reboot`,
              },
        ];
      })),
    );
  }
  const ca = instance.CACertificateIdentifier ?? '?';
  out.push(
    TRUSTED_RDS_CAS.includes(ca)
      ? { check: `${label}: RDS CA`, status: 'ok', detail: `${ca}, trusted by the Lambda runtime's bundle` }
      : EXPIRED_RDS_CAS.includes(ca)
        ? {
            check: `${label}: RDS CA`,
            status: 'problem',
            detail: `${ca} has expired: verified TLS refuses it`,
            fix: `modify ${id} to rds-ca-rsa2048-g1`,
          }
        : {
            check: `${label}: RDS CA`,
            status: 'warning',
            detail: `${ca} is not one this tool knows the runtime trusts`,
            fix: 'use rds-ca-rsa2048-g1, rds-ca-rsa4096-g1 or rds-ca-ecc384-g1',
          },
  );
  return out;
}

async function database(
  io: DoctorIo,
  label: string,
  region: string,
  id: string,
): Promise<{ checks: DoctorCheck[]; instance?: DBInstance }> {
  let instance: DBInstance | undefined;
  const checks = await guarded(`${label}: instance`, 'give the caller rds:DescribeDBInstances', async () => {
    instance = await describeInstance(io, region, id);
    if (instance === undefined)
      return [
        {
          check: `${label}: instance`,
          status: 'problem',
          detail: `${id} not found in ${region}`,
          fix: 'deploy the app',
        },
      ];
    return databaseChecks(io, label, region, instance);
  });
  return instance === undefined ? { checks } : { checks, instance };
}

async function probes(config: DrConfig, io: DoctorIo): Promise<DoctorCheck[]> {
  const probesIn: [DatabaseRole, string][] = [
    ['primary', config.primaryRegion],
    ['replica', config.secondaryRegion],
    ['primary-remote', config.secondaryRegion],
  ];
  const results: DoctorCheck[] = [];
  for (const [role, region] of probesIn) {
    const check = `probe: ${role}`;
    results.push(
      ...(await guarded(check, 'give the caller cloudwatch:GetMetricData', async () => {
        const values = await metricOverWindow(
          io.cloudwatch(region),
          [
            {
              id: 'count',
              metric: {
                Namespace: HEALTH_PROBE_NAMESPACE,
                MetricName: REACHABLE_METRIC,
                Dimensions: [
                  { Name: DATABASE_DIMENSION, Value: role },
                  { Name: 'service', Value: HEALTH_PROBE_SERVICE },
                ],
              },
              stat: 'SampleCount',
            },
          ],
          io.now(),
          PROBE_WINDOW_MS,
        );
        const count = values.get('count') ?? 0;
        return [
          count > 0
            ? { check, status: 'ok', detail: `${count} probe(s) published in the last 5 minutes (${region})` }
            : {
                check,
                status: 'problem',
                detail: `nothing published in the last 5 minutes (${region}): this observer is blind`,
                fix: 'see the probe function logs, throttles and its schedule rule',
              },
        ];
      })),
    );
  }
  return results;
}

async function replicaLag(config: DrConfig, io: DoctorIo): Promise<DoctorCheck[]> {
  return guarded('replica lag', 'give the caller cloudwatch:GetMetricData', async () => {
    const values = await metricOverWindow(
      io.cloudwatch(config.secondaryRegion),
      [
        {
          id: 'lag',
          metric: {
            Namespace: 'AWS/RDS',
            MetricName: 'ReplicaLag',
            Dimensions: [{ Name: 'DBInstanceIdentifier', Value: config.database.replicaInstanceIdentifier }],
          },
          stat: 'Maximum',
        },
      ],
      io.now(),
      PROBE_WINDOW_MS,
    );
    const lag = values.get('lag');
    if (lag === undefined)
      return [
        {
          check: 'replica lag',
          status: 'problem',
          detail: 'no ReplicaLag in the last 5 minutes: the replica is not replicating',
          fix: 'see the replica in the RDS console (its replication status)',
        },
      ];
    return [
      lag <= config.replicaLagAlarmSeconds
        ? { check: 'replica lag', status: 'ok', detail: `at most ${lag} s in the last 5 minutes` }
        : {
            check: 'replica lag',
            status: 'problem',
            detail: `${lag} s (the alarm is at ${config.replicaLagAlarmSeconds} s): a failover now loses that much`,
            fix: 'see the replica and the primary write load',
          },
    ];
  });
}

async function s3Replication(config: DrConfig, io: DoctorIo): Promise<DoctorCheck[]> {
  const names = drNames(config);
  const bucket = names.backupBucket(config.primaryRegion);
  return guarded(
    'S3 replication',
    `give the caller s3:ListBucket and s3:GetObject on ${bucket}`,
    async () => {
      const s3 = io.s3(config.primaryRegion);
      let newest: _Object | undefined;
      let token: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const answer = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: DRILL_PROBE_PREFIX,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
        for (const o of answer.Contents ?? [])
          if (
            newest === undefined ||
            (o.LastModified?.getTime() ?? 0) > (newest.LastModified?.getTime() ?? 0)
          )
            newest = o;
        token = answer.NextContinuationToken;
        if (answer.IsTruncated !== true || token === undefined) break;
      }
      if (newest?.Key === undefined)
        return [
          {
            check: 'S3 replication',
            status: 'warning',
            detail: `no drill probe object in ${bucket} yet`,
            fix: 'run dr drill (its S3 probe writes one)',
          },
        ];
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: newest.Key }));
      const status = head.ReplicationStatus ?? 'none';
      return [
        status === 'COMPLETED'
          ? { check: 'S3 replication', status: 'ok', detail: `last probe object ${newest.Key}: COMPLETED` }
          : status === 'PENDING'
            ? {
                check: 'S3 replication',
                status: 'warning',
                detail: `last probe object ${newest.Key}: PENDING`,
                fix: 'check again in a few minutes',
              }
            : {
                check: 'S3 replication',
                status: 'problem',
                detail: `last probe object ${newest.Key}: ${status}`,
                fix: "see the bucket's replication rule and its role",
              },
      ];
    },
  );
}

/** The region failover that paused the schedule (its tag), if one did; unknown when the tags cannot be read. */
async function pausingFailover(
  events: Pick<EventBridgeClient, 'send'>,
  ruleArn: string | undefined,
): Promise<string | undefined> {
  if (ruleArn === undefined) return undefined;
  try {
    const { Tags } = await events.send(new ListTagsForResourceCommand({ ResourceARN: ruleArn }));
    return Tags?.find((t) => t.Key === DRILL_PAUSED_TAG_KEY)?.Value;
  } catch {
    // Without events:ListTagsForResource the check says what DescribeRule alone shows.
    return undefined;
  }
}

async function drillSchedule(config: DrConfig, io: DoctorIo): Promise<DoctorCheck[]> {
  const rule = drNames(config).drillSchedule;
  return guarded('drill schedule', 'give the caller events:DescribeRule', async () => {
    const events = io.events(config.orchestrationRegion);
    const answer = await events.send(new DescribeRuleCommand({ Name: rule }));
    if (answer.State === 'ENABLED')
      return [
        {
          check: 'drill schedule',
          status: 'ok',
          detail: `${rule} enabled: ${answer.ScheduleExpression ?? '?'}`,
        },
      ];
    const pausedBy = await pausingFailover(events, answer.Arn);
    if (pausedBy !== undefined)
      return [
        {
          check: 'drill schedule',
          status: 'warning',
          detail:
            `${rule} is paused by region failover ${pausedBy} until the failback: the re-protect that gives ` +
            'a writer in the home region its replica resumes it',
          fix:
            'fail back when the home region serves (docs/runbooks.md, Planned switchover (and failback)); ' +
            'after an abandoned switchover, enable it and remove its tag by hand (the page names the commands)',
        },
      ];
    return [
      config.drill.schedule.enabled
        ? {
            check: 'drill schedule',
            status: 'problem',
            detail: `${rule} is ${answer.State ?? '?'} but the config enables it`,
            fix: 'enable the rule, or redeploy',
          }
        : {
            check: 'drill schedule',
            status: 'warning',
            detail: `${rule} is off (drill.schedule.enabled is false): failover is unproven`,
            fix: 'enable drill.schedule',
          },
    ];
  });
}

async function subscriptions(config: DrConfig, io: DoctorIo): Promise<DoctorCheck[]> {
  const names = drNames(config);
  const results: DoctorCheck[] = [];
  for (const region of onCallRegions(config)) {
    const topic = `arn:aws:sns:${region}:${config.account}:${names.onCallTopic}`;
    const check = `on-call subscriptions: ${region}`;
    results.push(
      ...(await guarded(check, 'give the caller sns:ListSubscriptionsByTopic', async () => {
        const all: { arn: string; protocol: string }[] = [];
        let token: string | undefined;
        for (let page = 0; page < MAX_PAGES; page++) {
          const answer = await io.sns(region).send(
            new ListSubscriptionsByTopicCommand({
              TopicArn: topic,
              ...(token === undefined ? {} : { NextToken: token }),
            }),
          );
          for (const s of answer.Subscriptions ?? [])
            all.push({ arn: s.SubscriptionArn ?? '', protocol: s.Protocol ?? '?' });
          token = answer.NextToken;
          if (token === undefined) break;
        }
        const pending = all.filter((s) => s.arn === 'PendingConfirmation');
        const confirmed = all.length - pending.length;
        if (confirmed === 0)
          return [
            {
              check,
              status: 'problem',
              detail: `${names.onCallTopic}: no confirmed subscription (${pending.length} pending): alarms here page nobody`,
              fix: 'confirm the subscription e-mail or endpoint',
            },
          ];
        if (pending.length > 0)
          return [
            {
              check,
              status: 'warning',
              detail: `${confirmed} confirmed, ${pending.length} pending (${pending.map((p) => p.protocol).join(', ')})`,
              fix: 'confirm the pending subscription(s)',
            },
          ];
        return [{ check, status: 'ok', detail: `${confirmed} confirmed subscription(s)` }];
      })),
    );
  }
  return results;
}

async function secretReplica(config: DrConfig, io: DoctorIo): Promise<DoctorCheck[]> {
  const check = 'master secret replica';
  return guarded(check, 'give the caller secretsmanager:DescribeSecret', async () => {
    const answer = await io
      .secrets(config.primaryRegion)
      .send(new DescribeSecretCommand({ SecretId: config.database.secretName }));
    const replica = answer.ReplicationStatus?.find((r) => r.Region === config.secondaryRegion);
    if (replica === undefined)
      return [
        {
          check,
          status: 'problem',
          detail: `${config.database.secretName} has no replica in ${config.secondaryRegion}`,
          fix: 'redeploy (the stack replicates it)',
        },
      ];
    return [
      replica.Status === 'InSync'
        ? {
            check,
            status: 'ok',
            detail: `${config.database.secretName} in ${config.secondaryRegion}: InSync`,
          }
        : {
            check,
            status: 'problem',
            detail:
              `${config.database.secretName} in ${config.secondaryRegion}: ${replica.Status ?? '?'} ${replica.StatusMessage ?? ''}`.trim(),
            fix: "see the replica's status message (often its KMS key)",
          },
    ];
  });
}

/** Every check, each independent of the others' failures. */
export async function runDoctor(config: DrConfig, io: DoctorIo): Promise<DoctorCheck[]> {
  const names = drNames(config);
  const checks: DoctorCheck[] = [];
  let dns: Output[] = [];
  checks.push(
    ...(await guarded(
      'failover DNS stack',
      'deploy the app, and give the caller cloudformation:DescribeStacks',
      async () => {
        dns = await outputs(io, ROUTE53_METRICS_REGION, names.stacks.failoverDns);
        return [];
      },
    )),
  );
  checks.push(...(await healthChecks(config, io, dns)));
  const primary = await database(
    io,
    'primary',
    config.primaryRegion,
    config.database.primaryInstanceIdentifier,
  );
  const replica = await database(
    io,
    'replica',
    config.secondaryRegion,
    config.database.replicaInstanceIdentifier,
  );
  checks.push(...(await hostedZone(config, io, primary.instance?.Endpoint?.Address)));
  checks.push(...primary.checks, ...replica.checks);
  checks.push(...(await probes(config, io)));
  checks.push(...(await replicaLag(config, io)));
  checks.push(...(await s3Replication(config, io)));
  checks.push(...(await drillSchedule(config, io)));
  checks.push(...(await subscriptions(config, io)));
  checks.push(...(await secretReplica(config, io)));
  return checks;
}

/** The table: one line per check, then how to fix each problem and warning. */
export function describeDoctor(checks: readonly DoctorCheck[]): string[] {
  const width = Math.max(...checks.map((c) => c.check.length), 5);
  const lines = checks.map((c) => `${c.status.padEnd(8)} ${c.check.padEnd(width)}  ${c.detail}`);
  const todo = checks.filter((c) => c.fix !== undefined && c.status !== 'ok');
  if (todo.length > 0) {
    lines.push('', 'How to fix:');
    for (const c of todo) lines.push(`  ${c.check}: ${c.fix ?? ''}`);
  }
  const problems = checks.filter((c) => c.status === 'problem').length;
  lines.push('', problems === 0 ? 'No problems.' : `${problems} problem(s).`);
  return lines;
}

export function defaultDoctorIo(): DoctorIo {
  const cache = new Map<string, unknown>();
  const client = <T>(key: string, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as T;
  };
  return {
    cloudFormation: (region) => client(`cfn:${region}`, () => new CloudFormationClient({ region })),
    route53: () => client('route53', () => new Route53Client({ region: 'us-east-1' })),
    rds: (region) => client(`rds:${region}`, () => new RDSClient({ region })),
    cloudwatch: (region) => client(`cw:${region}`, () => new CloudWatchClient({ region })),
    s3: (region) => client(`s3:${region}`, () => new S3Client({ region })),
    events: (region) => client(`events:${region}`, () => new EventBridgeClient({ region })),
    sns: (region) => client(`sns:${region}`, () => new SNSClient({ region })),
    secrets: (region) => client(`sm:${region}`, () => new SecretsManagerClient({ region })),
    now: Date.now,
  };
}
