import { DescribeExecutionCommand, ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { readHistory, summarizeHistory, type TaskEntry } from '../shared/execution-history';
import { jsonOf } from '../shared/json-text';
import { blueGreenInputSchema } from '../workflow-input/schema';

/** Task states of the blue-green workflow that change production, by what they change. */
const FENCE = ['FenceBlueAndCatchUp'];
const FLIP = ['FlipDns'];
/** The flip an input that accepts an unsynchronized green takes: no fence, no subscription, no finish. */
const UNSYNCHRONIZED_FLIP = ['FlipDnsUnsynchronized'];
/** What follows a flip when the workflow keeps it: the final smoke test. */
const FINAL_CHECK = ['FinalSmokeTest'];
const ROLLBACK = ['RollbackDns'];
const UNFENCE = ['AbortCutover', 'AbortCutoverAfterRollback'];
const FINISH = ['FinishCutover'];
/** What records green as the writer once it serves. */
const RECORD_TOPOLOGY = ['RecordTopology'];
/** What then points SECONDARY where the topology says (green): never at the replica of a retired blue. */
const REPOINT_SECONDARY = ['RepointSecondary'];
/** Every task whose Lambda, still running after the execution ended, could change production under the net. */
const EFFECTFUL = [...FENCE, ...FLIP, ...UNSYNCHRONIZED_FLIP, ...ROLLBACK, ...UNFENCE, ...FINISH];
/** A migration that has entered one of these may be fencing or flipping: the net must not act under it. */
const CUTTING_OVER = ['PrepareCutover', ...FENCE, ...FLIP, ...UNSYNCHRONIZED_FLIP, ...FINISH];

export type MigrationNetAction =
  /** Blue never fenced, or the workflow finished the cutover or undid it itself: nothing to do. */
  | 'none'
  /** A step that changes production may still be running (a Lambda runs on after its execution ends). */
  | 'wait'
  /** Another migration runs now: touching blue or the record could break its cutover. On-call decides. */
  | 'refuse'
  /** Point the record back at blue (if it flipped) and lift blue's fence. */
  | 'roll-back'
  /** The execution ended while finishing the cutover: finish it (idempotent), so green serves as DNS says. */
  | 'roll-forward'
  /**
   * Green serves, but the execution ended before recording it in the topology, or before pointing SECONDARY
   * where the topology says: record it (idempotent), then point SECONDARY.
   */
  | 'record-topology';

/** What the safety net state machine does next, and the original input's fields its steps need. */
export interface MigrationNetPlan {
  readonly action: MigrationNetAction;
  readonly rollbackDns: boolean;
  readonly unfenceBlue: boolean;
  /** For `wait`: until every effectful step still running must have ended (its Lambda timeout). */
  readonly waitSeconds: number;
  readonly reason: string;
  readonly execution: { readonly name: string; readonly status: string };
  /** For the net's own steps: blue, green, subscription, the record. Secret references only. */
  readonly migration?: {
    readonly blue: unknown;
    readonly green: unknown;
    readonly subscription: string;
    readonly catchUpTimeoutMs: number;
    readonly blueEndpoint: string;
    readonly greenEndpoint: string;
    readonly greenInstanceIdentifier: string;
    readonly dns: {
      readonly hostedZoneId: string;
      readonly recordName: string;
      readonly setIdentifier: string;
      readonly secondarySetIdentifier: string;
    };
  };
}

export interface MigrationNetInput {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  /** The longest Lambda timeout of the effectful steps, in seconds: how long one can run on. */
  readonly stepTimeoutSeconds: number;
  /** Each state's own function timeout, where known (a short step is waited out for less). */
  readonly stateTimeouts?: Readonly<Record<string, number>>;
  readonly now: number;
}

/** Index of the last entry of one of `states` (matching `where`), or -1. */
function lastIndex(
  tasks: readonly TaskEntry[],
  states: readonly string[],
  where?: (t: TaskEntry) => boolean,
): number {
  for (let i = tasks.length - 1; i >= 0; i--) {
    const task = tasks[i];
    if (task !== undefined && states.includes(task.state) && (where?.(task) ?? true)) return i;
  }
  return -1;
}

/**
 * Decides, from the ended execution's own history, what the blue-green safety net must undo: only what that
 * execution changed and did not undo itself. Blue fenced and not unfenced since: unfence it. The record
 * flipped and not rolled back since: roll it back first. Ended while finishing the cutover (DNS names green,
 * green's fence may already be lifted): finish it rather than move writes back to blue. Waits first while a
 * step that changes production may still be running; refuses while another migration is cutting over.
 */
export async function assessMigration(
  sfn: Pick<SFNClient, 'send'>,
  input: MigrationNetInput,
): Promise<MigrationNetPlan> {
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn: input.executionArn }));
  const execution = { name: described.name ?? '?', status: described.status ?? '?' };
  const plan = (action: MigrationNetAction, reason: string, extra: Partial<MigrationNetPlan> = {}) => ({
    action,
    rollbackDns: false,
    unfenceBlue: false,
    waitSeconds: 0,
    reason,
    execution,
    ...extra,
  });
  if (described.status === 'RUNNING' || described.status === 'SUCCEEDED')
    return plan('none', `the execution is ${described.status.toLowerCase()}: nothing to undo`);

  const tasks = summarizeHistory(await readHistory(sfn, input.executionArn)).tasks;
  const fenced = lastIndex(tasks, FENCE);
  const unsynchronized = lastIndex(tasks, UNSYNCHRONIZED_FLIP);
  if (fenced < 0 && unsynchronized < 0)
    return plan('none', 'blue was never fenced and the record never flipped');
  const greenServes =
    lastIndex(tasks, FINISH, (t) => t.outcome === 'succeeded') >= 0
      ? 'the cutover finished: green serves'
      : fenced < 0 &&
          lastIndex(tasks, FINAL_CHECK, (t) => t.outcome === 'succeeded') > unsynchronized &&
          lastIndex(tasks, ROLLBACK) < unsynchronized
        ? 'the unsynchronized flip the input accepted passed its final smoke test: green serves'
        : undefined;
  if (greenServes !== undefined) {
    const recorded = lastIndex(tasks, RECORD_TOPOLOGY, (t) => t.outcome === 'succeeded');
    if (recorded >= 0 && lastIndex(tasks, REPOINT_SECONDARY, (t) => t.outcome === 'succeeded') > recorded)
      return plan('none', `${greenServes}, recorded in the topology, and SECONDARY repointed`);
    const missing =
      recorded >= 0 ? 'SECONDARY may still answer the replica of blue' : 'the topology still names blue';
    const migration = migrationOf(described.input);
    if (migration === undefined)
      return plan('refuse', `${greenServes}, but ${missing}, and the execution input could not be read back`);
    return plan('record-topology', `${greenServes}, but ${missing}`, { migration });
  }

  const still = tasks.filter((t) => t.outcome === 'running' && EFFECTFUL.includes(t.state));
  const until = Math.max(
    0,
    ...still.map(
      (t) =>
        t.lastScheduledAt.getTime() + (input.stateTimeouts?.[t.state] ?? input.stepTimeoutSeconds) * 1000,
    ),
  );
  if (until > input.now)
    return plan(
      'wait',
      `${still.map((t) => t.state).join(', ')} may still be running: waiting until its Lambda must have ended`,
      { waitSeconds: Math.ceil((until - input.now) / 1000) + 5 },
    );

  // Another migration that is cutting over owns blue's fence and the record now: the net must not act
  // under it. One still migrating or verifying (or a dry run) will itself find blue as the net leaves it.
  const { executions } = await sfn.send(
    new ListExecutionsCommand({
      stateMachineArn: input.stateMachineArn,
      statusFilter: 'RUNNING',
      maxResults: 10,
    }),
  );
  const others = (executions ?? []).filter((e) => e.executionArn !== input.executionArn);
  const cuttingOver: string[] = [];
  for (const other of others) {
    const entered = summarizeHistory(await readHistory(sfn, other.executionArn ?? '')).entered;
    if (entered.some((state) => CUTTING_OVER.includes(state))) cuttingOver.push(other.name ?? '?');
  }
  if (cuttingOver.length > 0)
    return plan(
      'refuse',
      `another migration is cutting over (${cuttingOver.join(', ')}): the safety net changes nothing under it`,
    );

  const migration = migrationOf(described.input);
  if (migration === undefined)
    return plan('refuse', 'the execution input could not be read back, so blue and the record are unknown');

  const finishing = lastIndex(tasks, FINISH);
  if (finishing >= 0 && tasks[finishing]?.outcome === 'running')
    return plan(
      'roll-forward',
      'the execution ended while finishing the cutover: the record names green and green may already take writes',
      { migration },
    );

  const flipped = Math.max(lastIndex(tasks, FLIP), unsynchronized);
  const rolledBack = lastIndex(tasks, ROLLBACK, (t) => t.outcome === 'succeeded');
  const unfenced = lastIndex(tasks, UNFENCE, (t) => t.outcome === 'succeeded');
  const rollbackDns = flipped >= 0 && rolledBack < flipped;
  const unfenceBlue = fenced >= 0 && unfenced < fenced;
  if (!rollbackDns && !unfenceBlue)
    return plan('none', 'the workflow rolled the record back and unfenced blue itself');
  return plan(
    'roll-back',
    [rollbackDns ? 'the record may still name green' : '', unfenceBlue ? 'blue may still refuse writes' : '']
      .filter((x) => x !== '')
      .join('; '),
    { rollbackDns, unfenceBlue, migration },
  );
}

/** The ended execution's input, as the net's own steps need it (secret references only), or undefined. */
function migrationOf(input: string | undefined): MigrationNetPlan['migration'] | undefined {
  const i = jsonOf(blueGreenInputSchema, input ?? '{}');
  if (i === undefined) return undefined;
  return {
    blue: i.blue,
    green: i.green,
    subscription: i.subscription,
    catchUpTimeoutMs: i.catchUpTimeoutMs,
    blueEndpoint: i.blueEndpoint,
    greenEndpoint: i.greenEndpoint,
    greenInstanceIdentifier: i.greenInstanceIdentifier ?? '',
    dns: {
      hostedZoneId: i.dns.hostedZoneId,
      recordName: i.dns.recordName,
      setIdentifier: i.dns.setIdentifier,
      secondarySetIdentifier: i.dns.secondarySetIdentifier,
    },
  };
}
