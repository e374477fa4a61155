/**
 * The failover's measurement (in the VPC; it changes nothing): what is reachable, and what promoting the
 * replica now would lose, measured on the servers. The writer is asked with a short limit: when its region is
 * lost it does not answer, and the window is then bounded from the replica alone.
 */
import type { ConnectOptions, ResolveDatabase } from '../shared/database';
import { withConnection } from '../shared/database';
import { memberRef, type OpenableMember } from './member';
import {
  FailoverError,
  checkPromotable,
  dataLossWindow,
  replicaPosition,
  writerPosition,
  type DataLossWindow,
  type FailoverLimits,
  type WriterPosition,
} from './replication-position';

export interface FailoverMeasurement {
  /** Whether the writer answered, and as what (a writer that still takes writes must be retired first). */
  readonly writerReachable: boolean;
  readonly writerWritable: boolean;
  readonly writerProblem?: string;
  /**
   * The replica had left recovery already: a failover that stopped after promoting it (or a promotion made by
   * hand). Finishing it retires the writer again, then opens, records and points DNS at the promoted one.
   */
  readonly alreadyPromoted: boolean;
  readonly window: DataLossWindow;
}

export async function measureFailover(
  resolve: ResolveDatabase,
  plan: { readonly writer: OpenableMember; readonly replica: OpenableMember },
  request: {
    readonly database: string;
    readonly limits: FailoverLimits;
    /** Promote even past the limits, accepting the measured loss. */
    readonly force: boolean;
    /** A planned switchover: the writer must answer as a writer (its last write is waited for). */
    readonly planned?: boolean;
    /** Measured again after a person approved the window: only the byte bound applies (see checkPromotable). */
    readonly approved?: boolean;
    readonly writerConnectTimeoutMs: number;
  },
): Promise<FailoverMeasurement> {
  const options = (connectTimeoutMs: number): ConnectOptions => ({
    connectTimeoutMs,
    statementTimeoutMs: 10_000,
    applicationName: 'pg-dr-failover',
  });
  let writer: WriterPosition | undefined;
  let writerProblem: string | undefined;
  try {
    writer = await withConnection(
      await resolve(memberRef(plan.writer, request.database)),
      options(request.writerConnectTimeoutMs),
      writerPosition,
    );
  } catch (e) {
    writerProblem = `${plan.writer.endpoint} did not answer: ${(e as Error).message}`;
  }
  const position = await withConnection(
    await resolve(memberRef(plan.replica, request.database)),
    options(10_000),
    replicaPosition,
  );
  if (request.planned === true && writer?.writable !== true)
    throw new FailoverError(
      'WriterUnreachable',
      `a switchover needs the writer, and ${plan.writer.instanceIdentifier} ${
        writer === undefined ? `does not answer (${writerProblem ?? ''})` : 'answers, but not as a writer'
      }: if its region is lost, fail over instead (dr failover)`,
    );
  const reached = {
    writerReachable: writer !== undefined,
    writerWritable: writer?.writable === true,
    ...(writerProblem === undefined ? {} : { writerProblem }),
  };
  if (!position.inRecovery) {
    // A switchover's promise (nothing lost) cannot be kept once the replica left recovery by itself.
    if (request.planned === true)
      throw new FailoverError(
        'NotAReplica',
        `${plan.replica.instanceIdentifier} is not in recovery: it was promoted already, so a switchover cannot ` +
          "wait for the writer's last write any more. Finish it as a failover (dr failover): it retires the writer " +
          'again, then opens, records and points DNS at the promoted instance',
      );
    const id = plan.replica.instanceIdentifier;
    // The promoted replica's replay position stays where recovery ended: against a writer that still takes
    // writes (never retired, or opened again), the bytes since then are what finishing discards.
    if (writer?.writable === true) {
      const lsn = dataLossWindow(writer, position);
      const window = {
        ...lsn,
        summary:
          `${id} was promoted already, and ${plan.writer.instanceIdentifier} still takes writes: ${lsn.summary}; ` +
          'finishing discards what it has beyond that',
      };
      if (!request.force && (lsn.bytesBehind ?? 0) > request.limits.maxBytesBehind)
        throw new FailoverError(
          'ReplicaTooFarBehind',
          `${window.summary}; over the limit (${request.limits.maxBytesBehind} bytes): finish anyway only with ` +
            'force, accepting that loss',
        );
      return { ...reached, alreadyPromoted: true, window };
    }
    return {
      ...reached,
      alreadyPromoted: true,
      window: {
        measuredBy: 'already-promoted',
        bytesBehind: null,
        lastReplayedCommitAt: null,
        secondsSinceLastReplay: null,
        summary:
          `${id} was promoted already (a failover that stopped after promoting it, or a promotion by hand), ` +
          `and ${plan.writer.instanceIdentifier} takes no writes: what it lost was decided then`,
      },
    };
  }
  const window = dataLossWindow(writer?.writable === true ? writer : undefined, position);
  checkPromotable(position, window, request.limits, request.force, { timeBound: request.approved !== true });
  return { ...reached, alreadyPromoted: false, window };
}
