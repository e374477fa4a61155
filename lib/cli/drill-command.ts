import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeRuleCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
} from '@aws-sdk/client-eventbridge';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { Option, type Command } from 'commander';
import { setHealthCheckInverted } from '../../lambdas/drill/health-check';
import { drillInputSchema, type DrillInput } from '../../lambdas/drill/input';
import type { DrillFigures, DrillReport } from '../../lambdas/drill/report';
import { sleep } from '../../lambdas/shared/sleep';
import {
  readTopology,
  TopologyError,
  type Topology,
  type TopologyMember,
} from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { UsageError } from './database-url';
import { defaultFromConfig, FROM_CONFIG } from './config-defaults';
import { stackOutput } from './stack-output';
import { followExecution, type ExecutionOutcome, type FollowIo } from './follow-execution';
import {
  executionName,
  regionName,
  ruleName,
  stackName,
  resourcePrefix,
  stateMachineArn,
  wholeNumber,
} from './option-values';

export interface DrillIo extends FollowIo {
  readonly cloudFormation: Pick<CloudFormationClient, 'send'>;
  readonly events: Pick<EventBridgeClient, 'send'>;
  readonly route53: Pick<Route53Client, 'send'>;
  /** Parameter Store where the topology lives (the failover DNS stack's region, us-east-1). */
  readonly ssm: Pick<SSMClient, 'send'>;
}

interface Common {
  stack: string;
  scheduleRule: string;
  stateMachineArn?: string;
  region?: string;
  json?: boolean;
}

export interface DrillRunOptions extends Common {
  executionName?: string;
  /** Go ahead without asking, even when the drill moves production DNS (for scripts). */
  yes?: boolean;
  pollInterval: number;
  timeout: number;
}

export interface StatusOptions extends Common {
  limit: number;
  resourcePrefix: string;
}

const withCommon = (command: Command) => {
  command
    .option(
      '--stack <name>',
      'orchestration stack whose output names the drill (default: from the config, else this)',
      stackName(),
      'pg-dr-orchestration',
    )
    .option(
      '--schedule-rule <name>',
      'EventBridge rule whose input the drill uses (default: from the config, else this)',
      ruleName(),
      'pg-dr-weekly-failover-drill',
    )
    .option(
      '--state-machine-arn <arn>',
      'the drill state machine (default: output of --stack)',
      stateMachineArn(),
    )
    .option(
      '--region <region>',
      "orchestration region (default: the config's, unless --stack is given; else AWS_REGION or the profile's)",
      regionName(),
    )
    .option('--json', 'print one machine-readable JSON result');
  defaultFromConfig(command, 'stack', FROM_CONFIG.orchestrationStack);
  defaultFromConfig(command, 'scheduleRule', FROM_CONFIG.drillSchedule);
  return defaultFromConfig(command, 'region', FROM_CONFIG.orchestrationRegion);
};

export interface DrillActions {
  readonly run: (options: DrillRunOptions) => Promise<void>;
  readonly restore: (options: Common) => Promise<void>;
  readonly status: (options: StatusOptions) => Promise<void>;
}

/** Adds `dr drill`, `dr drill restore` and `dr status`. */
export function addDrillCommands(program: Command, actions: DrillActions): void {
  const drill = withCommon(
    program
      .command('drill')
      // Options after `restore` are restore's own (see buildProgram).
      .enablePositionalOptions()
      .description(
        'Run the failover drill now, with the same input as the weekly schedule, and follow it step by step. ' +
          'Unless a separate drill record is configured, production DNS fails over to the read replica for ' +
          'about a minute: writes fail meanwhile.',
      ),
  )
    .option('--execution-name <name>', 'execution name (default: manual-<UTC minute>)', executionName())
    .option(
      '--yes',
      'go ahead without asking when the drill would move production DNS (drill.record "production")',
    )
    .addOption(
      new Option('--poll-interval <ms>', 'how often to read the execution history')
        .argParser(wholeNumber('--poll-interval', 60_000, 'ms'))
        .default(2_000),
    )
    .addOption(
      new Option('--timeout <ms>', 'stop following after this long (the drill goes on)')
        .argParser(wholeNumber('--timeout', 86_400_000, 'ms'))
        .default(3_600_000),
    )
    .action(actions.run);
  withCommon(
    drill
      .command('restore')
      .description(
        "Set the drill's health check back to not inverted (what every drill failure path does first). " +
          'For when a drill could not restore it: Route 53 then answers from real health again.',
      ),
  ).action(actions.restore);
  withCommon(
    program
      .command('status')
      .description(
        'The topology (which database is the writer, which its replica), then the last drills with their ' +
          'figures against the budgets, and whether the schedule is on.',
      ),
  )
    .option(
      '--resource-prefix <prefix>',
      "the app's dr.resourcePrefix: names the topology's parameters (default: from the config, else this)",
      resourcePrefix(),
      'pg-dr',
    )
    .addOption(
      new Option('--limit <n>', 'how many drills to show')
        .argParser(wholeNumber('--limit', 1000))
        .default(10),
    )
    .action(actions.status);
  const status = program.commands.find((c) => c.name() === 'status');
  if (status !== undefined) defaultFromConfig(status, 'resourcePrefix', FROM_CONFIG.resourcePrefix);
}

async function drillStateMachine(options: Common, io: DrillIo): Promise<string> {
  if (options.stateMachineArn !== undefined) return options.stateMachineArn;
  return stackOutput(
    io.cloudFormation,
    options.stack,
    'FailoverDrillStateMachineArn',
    '; pass --state-machine-arn',
  );
}

/** The input the schedule sends: one source of truth for scheduled and manual drills. */
async function scheduleInput(options: Common, io: DrillIo): Promise<DrillInput> {
  const { Targets } = await io.events.send(new ListTargetsByRuleCommand({ Rule: options.scheduleRule }));
  const text = Targets?.[0]?.Input;
  if (text === undefined) throw new UsageError(`rule ${options.scheduleRule} has no target input`);
  const parsed = drillInputSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new UsageError(
      `rule ${options.scheduleRule} holds an invalid drill input: ${parsed.error.message}`,
    );
  return parsed.data;
}

/**
 * A drill of production's record sends its clients to the read-only replica for a minute or two: a person types
 * the record's name to go ahead (`--yes` for scripts); with no terminal to ask, nothing starts.
 */
async function confirmProductionDrill(
  input: DrillInput,
  options: DrillRunOptions,
  ask: ((question: string) => Promise<string>) | undefined,
): Promise<void> {
  if (!input.dns.production || options.yes === true) return;
  const record = input.dns.recordName;
  if (ask === undefined)
    throw new UsageError(
      `this drill fails production DNS (${record}) over to the read-only replica: pass --yes to run it from a script`,
    );
  const answer = await ask(
    `This drill fails production DNS (${record}) over to the read-only replica: writes through it fail for a ` +
      `minute or two. Type ${record} to go ahead: `,
  );
  if (answer.trim().replace(/\.$/, '').toLowerCase() !== record.replace(/\.$/, '').toLowerCase())
    throw new UsageError(`not confirmed: the drill of ${record} was not started`);
}

export async function runDrill(
  options: DrillRunOptions,
  io: DrillIo,
  ask?: (question: string) => Promise<string>,
): Promise<ExecutionOutcome> {
  const [stateMachineArn, input] = await Promise.all([
    drillStateMachine(options, io),
    scheduleInput(options, io),
  ]);
  await confirmProductionDrill(input, options, ask);
  const started = io.now();
  const name =
    options.executionName ??
    `manual-${new Date(started).toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-')}`;
  let executionArn: string | undefined;
  try {
    ({ executionArn } = await io.sfn.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
    ));
    io.out(`Drill ${name} started: ${executionArn ?? '?'}\n`);
  } catch (error) {
    if ((error as { name?: string }).name !== 'ExecutionAlreadyExists') throw error;
    executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    io.out(`Drill ${name} already exists: following it (${executionArn})\n`);
  }
  if (executionArn === undefined) throw new Error('Step Functions returned no execution ARN');
  return followExecution(io, executionArn, started, options);
}

export async function restoreDrillHealthCheck(
  options: Common,
  io: DrillIo,
): Promise<{ healthCheckId: string; changed: boolean }> {
  const input = await scheduleInput(options, io);
  const result = await setHealthCheckInverted({ route53: io.route53 }, input.healthChecks.invert, false, {
    maxAttempts: 5,
    retryBaseMs: 500,
  });
  return { healthCheckId: result.healthCheckId, changed: result.changed };
}

export interface DrillStatusRow {
  readonly name: string;
  readonly startedAt: string;
  readonly status: string;
  readonly outcome: string;
  readonly figures?: DrillFigures;
  readonly overBudget: readonly string[];
  readonly reason?: string;
}

export interface DrillStatus {
  /** Null when no topology exists yet (the failover DNS stack is not deployed). */
  readonly topology: Topology | null;
  readonly scheduleEnabled: boolean;
  readonly schedule: string;
  readonly budgets: DrillInput['budgets'];
  readonly drills: readonly DrillStatusRow[];
}

export async function drillStatus(options: StatusOptions, io: DrillIo): Promise<DrillStatus> {
  const [stateMachineArn, input, rule, topology] = await Promise.all([
    drillStateMachine(options, io),
    scheduleInput(options, io),
    io.events.send(new DescribeRuleCommand({ Name: options.scheduleRule })),
    readTopology(io.ssm, topologyParameterNames(options.resourcePrefix)).catch((e: unknown) => {
      if (e instanceof TopologyError && e.name === 'TopologyMissing') return null;
      throw e;
    }),
  ]);
  const { executions } = await io.sfn.send(
    new ListExecutionsCommand({ stateMachineArn, maxResults: options.limit }),
  );
  const drills: DrillStatusRow[] = [];
  for (const e of executions ?? []) {
    const d = await io.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
    const report =
      d.output === undefined ? undefined : (JSON.parse(d.output) as { report?: DrillReport }).report;
    drills.push({
      name: e.name ?? '?',
      startedAt: e.startDate?.toISOString() ?? '?',
      status: e.status ?? '?',
      outcome:
        report?.outcome ??
        (e.status === 'RUNNING' ? 'running' : d.error === 'DrillOverBudget' ? 'over-budget' : 'failed'),
      ...(report === undefined ? {} : { figures: report.figures }),
      overBudget: report?.overBudget ?? [],
      ...(d.error === undefined ? {} : { reason: `${d.error}: ${d.cause ?? ''}` }),
    });
  }
  return {
    topology,
    scheduleEnabled: rule.State === 'ENABLED',
    schedule: rule.ScheduleExpression ?? '?',
    budgets: input.budgets,
    drills,
  };
}

const cell = (value: number | null | undefined, budget?: number) =>
  value == null ? '-' : `${value}${budget !== undefined && value > budget ? '!' : ''}`;

const member = (m: TopologyMember) => `${m.instanceIdentifier} in ${m.region} (${m.endpoint})`;

/** The topology for humans: who writes, who replicates it, who is retired, and what changed it last. */
export function describeTopology(topology: Topology | null): string[] {
  if (topology === null)
    return ['Topology: none yet (the failover DNS stack writes it when first deployed).'];
  return [
    `Topology (generation ${topology.generation}, ${topology.changedBy}${topology.changedAt === undefined ? '' : ` at ${topology.changedAt}`}):`,
    `  writer   ${member(topology.writer)}`,
    `  replica  ${topology.replica === null ? 'none: DR is degraded (no cross-region replica of the writer)' : member(topology.replica)}`,
    ...topology.retired.map((m) => `  retired  ${member(m)} (fenced: never to take writes again)`),
  ];
}

/** A table for humans: the topology, then one line per drill, `!` marking a figure over its budget. */
export function describeStatus(status: DrillStatus): string[] {
  const b = status.budgets;
  const lines = [
    ...describeTopology(status.topology),
    `Schedule ${status.schedule} (UTC): ${status.scheduleEnabled ? 'on' : 'OFF'}. Budgets: disruption ${b.serviceDisruptionSeconds} s, DNS failover ${b.dnsFailoverSeconds} s, S3 replication ${b.s3ReplicationSeconds} s.`,
    'started (UTC)      outcome      disrupt  dns-fo  dns-fb  writes  s3     db',
  ];
  for (const d of status.drills) {
    const f = d.figures;
    lines.push(
      [
        d.startedAt.slice(0, 16).replace('T', ' ').padEnd(18),
        d.outcome.padEnd(12),
        cell(f?.serviceDisruptionSeconds, b.serviceDisruptionSeconds).padEnd(8),
        cell(f?.dnsFailoverSeconds, b.dnsFailoverSeconds).padEnd(7),
        cell(f?.dnsFailbackSeconds).padEnd(7),
        cell(f?.writeOutageSeconds).padEnd(7),
        cell(f?.s3ReplicationSeconds, b.s3ReplicationSeconds).padEnd(6),
        cell(f?.databaseReplicationSeconds),
      ].join(' '),
    );
    if (d.reason !== undefined && d.outcome !== 'succeeded') lines.push(`  ${d.reason}`);
  }
  if (status.drills.length === 0) lines.push('No drills yet.');
  return lines;
}

export function defaultDrillIo(out: (text: string) => void, region: string | undefined): DrillIo {
  const config = region === undefined ? {} : { region };
  return {
    out,
    sfn: new SFNClient(config),
    cloudFormation: new CloudFormationClient(config),
    events: new EventBridgeClient(config),
    // Route 53's API lives in us-east-1, and so does the topology (beside the failover records).
    route53: new Route53Client({ region: 'us-east-1' }),
    ssm: new SSMClient({ region: 'us-east-1' }),
    now: Date.now,
    sleep,
  };
}
