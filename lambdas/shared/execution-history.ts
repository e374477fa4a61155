import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';

/** At most this many pages of 1,000 events: an execution holds at most 25,000 (Step Functions quota). */
const MAX_PAGES = 25;

/** An execution's whole history, oldest first, without inputs and outputs (they may describe databases). */
export async function readHistory(
  sfn: Pick<SFNClient, 'send'>,
  executionArn: string,
): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        maxResults: 1000,
        includeExecutionData: false,
        ...(nextToken === undefined ? {} : { nextToken }),
      }),
    );
    events.push(...(answer.events ?? []));
    nextToken = answer.nextToken;
    if (nextToken === undefined) break;
  }
  return events;
}

export type TaskOutcome = 'succeeded' | 'failed' | 'running';

/** One entry of a Task state, with how its last attempt (retries included) ended. */
export interface TaskEntry {
  readonly state: string;
  readonly enteredAt: Date;
  /** When its last attempt was scheduled: a Lambda still running ends by then plus the function timeout. */
  readonly lastScheduledAt: Date;
  readonly outcome: TaskOutcome;
}

export interface HistorySummary {
  /** Every state the execution entered, in order. */
  readonly entered: readonly string[];
  /**
   * Task states whose Lambda may still be running: last seen scheduled or started, or aborted with the
   * execution (Step Functions cannot stop a running Lambda; it runs to its end or its timeout).
   */
  readonly inFlight: readonly string[];
  /** Every entry of a Task state, in order, with its outcome. */
  readonly tasks: readonly TaskEntry[];
}

/**
 * A task's events as Step Functions records them: a Task whose Resource is a Lambda function ARN records
 * LambdaFunction* events, a service integration (and lambda:invoke) Task* events (API_HistoryEvent).
 */
const OUTCOME: Record<string, TaskOutcome> = {
  TaskScheduled: 'running',
  TaskStarted: 'running',
  TaskSubmitted: 'running',
  TaskStateAborted: 'running',
  LambdaFunctionScheduled: 'running',
  LambdaFunctionStarted: 'running',
  TaskSucceeded: 'succeeded',
  LambdaFunctionSucceeded: 'succeeded',
  TaskFailed: 'failed',
  TaskTimedOut: 'failed',
  TaskStartFailed: 'failed',
  TaskSubmitFailed: 'failed',
  LambdaFunctionFailed: 'failed',
  LambdaFunctionTimedOut: 'failed',
  LambdaFunctionStartFailed: 'failed',
  LambdaFunctionScheduleFailed: 'failed',
};
const SCHEDULED = new Set(['TaskScheduled', 'LambdaFunctionScheduled']);

/**
 * What an execution did, from its history: the states it entered (stateEnteredEventDetails.name), every Task
 * entry with its outcome, and the tasks still running when it ended. A task's events chain by previousEventId
 * from its TaskStateEntered, which keeps Parallel branches apart.
 */
export function summarizeHistory(events: readonly HistoryEvent[]): HistorySummary {
  const entered: string[] = [];
  const entryOf = new Map<number, number>();
  const tasks: { state: string; enteredAt: Date; lastScheduledAt: Date; outcome: TaskOutcome }[] = [];
  for (const event of events) {
    const name = event.stateEnteredEventDetails?.name;
    const at = event.timestamp ?? new Date(0);
    if (event.type?.endsWith('StateEntered') === true && name !== undefined) {
      entered.push(name);
      if (event.type === 'TaskStateEntered') {
        entryOf.set(event.id ?? -1, tasks.length);
        tasks.push({ state: name, enteredAt: at, lastScheduledAt: at, outcome: 'running' });
      }
      continue;
    }
    const index = entryOf.get(event.previousEventId ?? -1);
    if (index === undefined) continue;
    entryOf.set(event.id ?? -1, index);
    const task = tasks[index];
    const outcome = OUTCOME[event.type ?? ''];
    if (task === undefined || outcome === undefined) continue;
    task.outcome = outcome;
    if (SCHEDULED.has(event.type ?? '')) task.lastScheduledAt = at;
  }
  const last = new Map(tasks.map((t) => [t.state, t]));
  return {
    entered,
    inFlight: [...last.values()].filter((t) => t.outcome === 'running').map((t) => t.state),
    tasks,
  };
}
