/**
 * `dr failover` starts the region failover (statemachines/region-failover.asl.json) and follows it;
 * `dr failover approve` is the person its approval waits for: it takes the approval task (an activity), shows
 * what the failover would do and lose, and answers it.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  GetActivityTaskCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { Option, type Command } from 'commander';
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
  regionName,
  stackName,
  wholeNumber,
} from './option-values';

/** The orchestration stack's outputs these commands read. */
export const FAILOVER_OUTPUTS = {
  stateMachine: 'RegionFailoverStateMachineArn',
  approval: 'FailoverApprovalActivityArn',
} as const;

export interface FailoverIo extends FollowIo {
  readonly cloudFormation: Pick<CloudFormationClient, 'send'>;
  /** Asks the person at the terminal; undefined when there is none (no TTY): nothing is approved then. */
  readonly ask?: (question: string) => Promise<string>;
  /** Who approves (recorded in the execution's history). */
  readonly user: string;
}

interface Located {
  stack: string;
  region?: string;
}

export interface FailoverOptions extends Located {
  promote?: boolean;
  force?: boolean;
  /** `dr failover --adopt <id>`: the restored instance (dr restore) to make the writer, instead of the replica. */
  adopt?: string;
  /** `dr switchover`: planned, zero loss (the writer must answer). */
  planned?: boolean;
  executionName?: string;
  pollInterval: number;
  timeout: number;
  json?: boolean;
}

export interface ApproveOptions extends Located {
  decline?: boolean;
  yes?: boolean;
  wait: number;
  json?: boolean;
}

const located = (command: Command): Command => {
  command
    .option(
      '--stack <name>',
      'orchestration stack whose outputs name the failover (default: from the config, else this)',
      stackName(),
      'pg-dr-orchestration',
    )
    .option(
      '--region <region>',
      "orchestration region (default: the config's, unless --stack is given; else AWS_REGION or the profile's)",
      regionName(),
    );
  defaultFromConfig(command, 'stack', FROM_CONFIG.orchestrationStack);
  return defaultFromConfig(command, 'region', FROM_CONFIG.orchestrationRegion);
};

/** Adds `dr failover`, `dr failover approve` and `dr switchover`. */
export function addFailoverCommands(
  program: Command,
  actions: {
    readonly start: (options: FailoverOptions) => Promise<void>;
    readonly approve: (options: ApproveOptions) => Promise<void>;
  },
): void {
  located(
    addFollowOptions(program.command('switchover')).description(
      'Planned switchover to the replica, with zero loss (the yearly DR exercise, or a failback): the writer ' +
        'must answer; it is retired, the replica replays its last write (bounded: a minute), then is promoted, ' +
        'opened, recorded and both records point at it. If the replica does not catch up, the writer is opened ' +
        'again and nothing else changes. Follows the execution step by step.',
    ),
  )
    .option(
      '--execution-name <name>',
      'execution name (default: switchover-<minute>-<digest of the input>)',
      executionNameOption(),
    )
    .option('--json', 'print one machine-readable JSON result at the end')
    .action((options: FailoverOptions) => actions.start({ ...options, planned: true }));

  const failover = located(
    addFollowOptions(program.command('failover'))
      .description(
        'Fail over to the DR region: promote the writer’s cross-region replica (docs/runbooks.md, Region ' +
          'failover). Without --promote it measures what would be lost, pages on-call and waits up to an hour ' +
          'for dr failover approve; nothing changes before that. Follows the execution step by step.',
      )
      .option('--promote', 'approve it as you start it: promote without waiting for dr failover approve')
      .addOption(
        new Option(
          '--force',
          'promote even when the replica is further behind than the configured limits (the measured loss is accepted)',
        ).conflicts('adopt'),
      )
      .addOption(
        new Option(
          '--adopt <instance>',
          'make this instance restored by dr restore the writer instead of the replica (the writer and its ' +
            'replica are both unusable: docs/runbooks.md, Restore from backup); it lacks everything written ' +
            'after its restore point, and the replica leaves the topology',
        ).argParser(rdsInstanceId('--adopt')),
      ),
  )
    .option(
      '--execution-name <name>',
      'execution name (default: failover-<minute>-<digest of the input>, so a repeated command attaches instead of starting twice)',
      executionNameOption(),
    )
    .option('--json', 'print one machine-readable JSON result at the end')
    .action(actions.start);

  located(
    failover
      .command('approve')
      .description(
        'Answer a region failover waiting for approval: shows what it would promote and the measured ' +
          'data-loss window, then asks you to type the replica’s identifier (or --yes).',
      )
      .option('--decline', 'refuse it: the failover ends and nothing changes')
      .option('--yes', 'approve without asking (scripts); the plan is still printed'),
  )
    .addOption(
      new Option('--wait <s>', 'how long to wait for a failover to ask')
        .argParser(wholeNumber('--wait', 3_600, 's'))
        .default(60),
    )
    .option('--json', 'print one machine-readable JSON result')
    .action(actions.approve);
}

const outputOf = (io: FailoverIo, options: Located, key: string): Promise<string> =>
  stackOutput(io.cloudFormation, options.stack, key, ': deploy the app (or check --stack, --region)');

/** What a started failover does next, as the person who started it needs to hear. */
function startedNote(input: {
  readonly approved: boolean;
  readonly planned: boolean;
  readonly adopt?: { readonly instanceIdentifier: string };
}): string {
  const waits = 'It pages on-call and waits for: dr failover approve (nothing changes before that).';
  if (input.adopt !== undefined)
    return (
      `Adopting ${input.adopt.instanceIdentifier}: it retires the writer, then opens the restored instance as ` +
      `the writer. ${input.approved ? 'Approved as started (--promote).' : waits}`
    );
  if (input.planned)
    return 'Planned: it retires the writer, waits for the replica to replay its last write, then promotes it.';
  return input.approved ? 'Approved as started (--promote): it promotes once its preflight passes.' : waits;
}

/** Starts (or, the same minute, attaches to) the failover and follows it. */
export async function runFailover(options: FailoverOptions, io: FailoverIo): Promise<ExecutionOutcome> {
  const stateMachineArn = await outputOf(io, options, FAILOVER_OUTPUTS.stateMachine);
  const planned = options.planned === true;
  const adopt = options.adopt;
  const input = {
    approved: planned || options.promote === true,
    force: options.force === true,
    planned,
    ...(adopt === undefined ? {} : { adopt: { instanceIdentifier: adopt } }),
  };
  const name =
    options.executionName ??
    derivedExecutionName(
      planned ? 'switchover' : adopt === undefined ? 'failover' : 'adopt',
      input,
      io.now(),
    );
  return startAndFollow(
    io,
    {
      stateMachineArn,
      name,
      input,
      started: (arn) =>
        `${planned ? 'Switchover' : 'Region failover'} ${name} started: ${arn}\n${startedNote(input)}\n`,
    },
    options,
  );
}

/** What the approval task's input holds (the Task state's Parameters). */
interface ApprovalRequest {
  readonly executionName?: string;
  readonly plan?: {
    readonly generation?: number;
    readonly adopt?: {
      readonly restoredFrom?: string;
      readonly restorePoint?: string;
      readonly formerReplica?: string | null;
    } | null;
    readonly writer?: { readonly instanceIdentifier?: string; readonly region?: string };
    readonly replica?: {
      readonly instanceIdentifier?: string;
      readonly region?: string;
      readonly endpoint?: string;
    };
  };
  readonly measured?: {
    readonly writerReachable?: boolean;
    readonly writerWritable?: boolean;
    readonly window?: { readonly summary?: string };
  };
}

export interface ApproveResult {
  readonly answer: 'approved' | 'declined' | 'not answered' | 'none waiting';
  readonly executionName?: string;
  readonly replica?: string;
  readonly window?: string;
}

/** The lines that tell the person what they approve. */
export function describeApproval(request: ApprovalRequest): string[] {
  const { plan, measured } = request;
  const adopt = plan?.adopt ?? undefined;
  const successor = `${plan?.replica?.instanceIdentifier ?? '?'} in ${plan?.replica?.region ?? '?'} (${plan?.replica?.endpoint ?? '?'})`;
  return [
    `Region failover ${request.executionName ?? '?'} asks for approval (topology generation ${plan?.generation ?? '?'}):`,
    adopt === undefined
      ? `  promote  ${successor} to the writer`
      : `  adopt    ${successor}, restored from ${adopt.restoredFrom ?? '?'} (restore point ${adopt.restorePoint ?? '?'}), as the writer`,
    `  retire   ${plan?.writer?.instanceIdentifier ?? '?'} in ${plan?.writer?.region ?? '?'}: ${
      measured?.writerReachable === true
        ? `it answers${measured.writerWritable === true ? ' and takes writes' : ''}; its sessions end and its databases refuse connections`
        : 'it does not answer (its region lost?); it is retired when it returns'
    }`,
    ...(adopt?.formerReplica === undefined || adopt.formerReplica === null
      ? []
      : [
          `  drop     ${adopt.formerReplica}, the replica, from the topology (it follows the retired writer; delete it once you no longer need to read from it)`,
        ]),
    `  data-loss window  ${measured?.window?.summary ?? 'unknown'}`,
    `  then both records of the database name answer the ${adopt === undefined ? 'promoted' : 'adopted'} writer, and the weekly drill is paused`,
    "  (the failback's re-protect resumes it).",
  ];
}

/**
 * Takes the approval task (waiting up to --wait), shows it, and answers it. The task is kept alive with
 * heartbeats while the person reads; one left unanswered (no TTY, a wrong answer) is offered again by the
 * workflow once its heartbeat lapses.
 */
export async function approveFailover(options: ApproveOptions, io: FailoverIo): Promise<ApproveResult> {
  // Taking the task without a way to answer it would hold it from everyone else until its heartbeat lapses.
  if (options.yes !== true && options.decline !== true && io.ask === undefined)
    throw new UsageError('no terminal to ask: pass --yes to approve, or --decline to refuse, when scripting');
  const activityArn = await outputOf(io, options, FAILOVER_OUTPUTS.approval);
  const deadline = io.now() + options.wait * 1000;
  let task: { taskToken?: string; input?: string } | undefined;
  // GetActivityTask holds each poll up to 60 s: at most a poll per minute of --wait, plus one.
  for (let poll = 0; poll <= Math.ceil(options.wait / 60); poll++) {
    const got = await io.sfn.send(
      new GetActivityTaskCommand({ activityArn, workerName: `dr-cli:${io.user}` }),
    );
    if (got.taskToken !== undefined && got.taskToken !== '') {
      task = got;
      break;
    }
    if (io.now() >= deadline) break;
  }
  if (task?.taskToken === undefined) return { answer: 'none waiting' };
  const taskToken = task.taskToken;
  const request = JSON.parse(task.input ?? '{}') as ApprovalRequest;
  const summary = {
    ...(request.executionName === undefined ? {} : { executionName: request.executionName }),
    ...(request.plan?.replica?.instanceIdentifier === undefined
      ? {}
      : { replica: request.plan.replica.instanceIdentifier }),
    ...(request.measured?.window?.summary === undefined ? {} : { window: request.measured.window.summary }),
  };
  if (options.json !== true) io.out(`${describeApproval(request).join('\n')}\n`);

  if (options.decline === true) {
    await io.sfn.send(
      new SendTaskFailureCommand({
        taskToken,
        error: 'Declined',
        cause: `declined by ${io.user} (dr failover approve --decline)`,
      }),
    );
    return { answer: 'declined', ...summary };
  }
  let approved = options.yes === true;
  if (!approved && io.ask !== undefined) {
    const replica = request.plan?.replica?.instanceIdentifier ?? '';
    // Heartbeats keep the task this terminal's while the person reads (the workflow allows 300 s between them).
    const heartbeat = async () => {
      try {
        await io.sfn.send(new SendTaskHeartbeatCommand({ taskToken }));
      } catch {
        // A lapsed heartbeat shows when the answer is sent (TaskTimedOut).
      }
    };
    await heartbeat();
    const beat = setInterval(() => void heartbeat(), 60_000);
    try {
      // A typo is asked again (three tries): leaving, the task stays taken until its heartbeat lapses.
      for (let attempt = 0; attempt < 3 && !approved; attempt++) {
        const typed = await io.ask(
          `Type ${replica} to ${request.plan?.adopt === undefined || request.plan.adopt === null ? 'promote' : 'adopt'} it (anything else asks again; three tries, then it keeps waiting): `,
        );
        approved = replica !== '' && typed.trim() === replica;
      }
    } finally {
      clearInterval(beat);
    }
  }
  if (!approved) return { answer: 'not answered', ...summary };
  await io.sfn.send(
    new SendTaskSuccessCommand({
      taskToken,
      output: JSON.stringify({ approvedBy: io.user, approvedAt: new Date(io.now()).toISOString() }),
    }),
  );
  return { answer: 'approved', ...summary };
}

export function describeApproveResult(result: ApproveResult): string {
  switch (result.answer) {
    case 'approved':
      return `Approved: ${result.executionName ?? 'the failover'} measures again, then promotes ${result.replica ?? 'the replica'} (follow it with dr status, or in the Step Functions console).`;
    case 'declined':
      return `Declined: ${result.executionName ?? 'the failover'} ends; nothing was changed.`;
    case 'not answered':
      return 'Not approved: the failover keeps waiting; this approval is offered again once its heartbeat lapses (5 minutes). Run dr failover approve again then, or --decline.';
    case 'none waiting':
      return 'No region failover is waiting for approval.';
  }
}

export function defaultFailoverIo(
  out: (text: string) => void,
  region: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  ask?: (question: string) => Promise<string>,
): FailoverIo {
  const config = region === undefined ? {} : { region };
  return {
    out,
    // A poll holds up to 60 s (GetActivityTask): the client must wait longer than that.
    sfn: new SFNClient({ ...config, requestHandler: { requestTimeout: 65_000 } }),
    cloudFormation: new CloudFormationClient(config),
    now: Date.now,
    sleep,
    user: env.USER ?? env.LOGNAME ?? 'unknown',
    ...(ask === undefined ? {} : { ask }),
  };
}

/** The closing lines: who writes now, when it took writes again, and what the failover measured it lost. */
export function summarizeFailover(outcome: ExecutionOutcome, startedAt: number): string[] {
  const output = outcome.output as
    | {
        writer?: { instanceIdentifier?: string; region?: string };
        adopted?: { restoredFrom?: string; formerReplica?: string | null } | null;
        rpo?: { summary?: string };
        writableAt?: string;
      }
    | undefined;
  const lines = [`Execution ${outcome.status}.`];
  if (output?.writer !== undefined) {
    const writableAt = output.writableAt === undefined ? NaN : Date.parse(output.writableAt);
    lines.push(
      `Writer: ${output.writer.instanceIdentifier ?? '?'} in ${output.writer.region ?? '?'}` +
        (Number.isNaN(writableAt)
          ? '.'
          : `, taking writes since ${output.writableAt ?? ''} (${((writableAt - startedAt) / 1000).toFixed(1)} s after this command started it).`),
      `Data loss (RPO), measured before the promotion: ${output.rpo?.summary ?? 'unknown'}`,
      ...(output.adopted?.formerReplica === undefined || output.adopted.formerReplica === null
        ? []
        : [
            `The former replica ${output.adopted.formerReplica} is no longer in the topology: delete it (turn off its deletion protection first) once nothing reads from it.`,
          ]),
      'Next: re-protect (a replica in the other region), and dr status to see the topology.',
    );
  }
  if (outcome.error !== undefined)
    lines.push(`Failed: ${outcome.error}${outcome.cause === undefined ? '' : `: ${outcome.cause}`}`);
  return lines;
}
