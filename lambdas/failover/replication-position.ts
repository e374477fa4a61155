/**
 * Where the writer and its physical replica stand, measured on the servers (never assumed), and what a
 * promotion now would lose. PostgreSQL's own positions decide: the writer's `pg_current_wal_lsn()` against the
 * replica's `pg_last_wal_replay_lsn()`; RDS's ReplicaLag (replay time behind now) grows on an idle writer, so
 * it is reported but never decides when the writer can be asked.
 */
import type { Client } from 'pg';
import { RoutableError } from '../shared/routable-error';

export class FailoverError extends RoutableError<
  | 'ReplicaTooFarBehind'
  | 'NotAReplica'
  | 'ReplayTimeout'
  | 'RetireIncomplete'
  | 'PromotionFailed'
  | 'WorkflowRunning'
  | 'NotWritable'
  | 'WriterUnreachable'
  | 'NotAdoptable'
> {}

/** A WAL position (`16/B374D848`) as a byte offset. */
export function lsnBytes(lsn: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (match === null) throw new Error(`not a WAL position: ${lsn}`);
  return (BigInt(`0x${match[1] ?? '0'}`) << 32n) + BigInt(`0x${match[2] ?? '0'}`);
}

export interface WriterPosition {
  /** True when the server answers as a primary (not in recovery). */
  readonly writable: boolean;
  readonly currentLsn: string | null;
}

export interface ReplicaPosition {
  readonly inRecovery: boolean;
  /** WAL received and replayed so far (null before any was). */
  readonly receiveLsn: string | null;
  readonly replayLsn: string | null;
  /** The commit time of the last transaction replayed, and the replica's clock when asked. */
  readonly lastReplayedCommitAt: string | null;
  readonly measuredAt: string;
}

export async function writerPosition(writer: Client): Promise<WriterPosition> {
  const { rows } = await writer.query<{ recovery: boolean; lsn: string | null }>(
    `SELECT pg_is_in_recovery() AS recovery,
            CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS lsn`,
  );
  return { writable: rows[0]?.recovery === false, currentLsn: rows[0]?.lsn ?? null };
}

export async function replicaPosition(replica: Client): Promise<ReplicaPosition> {
  const { rows } = await replica.query<{
    recovery: boolean;
    receive: string | null;
    replay: string | null;
    replayed_at: Date | null;
    now: Date;
  }>(
    `SELECT pg_is_in_recovery() AS recovery,
            pg_last_wal_receive_lsn()::text AS receive,
            pg_last_wal_replay_lsn()::text AS replay,
            pg_last_xact_replay_timestamp() AS replayed_at,
            clock_timestamp() AS now`,
  );
  const row = rows[0];
  return {
    inRecovery: row?.recovery === true,
    receiveLsn: row?.receive ?? null,
    replayLsn: row?.replay ?? null,
    lastReplayedCommitAt: row?.replayed_at?.toISOString() ?? null,
    measuredAt: (row?.now ?? new Date()).toISOString(),
  };
}

/** What promoting the replica now would lose, as far as it can be measured. */
export interface DataLossWindow {
  /**
   * `lsn` when the writer answered (exact), `replay-time` when it did not (a bound from the replica alone),
   * `already-promoted` when the replica had left recovery before this measurement (a failover resumed after
   * its promotion: the loss was decided then, and finishing adds none), `restore-point` for an adopted restored
   * instance (it lacks everything after its restore point).
   */
  readonly measuredBy: 'lsn' | 'replay-time' | 'already-promoted' | 'restore-point';
  /** WAL the writer has that the replica has not replayed (with `lsn`). */
  readonly bytesBehind: number | null;
  /** Commits after this instant may be missing on the replica (or the restored instance: its restore point). */
  readonly lastReplayedCommitAt: string | null;
  /** How long before the measurement that last replayed commit was: an upper bound when the writer is gone. */
  readonly secondsSinceLastReplay: number | null;
  readonly summary: string;
}

export function dataLossWindow(writer: WriterPosition | undefined, replica: ReplicaPosition): DataLossWindow {
  const since =
    replica.lastReplayedCommitAt === null
      ? null
      : Math.max(0, (Date.parse(replica.measuredAt) - Date.parse(replica.lastReplayedCommitAt)) / 1000);
  if (writer?.currentLsn != null && replica.replayLsn !== null) {
    const behind = lsnBytes(writer.currentLsn) - lsnBytes(replica.replayLsn);
    const bytes = Number(behind > 0n ? behind : 0n);
    return {
      measuredBy: 'lsn',
      bytesBehind: bytes,
      lastReplayedCommitAt: replica.lastReplayedCommitAt,
      secondsSinceLastReplay: since,
      summary:
        bytes === 0
          ? `the replica has replayed everything the writer has written (${writer.currentLsn})`
          : `the replica is ${bytes} bytes of WAL behind the writer (${replica.replayLsn} of ${writer.currentLsn})`,
    };
  }
  return {
    measuredBy: 'replay-time',
    bytesBehind: null,
    lastReplayedCommitAt: replica.lastReplayedCommitAt,
    secondsSinceLastReplay: since,
    summary:
      replica.lastReplayedCommitAt === null
        ? 'the writer cannot be asked and the replica has replayed no transaction: the loss cannot be bounded'
        : `the writer cannot be asked: commits after ${replica.lastReplayedCommitAt} (the last one the replica ` +
          `replayed, ${since?.toFixed(1) ?? '?'} s before it was measured) may be lost`,
  };
}

export interface FailoverLimits {
  /** Refuse when the replica is more WAL than this behind a writer that answers. */
  readonly maxBytesBehind: number;
  /** Refuse when the writer cannot be asked and the last replayed commit is older than this. */
  readonly maxSecondsSinceLastReplay: number;
}

/**
 * Refuses a promotion that would lose more than the limits allow, unless forced: the caller decides with the
 * window in hand. A server that is not a replica cannot be promoted at all.
 */
export function checkPromotable(
  replica: ReplicaPosition,
  window: DataLossWindow,
  limits: FailoverLimits,
  force: boolean,
  /**
   * Whether a lost writer's time bound applies: not once a person approved the window, since the age of the
   * last replayed commit only grows while they read (the loss it bounds does not).
   */
  options: { readonly timeBound: boolean } = { timeBound: true },
): void {
  if (!replica.inRecovery)
    throw new FailoverError(
      'NotAReplica',
      'the replica is not in recovery: it was promoted already, or is not a replica',
    );
  if (force) return;
  const over =
    window.measuredBy === 'lsn'
      ? (window.bytesBehind ?? 0) > limits.maxBytesBehind
      : options.timeBound &&
        (window.secondsSinceLastReplay === null ||
          window.secondsSinceLastReplay > limits.maxSecondsSinceLastReplay);
  if (over)
    throw new FailoverError(
      'ReplicaTooFarBehind',
      `${window.summary}; over the limit (${
        window.measuredBy === 'lsn'
          ? `${limits.maxBytesBehind} bytes`
          : `${limits.maxSecondsSinceLastReplay} s`
      }): promote anyway only with force, accepting that loss`,
    );
}

/**
 * Waits, bounded, until the replica has replayed the writer's WAL up to `target` (a fenced writer's final
 * position): what makes a planned switchover lose nothing.
 */
export async function waitForReplay(
  replica: Client,
  target: string,
  options: { readonly timeoutMs: number; readonly pollMs: number },
): Promise<{ readonly replayLsn: string; readonly waitedMs: number }> {
  const started = Date.now();
  const want = lsnBytes(target);
  for (let attempt = 0; ; attempt++) {
    const position = await replicaPosition(replica);
    if (!position.inRecovery)
      throw new FailoverError('NotAReplica', 'the replica left recovery while it was being waited for');
    if (position.replayLsn !== null && lsnBytes(position.replayLsn) >= want)
      return { replayLsn: position.replayLsn, waitedMs: Date.now() - started };
    if (Date.now() - started >= options.timeoutMs || attempt >= Math.ceil(options.timeoutMs / options.pollMs))
      throw new FailoverError(
        'ReplayTimeout',
        `the replica replayed up to ${position.replayLsn ?? 'nothing'}, not ${target}, within ${options.timeoutMs} ms`,
      );
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}
