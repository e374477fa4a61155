import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { WAY_BACK_NAME } from '../../lambdas/cutover/way-back';
import {
  blueGreenInputSchema,
  blueRetirementInputSchema,
  type BlueRetirementInput,
} from '../../lambdas/workflow-input/schema';
import { UsageError } from './database-url';
import { defaultFromConfig, FROM_CONFIG } from './config-defaults';
import {
  addFollowOptions,
  derivedExecutionName,
  startAndFollow,
  type ExecutionOutcome,
} from './follow-execution';
import type { MigrateIo } from './migrate-command';
import { executionArn, regionName, stackName } from './option-values';
import { stackOutput } from './stack-output';

export interface WayBackOptions {
  retirement?: string;
  smokeTestUrl?: string;
  stack: string;
  region?: string;
  pollInterval: number;
  timeout: number;
  json?: boolean;
}

/** The open way back: the blue retirement that waits out its window, and what it was started with. */
interface OpenWayBack {
  readonly executionArn: string;
  readonly name: string;
  readonly status: string;
  readonly input: BlueRetirementInput;
}

/**
 * The retirement to act on: the one named, or the only one waiting. None waiting: no way back is open (its
 * window closed, or no cutover set one up); several: the operator names one.
 */
async function openWayBack(
  sfn: Pick<SFNClient, 'send'>,
  retirementMachine: string,
  named: string | undefined,
): Promise<OpenWayBack> {
  let arn = named;
  if (arn === undefined) {
    const { executions = [] } = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: retirementMachine,
        statusFilter: 'RUNNING',
        maxResults: 10,
      }),
    );
    if (executions.length === 0)
      throw new UsageError(
        'no way back is open: no blue retirement is waiting (its window closed, or the last cutover had no --way-back)',
      );
    if (executions.length > 1)
      throw new UsageError(
        `several blue retirements are waiting (${executions.map((e) => e.name ?? '?').join(', ')}): name one with --retirement <execution ARN>`,
      );
    arn = executions[0]?.executionArn ?? '';
  }
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
  let raw: unknown;
  try {
    raw = JSON.parse(described.input ?? '');
  } catch {
    raw = undefined;
  }
  const parsed = blueRetirementInputSchema.safeParse(raw);
  if (!parsed.success)
    throw new UsageError(
      `the blue retirement ${described.name ?? arn} has an input this command cannot read (${parsed.error.issues
        .map((i) => i.path.join('.'))
        .join(', ')})`,
    );
  return {
    executionArn: arn,
    name: described.name ?? arn,
    status: described.status ?? 'UNKNOWN',
    input: parsed.data,
  };
}

/** The state an execution is in now: the last one it entered (its history, newest first). */
async function stateNow(sfn: Pick<SFNClient, 'send'>, executionArn: string): Promise<string | undefined> {
  const { events = [] } = await sfn.send(
    new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 50 }),
  );
  return events.find((e) => e.stateEnteredEventDetails?.name !== undefined)?.stateEnteredEventDetails?.name;
}

/**
 * A running retirement must still be waiting out its window: past it, the way back is ending (or ended) and
 * blue is being retired; stopping it then would leave that half done.
 */
async function refusePastWindow(
  sfn: Pick<SFNClient, 'send'>,
  open: OpenWayBack,
  what: string,
): Promise<void> {
  if (open.status !== 'RUNNING') return;
  const state = await stateNow(sfn, open.executionArn);
  if (state !== 'WaitForWindow')
    throw new UsageError(
      `the blue retirement ${open.name} is past its window (in ${state ?? 'an unknown state'}): the way back is ` +
        `ending and ${open.input.instanceIdentifier} is being retired, so ${what}; follow that execution instead`,
    );
}

/** `<base>-<kind>-20261201t1130`: at most 80 characters, a new name each minute. */
function restartName(base: string, kind: string, nowMs: number): string {
  const minute = new Date(nowMs).toISOString().slice(0, 16).replace(/[-:]/g, '').toLowerCase();
  return `${base.slice(0, 80 - kind.length - minute.length - 2)}-${kind}-${minute}`;
}

/** Stops the waiting retirement, so its window cannot close under what this command does next. */
async function stopWaiting(io: MigrateIo, open: OpenWayBack, why: string): Promise<void> {
  if (open.status !== 'RUNNING') return;
  await io.sfn.send(new StopExecutionCommand({ executionArn: open.executionArn, cause: why }));
  io.out(`Blue retirement ${open.name} stopped (${why}).\n`);
}

/** The rollback's migration input: a cutover back to the database the retirement would have retired. */
export function rollbackInput(
  open: BlueRetirementInput,
  smokeTestUrl: string | undefined,
): Record<string, unknown> {
  const input = {
    dryRun: false,
    rollback: true,
    blue: open.writer,
    green: open.retiring,
    blueEndpoint: open.writerEndpoint,
    greenEndpoint: open.retiringEndpoint,
    blueInstanceIdentifier: open.writerInstanceIdentifier,
    greenInstanceIdentifier: open.instanceIdentifier,
    dns: open.dns,
    subscription: open.wayBack.subscription ?? WAY_BACK_NAME,
    catchUpTimeoutMs: open.catchUpTimeoutMs,
    wayBack: open.wayBack,
    ...(smokeTestUrl === undefined ? {} : { smokeTestUrl }),
  };
  const checked = blueGreenInputSchema.safeParse(input);
  if (!checked.success)
    throw new UsageError(
      `the rollback's input is invalid: ${checked.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  return input;
}

async function machines(options: WayBackOptions, io: MigrateIo) {
  const remedy = '; deploy the app first';
  return {
    retirement: await stackOutput(io.cloudFormation, options.stack, 'BlueRetirementStateMachineArn', remedy),
    migration: await stackOutput(io.cloudFormation, options.stack, 'BlueGreenStateMachineArn', remedy),
  };
}

/**
 * `dr migrate rollback`: within the window, a zero-loss cutover back to the previous writer, which follows the
 * current one by the way back. The waiting retirement is stopped first (its window must not close during the
 * rollback); the rollback schedules the retirement of the database it leaves.
 */
export async function runRollback(options: WayBackOptions, io: MigrateIo): Promise<ExecutionOutcome> {
  const arns = await machines(options, io);
  const open = await openWayBack(io.sfn, arns.retirement, options.retirement);
  const input = rollbackInput(open.input, options.smokeTestUrl);
  await refusePastWindow(io.sfn, open, 'a rollback is no longer possible');
  await stopWaiting(io, open, 'dr migrate rollback');
  const name = derivedExecutionName('rollback', input, io.now());
  const outcome = await startAndFollow(
    io,
    {
      stateMachineArn: arns.migration,
      name,
      input,
      started: (arn) =>
        `Rollback ${name} started: ${arn}\n(back to ${open.input.instanceIdentifier}; if it fails, the retirement is ` +
        'started again: the way back stays open for another window)\n',
    },
    options,
  );
  if (['FAILED', 'ABORTED', 'TIMED_OUT'].includes(outcome.status)) {
    // Not rolled back: the way back is still open, and the window that closes it must be again.
    const restarted = await io.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: arns.retirement,
        name: restartName(open.name, 'kept', io.now()),
        input: JSON.stringify(open.input),
      }),
    );
    io.out(
      `The rollback did not complete: blue retirement started again (${restarted.executionArn ?? '?'}); ` +
        `${open.input.instanceIdentifier} keeps following ${open.input.writerInstanceIdentifier} for another window.\n`,
    );
  }
  return outcome;
}

/**
 * `dr migrate finish`: ends the window now. The waiting retirement is stopped and started again without a
 * window (same input, `now`): the way back ends and blue is retired as configured.
 */
export async function runFinish(options: WayBackOptions, io: MigrateIo): Promise<ExecutionOutcome> {
  const arns = await machines(options, io);
  const open = await openWayBack(io.sfn, arns.retirement, options.retirement);
  await refusePastWindow(io.sfn, open, 'it is finishing already');
  await stopWaiting(io, open, 'dr migrate finish');
  const input = { ...open.input, now: true };
  const name = restartName(open.name, 'finish', io.now());
  return startAndFollow(
    io,
    {
      stateMachineArn: arns.retirement,
      name,
      input,
      started: (arn) => `Blue retirement ${name} started now: ${arn}\n`,
    },
    options,
  );
}

/** Adds `dr migrate rollback` and `dr migrate finish` under `dr migrate`. */
export function addWayBackCommands(
  migrate: Command,
  actions: {
    readonly rollback: (options: WayBackOptions) => Promise<void>;
    readonly finish: (options: WayBackOptions) => Promise<void>;
  },
): void {
  const common = (command: Command) => {
    addFollowOptions(command)
      .option(
        '--retirement <arn>',
        'the blue retirement (execution ARN) whose way back to use (default: the only one waiting)',
        executionArn('--retirement'),
      )
      .option(
        '--stack <name>',
        'orchestration stack whose outputs name the workflows (default: from the config, else this)',
        stackName(),
        'pg-dr-orchestration',
      )
      .option('--region <region>', "orchestration region (default: the config's)", regionName())
      .option('--json', 'print one machine-readable JSON result at the end');
    defaultFromConfig(command, 'stack', FROM_CONFIG.orchestrationStack);
    defaultFromConfig(command, 'region', FROM_CONFIG.orchestrationRegion);
    return command;
  };
  common(
    migrate
      .command('rollback')
      .description(
        'Within the way back’s window: cut back over to the previous writer without losing a write (it follows the ' +
          'current one); the waiting blue retirement is stopped first. Follows the execution; exits 1 if it fails.',
      )
      .option('--smoke-test-url <url>', 'application health URL checked before and after the flip'),
  ).action(actions.rollback);
  common(
    migrate
      .command('finish')
      .description(
        'End the way back’s window now: the waiting blue retirement is stopped and started again without a window ' +
          '(the way back ends, blue is deleted or stopped as configured). Follows it; exits 1 if it fails.',
      ),
  ).action(actions.finish);
}
