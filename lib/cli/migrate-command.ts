import { failoverSetIdentifier } from '../names';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import {
  blueGreenInputSchema,
  greenProvisioningInputSchema,
  type BlueGreenInput,
  type GreenProvisioningInput,
} from '../../lambdas/workflow-input/schema';
import { sleep } from '../../lambdas/shared/sleep';
import { UsageError } from './database-url';
import { defaultFromConfig, FROM_CONFIG } from './config-defaults';
import { stackOutput } from './stack-output';
import {
  addFollowOptions,
  derivedExecutionName,
  startAndFollow,
  type ExecutionOutcome,
  type FollowIo,
} from './follow-execution';
import {
  executionName as executionNameOption,
  rdsInstanceId,
  recordSetIdentifier,
  regionName,
  stackName,
  stateMachineArn,
  wholeNumber,
} from './option-values';

export interface MigrateOptions {
  dryRun?: boolean;
  blueDbSecret: string;
  greenDbSecret?: string;
  provisionGreen?: string;
  blueInstanceId?: string;
  database?: string;
  replicationSecret?: string;
  blueEndpoint?: string;
  greenEndpoint?: string;
  dnsZone: string;
  dnsRecord: string;
  dnsSetIdentifier?: string;
  smokeTestUrl?: string;
  subscription: string;
  catchUpTimeout: number;
  allowUnsynchronizedFlip?: boolean;
  wayBack?: boolean;
  rollback?: boolean;
  rebuildDr?: boolean;
  greenInstanceId?: string;
  drReplicaInstanceId?: string;
  dnsSecondarySetIdentifier?: string;
  stateMachineArn?: string;
  stack: string;
  region?: string;
  executionName?: string;
  pollInterval: number;
  timeout: number;
  json?: boolean;
}

export interface MigrateIo extends FollowIo {
  readonly cloudFormation: Pick<CloudFormationClient, 'send'>;
}

const DEFAULT_SUBSCRIPTION = 'dr_blue_green';
/** The way back's publication and subscription (the cutover step's defaults). */
const WAY_BACK_SUBSCRIPTION = 'dr_way_back';

/** The options of `--provision-green` (green made first, from the writer) and of the way back. */
function addProvisioningOptions(command: Command): Command {
  return command
    .option(
      '--provision-green <id>',
      'make green first, from nothing (pg-dr-green-provisioning): an instance of this identifier like blue, its ' +
        'secret, blue’s schema and data by logical replication; then migrate, cut over and rebuild DR for it',
      rdsInstanceId('--provision-green'),
    )
    .option(
      '--blue-instance-id <id>',
      "with --provision-green, --way-back or --rollback: blue's RDS instance identifier, the topology's writer, retired when the way back's window closes (default: the config's primary)",
      rdsInstanceId('--blue-instance-id'),
    )
    .option('--database <name>', 'with --provision-green: the application database (default: the config’s)')
    .option(
      '--replication-secret <arn|name>',
      'with --provision-green or --way-back: the replication user’s secret (default: the config’s database.replicationSecretName)',
    )
    .option(
      '--way-back',
      'after the flip, blue keeps following green (logical replication) so that --rollback loses nothing; refused ' +
        'before anything is fenced when the migration makes that impossible (a dropped table or NOT NULL column)',
    )
    .option(
      '--rollback',
      'cut back over to the previous writer, which follows the current one by the way back: --blue-* name the ' +
        'current writer, --green-* the previous one; nothing is migrated (subscription: dr_way_back)',
    );
}

/** The options `dr migrate` needs (its subcommands do not). */
const REQUIRED_FLAGS = ['--blue-db-secret <arn|name>', '--dns-zone <id>', '--dns-record <name>'];

/**
 * Adds `dr migrate` with the seed script's options, secret references instead of passwords; returns it (its
 * subcommands, rollback and finish, go under it).
 */
export function addMigrateCommand(
  program: Command,
  action: (options: MigrateOptions) => Promise<void>,
): Command {
  addProvisioningOptions(addFollowOptions(program.command('migrate')))
    .description(
      'Run the blue-green migration workflow (Step Functions): connectivity, plan, migrate green, verify, smoke test, ' +
        'zero-loss cutover, DNS flip. Follows the execution step by step; exits 1 if it fails.',
    )
    .option('--dry-run', 'check connectivity and print the migration plan; change nothing')
    .option(
      '--blue-db-secret <arn|name>',
      'Secrets Manager secret of blue (the current primary); never a URL',
    )
    .option(
      '--green-db-secret <arn|name>',
      'Secrets Manager secret of green (the new database); not with --provision-green, which makes its own',
    )
    .option(
      '--blue-endpoint <host>',
      "blue's endpoint, restored in DNS on rollback (required unless --dry-run)",
    )
    .option(
      '--green-endpoint <host>',
      "green's endpoint, which the record will point at (required unless --dry-run)",
    )
    .option('--dns-zone <id>', 'Route 53 hosted zone id of the database record')
    .option('--dns-record <name>', 'the database record, e.g. db.provability-fabric.org')
    .option(
      '--dns-set-identifier <id>',
      'set identifier of the PRIMARY failover record (default <record>-primary)',
      recordSetIdentifier('--dns-set-identifier'),
    )
    .option('--smoke-test-url <url>', 'application health URL checked before and after the flip')
    .option('--subscription <name>', "green's logical subscription to blue", DEFAULT_SUBSCRIPTION)
    .option(
      '--catch-up-timeout <ms>',
      "how long green may take to apply blue's last writes while blue is fenced",
      wholeNumber('--catch-up-timeout', 600_000, 'ms', 100),
      30_000,
    )
    .option(
      '--allow-unsynchronized-flip',
      'flip even though green does not replicate blue (writes during the flip are lost)',
    )
    .option(
      '--rebuild-dr',
      'after the cutover, start the DR rebuild: a cross-region read replica of green, recorded in the topology',
    )
    .option(
      '--green-instance-id <id>',
      "green's RDS instance identifier (required unless --dry-run: the cutover records green as the writer)",
      rdsInstanceId('--green-instance-id'),
    )
    .option(
      '--dr-replica-instance-id <id>',
      'identifier of the new DR replica (default <green>-dr)',
      rdsInstanceId('--dr-replica-instance-id'),
    )
    .option(
      '--dns-secondary-set-identifier <id>',
      'set identifier of the SECONDARY failover record (default <record>-secondary)',
      recordSetIdentifier('--dns-secondary-set-identifier'),
    )
    .option(
      '--state-machine-arn <arn>',
      'the workflow to start (default: output of --stack)',
      stateMachineArn(),
    )
    .option(
      '--stack <name>',
      'orchestration stack whose output names the workflow (default: from the config, else this)',
      stackName(),
      'pg-dr-orchestration',
    )
    .option(
      '--region <region>',
      "orchestration region (default: the config's, unless --stack is given; else AWS_REGION or the profile's)",
      regionName(),
    )
    .option(
      '--execution-name <name>',
      'execution name (default: derived from the input and the minute, so a repeated command attaches instead of starting twice)',
      executionNameOption(),
    )
    .option('--json', 'print one machine-readable JSON result at the end')
    // Required of `dr migrate` itself, not of its subcommands (which commander would ask them of too).
    .hook('preAction', (self, acting) => {
      if (acting !== self) return;
      for (const flags of REQUIRED_FLAGS) {
        const option = self.options.find((o) => o.flags === flags);
        if (option !== undefined && self.getOptionValue(option.attributeName()) === undefined)
          self.error(`error: required option '${flags}' not specified`, {
            code: 'commander.missingMandatoryOptionValue',
          });
      }
    })
    .action(action);
  const command = program.commands.find((c) => c.name() === 'migrate');
  if (command === undefined) throw new Error('dr migrate was not added');
  defaultFromConfig(command, 'stack', FROM_CONFIG.orchestrationStack);
  defaultFromConfig(command, 'region', FROM_CONFIG.orchestrationRegion);
  defaultFromConfig(command, 'blueInstanceId', FROM_CONFIG.primaryInstance);
  defaultFromConfig(command, 'database', FROM_CONFIG.databaseName);
  defaultFromConfig(command, 'replicationSecret', FROM_CONFIG.replicationSecret);
  return command;
}

/** Which flag sets each field of the workflow input (a path in blueGreenInputSchema). */
const FLAG_OF_FIELD: Record<string, string> = {
  'blue.secretId': '--blue-db-secret',
  'green.secretId': '--green-db-secret',
  blueEndpoint: '--blue-endpoint',
  greenEndpoint: '--green-endpoint',
  'dns.hostedZoneId': '--dns-zone',
  'dns.recordName': '--dns-record',
  'dns.setIdentifier': '--dns-set-identifier',
  'dns.secondarySetIdentifier': '--dns-secondary-set-identifier',
  smokeTestUrl: '--smoke-test-url',
  subscription: '--subscription',
  catchUpTimeoutMs: '--catch-up-timeout',
  greenInstanceIdentifier: '--green-instance-id',
  drReplicaInstanceIdentifier: '--dr-replica-instance-id',
  'wayBack.replicationSecretId': '--replication-secret',
  rollback: '--rollback',
  blueInstanceIdentifier: '--blue-instance-id',
  blueInstanceIdentifier_provisioned: '--blue-instance-id',
  greenInstanceIdentifier_provisioned: '--provision-green',
  greenReplicaInstanceIdentifier_provisioned: '--dr-replica-instance-id',
  database_provisioned: '--database',
  replicationSecretId_provisioned: '--replication-secret',
};

/**
 * The workflow input: secret references and names only, checked here by the workflow's own schema
 * (blueGreenInputSchema, the rule its first step applies), so a mistake fails before AWS sees it and names the
 * flag. A refusal never repeats the value given.
 */
export function workflowInput(options: MigrateOptions): BlueGreenInput {
  if (options.greenDbSecret === undefined)
    throw new UsageError('--green-db-secret is required (or --provision-green to make green first)');
  const candidate = { ...migrationFields(options), green: { secretId: options.greenDbSecret } };
  const parsed = blueGreenInputSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  throw usageErrorOf(parsed.error.issues);
}

/** The flags that --provision-green decides itself (green is what it makes). */
const PROVISIONED_FLAGS: readonly [keyof MigrateOptions, string][] = [
  ['greenDbSecret', '--green-db-secret'],
  ['greenEndpoint', '--green-endpoint'],
  ['greenInstanceId', '--green-instance-id'],
  ['allowUnsynchronizedFlip', '--allow-unsynchronized-flip'],
  ['dryRun', '--dry-run'],
  ['rollback', '--rollback'],
];

/**
 * The green provisioning workflow's input (greenProvisioningInputSchema): blue, the green to make, and the
 * migration to run once green is in sync. The migration always rebuilds DR for green.
 */
export function provisioningInput(options: MigrateOptions): GreenProvisioningInput {
  const green = options.provisionGreen ?? '';
  const given = PROVISIONED_FLAGS.filter(([key]) => options[key] !== undefined).map(([, flag]) => flag);
  if (given.length > 0)
    throw new UsageError(`--provision-green makes green itself: leave out ${given.join(', ')}`);
  const missing = (
    [
      ['blueInstanceId', '--blue-instance-id'],
      ['database', '--database'],
      ['replicationSecret', '--replication-secret'],
    ] as const
  ).filter(([key]) => options[key] === undefined);
  if (missing.length > 0)
    throw new UsageError(
      `${missing.map(([, flag]) => flag).join(', ')} required with --provision-green (or a config to take them from)`,
    );
  const { dryRun, blue, blueEndpoint, dns, smokeTestUrl, subscription, catchUpTimeoutMs, wayBack } =
    migrationFields(options);
  const candidate = {
    blueInstanceIdentifier: options.blueInstanceId,
    greenInstanceIdentifier: green,
    greenReplicaInstanceIdentifier: options.drReplicaInstanceId ?? `${green}-dr`,
    database: options.database,
    replicationSecretId: options.replicationSecret,
    migration: {
      dryRun,
      blue,
      blueEndpoint,
      dns,
      ...(smokeTestUrl === undefined ? {} : { smokeTestUrl }),
      subscription,
      catchUpTimeoutMs,
      ...(wayBack === undefined ? {} : { wayBack }),
    },
  };
  const parsed = greenProvisioningInputSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  throw usageErrorOf(parsed.error.issues, true);
}

/** The migration's fields every form of the command shares. */
function migrationFields(options: MigrateOptions) {
  const record = options.dnsRecord.replace(/\.$/, '');
  return {
    dryRun: options.dryRun === true,
    blue: { secretId: options.blueDbSecret },
    blueEndpoint: options.blueEndpoint ?? '',
    greenEndpoint: options.greenEndpoint ?? '',
    dns: {
      hostedZoneId: options.dnsZone,
      recordName: record,
      setIdentifier: options.dnsSetIdentifier ?? failoverSetIdentifier(record, 'primary'),
      secondarySetIdentifier: options.dnsSecondarySetIdentifier ?? failoverSetIdentifier(record, 'secondary'),
    },
    ...(options.smokeTestUrl === undefined ? {} : { smokeTestUrl: options.smokeTestUrl }),
    // A rollback's green follows blue by the way back's subscription, unless another is named.
    subscription:
      options.rollback === true && options.subscription === DEFAULT_SUBSCRIPTION
        ? WAY_BACK_SUBSCRIPTION
        : options.subscription,
    catchUpTimeoutMs: options.catchUpTimeout,
    allowUnsynchronizedFlip: options.allowUnsynchronizedFlip === true,
    ...(options.rollback === true ? { rollback: true } : {}),
    ...(options.wayBack === true || options.rollback === true
      ? { wayBack: { replicationSecretId: options.replicationSecret ?? '' } }
      : {}),
    ...(options.greenInstanceId === undefined ? {} : { greenInstanceIdentifier: options.greenInstanceId }),
    // With the way back, blue is retired when the window closes: by its instance.
    ...((options.wayBack === true || options.rollback === true) && options.blueInstanceId !== undefined
      ? { blueInstanceIdentifier: options.blueInstanceId }
      : {}),
    ...(options.rebuildDr === true
      ? {
          rebuildDr: true,
          drReplicaInstanceIdentifier:
            options.drReplicaInstanceId ??
            (options.greenInstanceId === undefined ? undefined : `${options.greenInstanceId}-dr`),
        }
      : {}),
  };
}

/** A schema's refusal as a usage error naming the flags (never the values given). */
function usageErrorOf(
  issues: readonly { path: PropertyKey[]; message: string }[],
  provisioning = false,
): UsageError {
  const problems = issues.map((issue) => {
    const path = issue.path.map(String);
    // The provisioning input nests the migration's fields, and names green by --provision-green.
    const field = provisioning
      ? path[0] === 'migration'
        ? path.slice(1).join('.')
        : `${path.join('.')}_provisioned`
      : path.join('.');
    const flag = FLAG_OF_FIELD[field] ?? FLAG_OF_FIELD[field.replace(/_provisioned$/, '')] ?? field;
    // The schema speaks of its own fields; on the command line they are flags.
    const message = issue.message
      .replace(/\bdryRun\b/g, '--dry-run')
      .replace(/\brebuildDr\b/g, '--rebuild-dr');
    return `${flag} ${message}`;
  });
  return new UsageError([...new Set(problems)].join('; '));
}

/** Same input in the same minute: same name, so Step Functions attaches instead of starting a second run. */
export function executionName(input: Record<string, unknown>, nowMs: number): string {
  return derivedExecutionName(input.dryRun === true ? 'plan' : 'migrate', input, nowMs);
}

async function findStateMachine(options: MigrateOptions, io: MigrateIo): Promise<string> {
  if (options.stateMachineArn !== undefined) return options.stateMachineArn;
  return stackOutput(
    io.cloudFormation,
    options.stack,
    options.provisionGreen === undefined ? 'BlueGreenStateMachineArn' : 'GreenProvisioningStateMachineArn',
    '; pass --state-machine-arn',
  );
}

export type MigrateOutcome = ExecutionOutcome;

/** Starts (or attaches to) the execution and follows it until it ends or the follow timeout passes. */
export async function runMigrate(options: MigrateOptions, io: MigrateIo): Promise<MigrateOutcome> {
  const provisioning = options.provisionGreen !== undefined;
  const input = provisioning ? provisioningInput(options) : workflowInput(options);
  const stateMachineArn = await findStateMachine(options, io);
  const name =
    options.executionName ??
    (provisioning ? derivedExecutionName('provision', input, io.now()) : executionName(input, io.now()));
  const what = provisioning ? 'Green provisioning' : options.dryRun === true ? 'Dry run' : 'Migration';
  return startAndFollow(
    io,
    { stateMachineArn, name, input, started: (arn) => `${what} ${name} started: ${arn}\n` },
    options,
  );
}

interface PlanOutput {
  status?: string;
  plan?: {
    plan?: { pending?: string[]; failed?: { name: string }[]; drift?: { name: string; reason: string }[] };
  };
  drMessage?: string;
}

/** The closing lines for a human. */
export function summarize(outcome: MigrateOutcome): string[] {
  const lines = [`Execution ${outcome.status}.`];
  const output = outcome.output as PlanOutput | undefined;
  const plan = output?.plan?.plan;
  if (plan !== undefined) {
    lines.push(
      plan.pending?.length
        ? `Pending migrations on green (${plan.pending.length}):`
        : 'No pending migrations on green.',
    );
    for (const name of plan.pending ?? []) lines.push(`  ${name}`);
    for (const failed of plan.failed ?? []) lines.push(`Failed migration blocking deploy: ${failed.name}`);
    for (const drift of plan.drift ?? [])
      lines.push(
        `Warning: ${drift.name} ${drift.reason === 'modified' ? 'was edited after it was applied' : 'is missing locally'}`,
      );
  }
  if (output?.drMessage !== undefined) lines.push(output.drMessage);
  if (outcome.error !== undefined)
    lines.push(`Failed: ${outcome.error}${outcome.cause === undefined ? '' : `: ${outcome.cause}`}`);
  return lines;
}

export function defaultMigrateIo(out: (text: string) => void, region: string | undefined): MigrateIo {
  const config = region === undefined ? {} : { region };
  return {
    out,
    sfn: new SFNClient(config),
    cloudFormation: new CloudFormationClient(config),
    now: Date.now,
    sleep,
  };
}
