import type { Route53Client } from '@aws-sdk/client-route-53';
import { ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { setHealthCheckInverted } from '../drill/health-check';
import { readHistory, summarizeHistory } from '../shared/execution-history';
import { sleep as defaultSleep } from '../shared/sleep';

/** States a drill reaches only once its health check is restored (after RestoreHealthCheck, RestoreAfterFailure). */
const RESTORED = ['ObserveFailback', 'ReportFailure'];

export type DrillNetOutcome =
  /** The execution never inverted the check, restored it itself, or it was restored already: nothing to undo. */
  | 'nothing to undo'
  /** Another drill runs now and owns the check: restoring would undo its inversion mid-failover. */
  | 'left to the running drill'
  | 'restored';

export interface DrillNetResult {
  readonly outcome: DrillNetOutcome;
  readonly healthCheckId: string;
  /** The invert step was still running when the execution ended: restored again once it must have finished. */
  readonly restoredAgainAfterInFlightInvert: boolean;
  readonly runningDrills: readonly string[];
}

export interface DrillNetDependencies {
  readonly sfn: Pick<SFNClient, 'send'>;
  readonly route53: Pick<Route53Client, 'send'>;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * The drill's safety net, for an execution that ended FAILED, TIMED_OUT or ABORTED: restores the health check
 * only if that execution inverted it and did not restore it itself, and only while no other drill runs (a drill
 * refused because one is running must not cancel that one's inversion). When the invert step was still running
 * at the end (a Lambda runs on after its execution stops), restores again after the step's timeout.
 */
export async function restoreAfterAbnormalEnd(
  deps: DrillNetDependencies,
  input: {
    readonly executionArn: string;
    readonly stateMachineArn: string;
    readonly healthCheckId: string;
    /** The invert step's Lambda timeout: how long an in-flight invert can still land. */
    readonly inFlightWaitMs: number;
  },
): Promise<DrillNetResult> {
  const sleep = deps.sleep ?? defaultSleep;
  const history = summarizeHistory(await readHistory(deps.sfn, input.executionArn));
  const base = { healthCheckId: input.healthCheckId, restoredAgainAfterInFlightInvert: false };
  const inverted = history.entered.indexOf('InvertHealthCheck');
  const restored = RESTORED.some((state) => history.entered.indexOf(state) > inverted);
  if (inverted < 0 || restored) return { ...base, outcome: 'nothing to undo', runningDrills: [] };

  const { executions } = await deps.sfn.send(
    new ListExecutionsCommand({
      stateMachineArn: input.stateMachineArn,
      statusFilter: 'RUNNING',
      maxResults: 10,
    }),
  );
  const running = (executions ?? [])
    .filter((e) => e.executionArn !== input.executionArn)
    .map((e) => e.name ?? e.executionArn ?? '?');
  if (running.length > 0) return { ...base, outcome: 'left to the running drill', runningDrills: running };

  const restore = async () =>
    (await setHealthCheckInverted(deps, input.healthCheckId, false, { maxAttempts: 6, retryBaseMs: 1000 }))
      .changed;
  let changed = await restore();
  const inFlight = history.inFlight.includes('InvertHealthCheck');
  if (inFlight) {
    await sleep(input.inFlightWaitMs);
    changed = (await restore()) || changed;
  }
  // Unchanged: the check was already restored (an earlier delivery of the same event, or by hand).
  return {
    ...base,
    outcome: changed ? 'restored' : 'nothing to undo',
    restoredAgainAfterInFlightInvert: inFlight,
    runningDrills: [],
  };
}
