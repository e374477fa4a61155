/**
 * `dr restore --to-point-in-time <time|latest> --target-id <id>`: the first step of the seed's recovery
 * procedure, "restore the primary database from backup". It restores the writer's automated backups kept in a
 * region (the writer's own, or those replicated to the DR region) to a point in time, into a NEW instance
 * placed like the topology's database in that region, and follows it until it is available. It changes no
 * existing database and no DNS: putting the restored instance into service is the runbook's next step
 * (docs/runbooks.md, Restore from backup), through the blue-green cutover or the topology.
 */
import {
  RDSClient,
  RestoreDBInstanceToPointInTimeCommand,
  type DBInstance,
  type DBInstanceAutomatedBackup,
} from '@aws-sdk/client-rds';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Option, type Command } from 'commander';
import { allAutomatedBackups, backupSourceRegion } from '../../lambdas/restore-test/backups';
import { describeInstance } from '../../lambdas/shared/rds-instance';
import { RESTORED_FROM_TAG, RESTORE_POINT_TAG } from '../../lambdas/shared/provisioning-tags';
import { TERMINAL_DB_STATUSES } from '../../lambdas/shared/rds-status';
import { sleep } from '../../lambdas/shared/sleep';
import { readTopology, type Topology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { ROUTE53_METRICS_REGION } from '../names';
import { defaultFromConfig, FROM_CONFIG } from './config-defaults';
import { UsageError } from './usage-error';
import { rdsInstanceId, regionName, resourcePrefix, wholeNumber } from './option-values';

export interface RestoreIo {
  readonly out: (text: string) => void;
  readonly rds: Pick<RDSClient, 'send'>;
  /** Parameter Store where the topology lives (the failover DNS stack's region). */
  readonly ssm: Pick<SSMClient, 'send'>;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface RestoreOptions {
  toPointInTime: string;
  targetId: string;
  region?: string;
  sourceInstance?: string;
  resourcePrefix: string;
  dryRun?: boolean;
  pollInterval: number;
  timeout: number;
  json?: boolean;
}

export function addRestoreCommand(
  program: Command,
  action: (options: RestoreOptions) => Promise<void>,
): void {
  const command = program
    .command('restore')
    .description(
      'Restore the writer’s automated backups kept in a region to a point in time, into a NEW instance placed ' +
        'like the topology’s database there, and follow it until it is available. Changes no existing database ' +
        'and no DNS: put it into service as docs/runbooks.md, Restore from backup, says.',
    )
    .requiredOption(
      '--to-point-in-time <time>',
      '`latest` (the latest restorable time), or an ISO 8601 time with its zone (2026-12-01T04:55:00Z) within the restore window',
    )
    .requiredOption(
      '--target-id <id>',
      'the new instance’s RDS identifier (must not exist)',
      rdsInstanceId('--target-id'),
    )
    .option(
      '--region <region>',
      "where to restore: the writer's region, or the DR region its backups are replicated to (default: the config's secondaryRegion)",
      regionName(),
    )
    .option(
      '--source-instance <id>',
      'whose backups to restore (default: the writer the topology names; a deleted instance’s retained backups too)',
      rdsInstanceId('--source-instance'),
    )
    .option(
      '--resource-prefix <prefix>',
      "the app's dr.resourcePrefix: names the topology's parameters (default: from the config, else this)",
      resourcePrefix(),
      'pg-dr',
    )
    .option('--dry-run', 'say what would be restored, where, and to when; restore nothing')
    .addOption(
      new Option('--poll-interval <ms>', 'how often to read the new instance’s status')
        .argParser(wholeNumber('--poll-interval', 600_000, 'ms'))
        .default(30_000),
    )
    .addOption(
      new Option('--timeout <ms>', 'stop following after this long (RDS goes on restoring)')
        .argParser(wholeNumber('--timeout', 86_400_000, 'ms'))
        .default(14_400_000),
    )
    .option('--json', 'print one machine-readable JSON result at the end')
    .action(action);
  defaultFromConfig(command, 'region', FROM_CONFIG.secondaryRegion);
  defaultFromConfig(command, 'resourcePrefix', FROM_CONFIG.resourcePrefix);
}

/** What `dr restore` restores, to when, and where it puts the new instance. */
export interface RestorePlan {
  readonly source: string;
  readonly region: string;
  /** `latest`, or the ISO time asked for. */
  readonly pointInTime: string;
  readonly window: { readonly earliest: string; readonly latest: string };
  readonly backup: { readonly replicated: boolean; readonly status: string };
  readonly target: string;
  /** The topology database of the region whose placement the new instance takes. */
  readonly placedLike: string;
}

const restorable = (b: DBInstanceAutomatedBackup) =>
  ['active', 'replicating', 'retained'].includes((b.Status ?? '').toLowerCase()) &&
  b.RestoreWindow?.EarliestTime !== undefined &&
  b.RestoreWindow.LatestTime !== undefined;

/** The time asked for: `latest`, or an ISO 8601 time with its zone. */
function pointInTime(given: string): Date | 'latest' {
  if (given === 'latest') return 'latest';
  const zoned = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(given);
  const when = new Date(given);
  if (!zoned || Number.isNaN(when.getTime()))
    throw new UsageError(
      '--to-point-in-time: give `latest` or an ISO 8601 time with its zone, such as 2026-12-01T04:55:00Z',
    );
  return when;
}

/**
 * The backups to restore from: the source's, in the region, whose window holds the time (the newest for
 * `latest`). The source is an instance of `sourceRegion` when the topology knows it: an instance of that name in
 * another region has backups of its own. An unknown source whose name has backups from several regions is
 * refused rather than guessed.
 */
function chooseBackup(
  backups: readonly DBInstanceAutomatedBackup[],
  source: string,
  sourceRegion: string | undefined,
  region: string,
  when: Date | 'latest',
): DBInstanceAutomatedBackup {
  const candidates = backups
    .filter(
      (b) =>
        b.DBInstanceIdentifier === source &&
        restorable(b) &&
        (sourceRegion === undefined || (backupSourceRegion(b) ?? region) === sourceRegion),
    )
    .sort(
      (a, b) => (b.RestoreWindow?.LatestTime?.getTime() ?? 0) - (a.RestoreWindow?.LatestTime?.getTime() ?? 0),
    );
  if (candidates.length === 0)
    throw new Error(
      `no restorable automated backups of ${source} in ${region}: dr backups --region ${region} says what is there (after a cutover or failover, replication must be started for the new writer)`,
    );
  const origins = [...new Set(candidates.map((b) => backupSourceRegion(b) ?? region))];
  if (origins.length > 1)
    throw new Error(
      `${source} names instances of ${origins.join(' and ')} whose backups are both in ${region}, and the topology knows neither: restore one with the AWS CLI (aws rds restore-db-instance-to-point-in-time) by its backup's ARN`,
    );
  if (when === 'latest') return candidates[0] as DBInstanceAutomatedBackup;
  const holding = candidates.find(
    (b) =>
      (b.RestoreWindow?.EarliestTime?.getTime() ?? Infinity) <= when.getTime() &&
      when.getTime() <= (b.RestoreWindow?.LatestTime?.getTime() ?? -Infinity),
  );
  if (holding === undefined)
    throw new UsageError(
      `--to-point-in-time ${when.toISOString()} is outside the restore window of ${source} in ${region}: ${candidates
        .map(
          (b) =>
            `${b.RestoreWindow?.EarliestTime?.toISOString()} to ${b.RestoreWindow?.LatestTime?.toISOString()}`,
        )
        .join(', ')}`,
    );
  return holding;
}

/** The topology's database in `region` whose placement (subnets, security groups, parameters, class) a restore takes. */
async function placementSource(io: RestoreIo, topology: Topology, region: string): Promise<DBInstance> {
  const member = [topology.writer, topology.replica].find((m) => m !== null && m.region === region);
  const found =
    member === undefined || member === null
      ? undefined
      : await describeInstance(io.rds, member.instanceIdentifier);
  if (found === undefined)
    throw new Error(
      `the topology names no database in ${region} to place the restored instance like (writer ${topology.writer.instanceIdentifier} in ${topology.writer.region}): restore in the region of one`,
    );
  return found;
}

/** Reads what the restore would do, refusing before anything is created. */
export async function planRestore(
  options: RestoreOptions,
  io: RestoreIo,
): Promise<{ plan: RestorePlan; backup: DBInstanceAutomatedBackup; placedLike: DBInstance }> {
  const region = options.region;
  if (region === undefined)
    throw new UsageError(
      'no region to restore in: pass --region, or run where cdk.json (--config) names the DR region',
    );
  const when = pointInTime(options.toPointInTime);
  const topology = await readTopology(io.ssm, topologyParameterNames(options.resourcePrefix));
  const source = options.sourceInstance ?? topology.writer.instanceIdentifier;
  if (
    [topology.writer, topology.replica, ...topology.retired].some(
      (m) => m?.instanceIdentifier === options.targetId,
    )
  )
    throw new UsageError(
      `--target-id ${options.targetId} names a database of the topology: give a new identifier`,
    );
  if ((await describeInstance(io.rds, options.targetId)) !== undefined)
    throw new UsageError(
      `--target-id ${options.targetId} exists already in ${region}: give a new identifier`,
    );
  const known = [topology.writer, topology.replica, ...topology.retired].find(
    (m) => m?.instanceIdentifier === source,
  );
  const backup = chooseBackup(await allAutomatedBackups(io.rds), source, known?.region, region, when);
  const placedLike = await placementSource(io, topology, region);
  return {
    plan: {
      source,
      region,
      pointInTime: when === 'latest' ? 'latest' : when.toISOString(),
      window: {
        earliest: backup.RestoreWindow?.EarliestTime?.toISOString() ?? '?',
        latest: backup.RestoreWindow?.LatestTime?.toISOString() ?? '?',
      },
      backup: { replicated: (backupSourceRegion(backup) ?? region) !== region, status: backup.Status ?? '?' },
      target: options.targetId,
      placedLike: placedLike.DBInstanceIdentifier ?? '?',
    },
    backup,
    placedLike,
  };
}

export interface RestoreOutcome {
  readonly exitCode: number;
  readonly plan: RestorePlan;
  readonly status: string;
  readonly endpoint?: string;
  readonly port?: number;
}

/** Restores (unless a dry run) and follows the new instance until available, RDS gives up, or the timeout. */
export async function runRestore(options: RestoreOptions, io: RestoreIo): Promise<RestoreOutcome> {
  const { plan, backup, placedLike } = await planRestore(options, io);
  if (options.dryRun === true) return { exitCode: 0, plan, status: 'dry run' };
  const parameterGroup = placedLike.DBParameterGroups?.[0]?.DBParameterGroupName;
  await io.rds.send(
    new RestoreDBInstanceToPointInTimeCommand({
      TargetDBInstanceIdentifier: plan.target,
      ...(plan.backup.replicated
        ? { SourceDBInstanceAutomatedBackupsArn: backup.DBInstanceAutomatedBackupsArn }
        : { SourceDbiResourceId: backup.DbiResourceId }),
      ...(plan.pointInTime === 'latest'
        ? { UseLatestRestorableTime: true }
        : { RestoreTime: new Date(plan.pointInTime) }),
      DBInstanceClass: placedLike.DBInstanceClass,
      DBSubnetGroupName: placedLike.DBSubnetGroup?.DBSubnetGroupName,
      VpcSecurityGroupIds: (placedLike.VpcSecurityGroups ?? []).flatMap((g) =>
        g.VpcSecurityGroupId === undefined ? [] : [g.VpcSecurityGroupId],
      ),
      ...(parameterGroup === undefined ? {} : { DBParameterGroupName: parameterGroup }),
      ...(placedLike.Endpoint?.Port === undefined ? {} : { Port: placedLike.Endpoint.Port }),
      MultiAZ: placedLike.MultiAZ === true,
      PubliclyAccessible: false,
      // It is meant to become production: protected, its own backups (kept as long as its source's: a DR
      // replica, placed like, keeps none), tagged with where it came from.
      DeletionProtection: true,
      BackupRetentionPeriod: Math.max(
        1,
        backup.BackupRetentionPeriod ?? 0,
        placedLike.BackupRetentionPeriod ?? 0,
      ),
      CopyTagsToSnapshot: true,
      EnableIAMDatabaseAuthentication: true,
      Tags: [
        { Key: RESTORED_FROM_TAG, Value: plan.source },
        { Key: RESTORE_POINT_TAG, Value: plan.pointInTime },
      ],
    }),
  );
  io.out(
    `Restoring ${plan.source} (${plan.pointInTime === 'latest' ? `latest, ${plan.window.latest}` : plan.pointInTime}) into ${plan.target} in ${plan.region}, placed like ${plan.placedLike}\n`,
  );
  return follow(options, io, plan);
}

async function follow(options: RestoreOptions, io: RestoreIo, plan: RestorePlan): Promise<RestoreOutcome> {
  const started = io.now();
  let last = '';
  for (;;) {
    const instance = await describeInstance(io.rds, plan.target);
    const status = instance?.DBInstanceStatus ?? 'creating';
    if (status !== last)
      io.out(`[${((io.now() - started) / 1000).toFixed(0).padStart(6)} s] ${plan.target}: ${status}\n`);
    last = status;
    if (status === 'available')
      return {
        exitCode: 0,
        plan,
        status,
        ...(instance?.Endpoint?.Address === undefined ? {} : { endpoint: instance.Endpoint.Address }),
        ...(instance?.Endpoint?.Port === undefined ? {} : { port: instance.Endpoint.Port }),
      };
    if (TERMINAL_DB_STATUSES.has(status) || io.now() - started >= options.timeout)
      return { exitCode: 1, plan, status };
    await io.sleep(options.pollInterval);
  }
}

/** The closing lines: where the restored instance is, or why it is not, and what comes next. */
export function summarizeRestore(outcome: RestoreOutcome): string[] {
  const p = outcome.plan;
  const what = `${p.source} in ${p.region} (${p.backup.replicated ? 'backups replicated from its region' : 'its own backups'}, window ${p.window.earliest} to ${p.window.latest})`;
  if (outcome.status === 'dry run')
    return [
      `Would restore ${what} to ${p.pointInTime} into ${p.target}, placed like ${p.placedLike}. Nothing was restored.`,
    ];
  if (outcome.status === 'available')
    return [
      `Restored ${what} to ${p.pointInTime}: ${p.target} is available at ${outcome.endpoint ?? '?'}:${outcome.port ?? '?'}.`,
      'Nothing serves from it yet. Check it, then put it into service: docs/runbooks.md, Restore from backup.',
    ];
  return [
    `${p.target} is ${outcome.status}${TERMINAL_DB_STATUSES.has(outcome.status) ? ': RDS could not restore it (see its events)' : ': RDS goes on restoring; dr backups and aws rds describe-db-instances follow it'}.`,
  ];
}

/** Real clients: RDS of the region restored in, Parameter Store beside the failover records. */
export function defaultRestoreIo(out: (text: string) => void, region: string | undefined): RestoreIo {
  return {
    out,
    rds: new RDSClient(region === undefined ? {} : { region }),
    ssm: new SSMClient({ region: ROUTE53_METRICS_REGION }),
    now: Date.now,
    sleep,
  };
}
