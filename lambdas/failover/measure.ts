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
  const window = dataLossWindow(writer?.writable === true ? writer : undefined, position);
  checkPromotable(position, window, request.limits, request.force, { timeBound: request.approved !== true });
  return {
    writerReachable: writer !== undefined,
    writerWritable: writer?.writable === true,
    ...(writerProblem === undefined ? {} : { writerProblem }),
    window,
  };
}
