/**
 * `dr reprotect` gives the topology's writer a cross-region replica again, after a failover or a switchover:
 * it starts the DR rebuild (statemachines/dr-rebuild.asl.json) for the writer the topology names, and follows
 * it. The rebuild builds the replica in the other region than the writer's, records it, then points SECONDARY
 * where the topology says (recordTargets); RDS may take hours for a large database.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Command } from 'commander';
import { rdsInstanceIdentifier } from '../../lambdas/shared/schemas';
import { readTopology, type Topology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { UsageError } from './database-url';
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import {
  addFollowOptions,
  derivedExecutionName,
  followExecution,
  startAndFollow,
  type ExecutionOutcome,
  type FollowIo,
} from './follow-execution';
import { executionName as executionNameOption, regionName, resourcePrefix, stackName } from './option-values';
import { defaultFromConfig, FROM_CONFIG } from './config-defaults';
import { stackOutput } from './stack-output';
import { ROUTE53_METRICS_REGION } from '../names';

/** The orchestration stack's outputs `dr reprotect` reads. */
export const REPROTECT_OUTPUTS = {
  stateMachine: 'DrRebuildStateMachineArn',
  dns: 'DrRebuildDnsInput',
} as const;

export interface ReprotectIo extends FollowIo {
  readonly cloudFormation: Pick<CloudFormationClient, 'send'>;
  /** Parameter Store where the topology lives (the failover DNS stack's region). */
  readonly ssm: Pick<SSMClient, 'send'>;
}

export interface ReprotectOptions {
  stack: string;
  region?: string;
  resourcePrefix: string;
  replicaId?: string;
  executionName?: string;
  pollInterval: number;
  timeout: number;
  json?: boolean;
}

export function addReprotectCommand(
  program: Command,
  action: (options: ReprotectOptions) => Promise<void>,
): void {
  addFollowOptions(
    program
      .command('reprotect')
      .description(
        'Give the writer a cross-region replica again (after a failover or a switchover; docs/runbooks.md, ' +
          'Re-protect): starts the DR rebuild for the writer the topology names. It builds the replica in the ' +
          'other region, on that region’s placement, records it, and points SECONDARY where the topology says. RDS may take hours ' +
          'for a large database: stop following at any time, it carries on; run it again to follow it.',
      ),
  )
    .option(
      '--replica-id <id>',
      'the new replica’s RDS instance identifier (default: <prefix>-replica-g<generation>)',
    )
    .option(
      '--stack <name>',
      'orchestration stack whose outputs name the DR rebuild (default: from the config, else this)',
      stackName(),
      'pg-dr-orchestration',
    )
    .option(
      '--region <region>',
      "orchestration region (default: the config's, unless --stack is given; else AWS_REGION or the profile's)",
      regionName(),
    )
    .option(
      '--resource-prefix <prefix>',
      "the app's dr.resourcePrefix: names the topology's parameters (default: from the config, else this)",
      resourcePrefix(),
      'pg-dr',
    )
    .option(
      '--execution-name <name>',
      'execution name (default: reprotect-<minute>-<digest of the input>)',
      executionNameOption(),
    )
    .option('--json', 'print one machine-readable JSON result at the end')
    .action(action);
  const command = program.commands.find((c) => c.name() === 'reprotect');
  if (command === undefined) return;
  defaultFromConfig(command, 'stack', FROM_CONFIG.orchestrationStack);
  defaultFromConfig(command, 'region', FROM_CONFIG.orchestrationRegion);
  defaultFromConfig(command, 'resourcePrefix', FROM_CONFIG.resourcePrefix);
}

/** The new replica's identifier: given, or derived from the prefix and the topology's generation. */
export function replicaIdentifier(topology: Topology, options: ReprotectOptions): string {
  const chosen = options.replicaId ?? `${options.resourcePrefix}-replica-g${topology.generation}`;
  const parsed = rdsInstanceIdentifier.safeParse(chosen);
  if (!parsed.success)
    throw new UsageError(
      `${options.replicaId === undefined ? 'the derived replica identifier' : '--replica-id'} ${chosen} is not an RDS instance identifier (1-63 letters, digits and single hyphens, starting with a letter): pass --replica-id`,
    );
  const taken = [topology.writer, ...topology.retired].find((m) => m.instanceIdentifier === chosen);
  if (taken !== undefined)
    throw new UsageError(
      `${chosen} already names a database of the topology (in ${taken.region}): pass another --replica-id`,
    );
  return chosen;
}

/** What `dr reprotect` would do, or refuses to: read before anything starts. */
export async function planReprotect(
  options: ReprotectOptions,
  io: ReprotectIo,
): Promise<{ topology: Topology; replica: string }> {
  const topology = await readTopology(io.ssm, topologyParameterNames(options.resourcePrefix));
  if (topology.replica !== null && topology.replica.instanceIdentifier !== options.replicaId)
    // A refusal of the current state, not of the command line: exit 1.
    throw new Error(
      `the writer ${topology.writer.instanceIdentifier} already has a replica, ${topology.replica.instanceIdentifier} in ${topology.replica.region} (dr status): nothing to re-protect`,
    );
  return { topology, replica: topology.replica?.instanceIdentifier ?? replicaIdentifier(topology, options) };
}

/** A DR rebuild running now, and what it builds. */
interface RunningRebuild {
  readonly executionArn: string;
  readonly name: string;
  readonly source?: string;
  readonly replica?: string;
}

async function runningRebuilds(io: ReprotectIo, stateMachineArn: string): Promise<RunningRebuild[]> {
  const { executions } = await io.sfn.send(
    new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 10 }),
  );
  return Promise.all(
    (executions ?? []).map(async (e) => {
      const { input } = await io.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
      const parsed = JSON.parse(input ?? '{}') as {
        sourceInstanceIdentifier?: string;
        replicaInstanceIdentifier?: string;
      };
      return {
        executionArn: e.executionArn ?? '',
        name: e.name ?? '?',
        ...(parsed.sourceInstanceIdentifier === undefined ? {} : { source: parsed.sourceInstanceIdentifier }),
        ...(parsed.replicaInstanceIdentifier === undefined
          ? {}
          : { replica: parsed.replicaInstanceIdentifier }),
      };
    }),
  );
}

/**
 * Starts the re-protect and follows it; while a DR rebuild of the same writer runs (this command's, or the one
 * a migration started), follows that one instead, so a second replica is never built. One building another
 * replica is refused.
 */
export async function runReprotect(options: ReprotectOptions, io: ReprotectIo): Promise<ExecutionOutcome> {
  const { topology, replica } = await planReprotect(options, io);
  const remedy = ': deploy the app (or check --stack, --region)';
  const [stateMachineArn, dns] = await Promise.all([
    stackOutput(io.cloudFormation, options.stack, REPROTECT_OUTPUTS.stateMachine, remedy),
    stackOutput(io.cloudFormation, options.stack, REPROTECT_OUTPUTS.dns, remedy),
  ]);
  const running = await runningRebuilds(io, stateMachineArn);
  const writer = topology.writer.instanceIdentifier;
  const same = running.find(
    (r) => r.source === writer && (options.replicaId === undefined || r.replica === options.replicaId),
  );
  if (same !== undefined) {
    io.out(`DR rebuild ${same.name} already builds ${same.replica ?? '?'} for ${writer}: following it\n`);
    return followExecution(io, same.executionArn, io.now(), options);
  }
  const other = running[0];
  if (other !== undefined)
    throw new Error(
      `DR rebuild ${other.name} is running (building ${other.replica ?? '?'} for ${other.source ?? '?'}): let it end, or stop it, then run dr reprotect again`,
    );
  const input = {
    sourceInstanceIdentifier: topology.writer.instanceIdentifier,
    replicaInstanceIdentifier: replica,
    dns: JSON.parse(dns) as Record<string, unknown>,
  };
  const name = options.executionName ?? derivedExecutionName('reprotect', input, io.now());
  return startAndFollow(
    io,
    {
      stateMachineArn,
      name,
      input,
      started: (arn) =>
        `Re-protect ${name} started: ${arn}\n` +
        `It builds ${replica}, a replica of ${topology.writer.instanceIdentifier} (in ${topology.writer.region}), in the other region; RDS may take hours.\n`,
    },
    options,
  );
}

/** The closing line: how it ended, or that it goes on (RDS may take hours) and how to follow it again. */
export function summarizeReprotect(outcome: ExecutionOutcome): string {
  if (outcome.error === 'FollowTimeout')
    return `Still running (${outcome.executionArn}): RDS goes on building the replica; run dr reprotect again to follow it.`;
  const failed =
    outcome.error === undefined
      ? ''
      : ` Failed: ${outcome.error}${outcome.cause === undefined ? '' : `: ${outcome.cause}`}`;
  return `Execution ${outcome.status}.${failed}`;
}

/** The failover commands' clients, and Parameter Store where the topology lives (beside the failover records). */
export function defaultReprotectIo(base: FollowIo & Pick<ReprotectIo, 'cloudFormation'>): ReprotectIo {
  return { ...base, ssm: new SSMClient({ region: ROUTE53_METRICS_REGION }) };
}
