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

export interface HistorySummary {
  /** Every state the execution entered, in order. */
  readonly entered: readonly string[];
  /**
   * Task states whose Lambda may still be running: last seen scheduled or started, or aborted with the
   * execution (Step Functions cannot stop a running Lambda; it runs to its end or its timeout).
   */
  readonly inFlight: readonly string[];
}

const STILL_RUNNING = new Set(['TaskScheduled', 'TaskStarted', 'TaskSubmitted', 'TaskStateAborted']);

/**
 * What an execution did, from its history: the states it entered (stateEnteredEventDetails.name), and the
 * tasks still running when it ended. A task's events chain by previousEventId from its TaskStateEntered
 * (TaskScheduled, TaskStarted, then TaskSucceeded or TaskFailed), which keeps Parallel branches apart.
 */
export function summarizeHistory(events: readonly HistoryEvent[]): HistorySummary {
  const entered: string[] = [];
  const stateOf = new Map<number, string>();
  const last = new Map<string, string>();
  for (const event of events) {
    const name = event.stateEnteredEventDetails?.name;
    if (event.type?.endsWith('StateEntered') === true && name !== undefined) {
      entered.push(name);
      if (event.type === 'TaskStateEntered') {
        stateOf.set(event.id ?? -1, name);
        last.set(name, event.type);
      }
      continue;
    }
    const state = stateOf.get(event.previousEventId ?? -1);
    if (state !== undefined) {
      stateOf.set(event.id ?? -1, state);
      last.set(state, event.type ?? '');
    }
  }
  return {
    entered,
    inFlight: [...last].filter(([, type]) => STILL_RUNNING.has(type)).map(([state]) => state),
  };
}
