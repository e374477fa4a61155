import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { createHash } from 'node:crypto';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Option, type Command } from 'commander';
import { redact } from '../../lambdas/shared/redact';
import { wholeNumber } from './option-values';

/** The options of a command that follows its execution: `--poll-interval` and `--timeout`. */
export function addFollowOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--poll-interval <ms>', 'how often to read the execution history')
        .argParser(wholeNumber('--poll-interval', 60_000, 'ms'))
        .default(2_000),
    )
    .addOption(
      new Option('--timeout <ms>', 'stop following after this long (the execution goes on)')
        .argParser(wholeNumber('--timeout', 86_400_000, 'ms'))
        .default(7_200_000),
    );
}

/** What following an execution needs: injectable for tests. */
export interface FollowIo {
  readonly out: (text: string) => void;
  readonly sfn: Pick<SFNClient, 'send'>;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface ExecutionOutcome {
  readonly exitCode: number;
  readonly executionArn: string;
  readonly status: string;
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
}

export function describeEvent(event: HistoryEvent): string | undefined {
  switch (event.type) {
    case 'TaskStateEntered':
    case 'ParallelStateEntered':
    case 'ChoiceStateEntered':
    case 'PassStateEntered':
    case 'FailStateEntered':
    case 'SucceedStateEntered':
      return `→ ${event.stateEnteredEventDetails?.name ?? '?'}`;
    case 'TaskFailed':
      return `  ✗ ${event.taskFailedEventDetails?.error ?? 'failed'}: ${redact(event.taskFailedEventDetails?.cause ?? '')}`;
    case 'LambdaFunctionFailed':
      return `  ✗ ${event.lambdaFunctionFailedEventDetails?.error ?? 'failed'}: ${redact(event.lambdaFunctionFailedEventDetails?.cause ?? '')}`;
    default:
      return undefined;
  }
}

/**
 * Prints each state as the execution enters it, and each failure, until it ends or `timeout` ms pass (the
 * execution goes on in Step Functions). Exit code 0 only for SUCCEEDED.
 */
export async function followExecution(
  io: FollowIo,
  executionArn: string,
  started: number,
  options: { readonly pollInterval: number; readonly timeout: number },
): Promise<ExecutionOutcome> {
  let nextToken: string | undefined;
  for (;;) {
    // Read every new history event (paginated), then the status.
    do {
      const page = await io.sfn.send(
        new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 100 }),
      );
      for (const event of page.events ?? []) {
        const line = describeEvent(event);
        if (line !== undefined)
          io.out(`[${((io.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
      }
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    const execution = await io.sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') {
      const output: unknown = execution.output === undefined ? undefined : JSON.parse(execution.output);
      const succeeded = execution.status === 'SUCCEEDED';
      return {
        exitCode: succeeded ? 0 : 1,
        executionArn,
        status: execution.status ?? 'UNKNOWN',
        ...(output === undefined ? {} : { output }),
        ...(execution.error === undefined ? {} : { error: execution.error }),
        ...(execution.cause === undefined ? {} : { cause: redact(execution.cause) }),
      };
    }
    if (io.now() - started >= options.timeout) {
      return {
        exitCode: 1,
        executionArn,
        status: 'RUNNING',
        error: 'FollowTimeout',
        cause: `still running after ${options.timeout} ms; it goes on in Step Functions`,
      };
    }
    await io.sleep(options.pollInterval);
  }
}

/**
 * A default execution name: the kind, the minute and a digest of the input. The same command within the same
 * minute gets the same name, so Step Functions attaches it to the first instead of starting a second run;
 * another input (a retry with --force) gets another name.
 */
export function derivedExecutionName(kind: string, input: Record<string, unknown>, nowMs: number): string {
  const digest = createHash('sha256').update(JSON.stringify(input)).digest('hex').slice(0, 12);
  const minute = new Date(nowMs).toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
  return `${kind}-${minute}-${digest}`;
}

/**
 * Starts the execution, or follows the one of that name when the same command started it already
 * (ExecutionAlreadyExists), and follows it to its end. `started` names what started, for the first line.
 */
export async function startAndFollow(
  io: FollowIo,
  request: {
    readonly stateMachineArn: string;
    readonly name: string;
    readonly input: Record<string, unknown>;
    readonly started: (executionArn: string) => string;
  },
  options: { readonly pollInterval: number; readonly timeout: number },
): Promise<ExecutionOutcome> {
  const startedAt = io.now();
  let executionArn: string | undefined;
  try {
    ({ executionArn } = await io.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: request.stateMachineArn,
        name: request.name,
        input: JSON.stringify(request.input),
      }),
    ));
    io.out(request.started(executionArn ?? '?'));
  } catch (error) {
    if ((error as { name?: string }).name !== 'ExecutionAlreadyExists') throw error;
    // The same command ran already (same input, same minute, or an explicit name): follow that execution. One
    // that has ended is not run again (StartExecution refuses a closed execution's name whatever the input).
    executionArn = `${request.stateMachineArn.replace(':stateMachine:', ':execution:')}:${request.name}`;
    const existing = await io.sfn.send(new DescribeExecutionCommand({ executionArn }));
    io.out(
      existing.status === 'RUNNING' || existing.status === undefined
        ? `Execution ${request.name} already exists: following it (${executionArn})\n`
        : `Execution ${request.name} already ran (${existing.status}${existing.stopDate === undefined ? '' : `, ended ${existing.stopDate.toISOString()}`}): this is its outcome, not a new run; the same command in a later minute, or another execution name, starts one (${executionArn})\n`,
    );
  }
  if (executionArn === undefined) throw new Error('Step Functions returned no execution ARN');
  return followExecution(io, executionArn, startedAt, options);
}
