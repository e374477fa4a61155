/**
 * The failover's measurement (in the VPC; it changes nothing): what is reachable, and what promoting the
 * replica now would lose, measured on the servers. The writer is asked with a short limit: when its region is
 * lost it does not answer, and the window is then bounded from the replica alone.
 */
import type { ConnectOptions, ResolveDatabase } from '../shared/database';
import { withConnection } from '../shared/database';
import { DatabaseError } from '../shared/postgres-errors';
import { withEitherSecretVersion, type SecretVersion, type SecretVersions } from '../shared/secret-versions';
import type { Adoption } from './adoption';
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
  /** An adoption's: which version of its secret opened the restored instance (AWSPREVIOUS: it is reset at open). */
  readonly secretVersion?: SecretVersion;
  readonly window: DataLossWindow;
}

const options = (connectTimeoutMs: number): ConnectOptions => ({
  connectTimeoutMs,
  statementTimeoutMs: 10_000,
  applicationName: 'pg-dr-failover',
});

/** The writer's position, asked with a short limit; undefined (with why) when it does not answer. */
async function reachWriter(
  resolve: ResolveDatabase,
  writer: OpenableMember,
  request: { readonly database: string; readonly writerConnectTimeoutMs: number },
): Promise<{ writer?: WriterPosition; writerProblem?: string }> {
  try {
    return {
      writer: await withConnection(
        await resolve(memberRef(writer, request.database)),
        options(request.writerConnectTimeoutMs),
        writerPosition,
      ),
    };
  } catch (e) {
    return { writerProblem: `${writer.endpoint} did not answer: ${(e as Error).message}` };
  }
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
  const { writer, writerProblem } = await reachWriter(resolve, plan.writer, request);
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

/**
 * An adoption's measurement (`dr failover --adopt`): who answers, and that the restored instance opens (by its
 * secret's current version, or its previous one: a restored instance has its source's password as of the
 * restore point) as a server out of recovery. What it lacks is not measured on a server: it is everything its
 * source took after the restore point (its tag says when), whatever the writer still answers.
 */
export async function measureAdoption(
  secrets: SecretVersions,
  plan: { readonly writer: OpenableMember; readonly replica: OpenableMember; readonly adopt: Adoption },
  request: { readonly database: string; readonly writerConnectTimeoutMs: number; readonly now: Date },
): Promise<FailoverMeasurement> {
  const { writer, writerProblem } = await reachWriter(secrets.current, plan.writer, request);
  const id = plan.replica.instanceIdentifier;
  let version: SecretVersion;
  try {
    version = await withEitherSecretVersion(
      secrets,
      memberRef(plan.replica, request.database),
      options(10_000),
      async (client, opened) => {
        const { rows } = await client.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
        if (rows[0]?.recovery !== false)
          throw new FailoverError('NotAdoptable', `${id} is in recovery: a restored instance never is`);
        return opened;
      },
    );
  } catch (e) {
    if (e instanceof DatabaseError && e.kind === 'auth_failed')
      throw new FailoverError(
        'NotAdoptable',
        `neither the current nor the previous version of ${plan.replica.secretId} opens ${id} (${e.message}; ` +
          "a restore point older than the last two rotations): set its master password to the secret's current one " +
          '(aws rds modify-db-instance --master-user-password), wait until it is available, then start again',
        { cause: e },
      );
    throw e;
  }
  const { adopt } = plan;
  const point = adopt.restorePoint === 'latest' ? null : adopt.restorePoint;
  const seconds = point === null ? null : Math.max(0, (request.now.getTime() - Date.parse(point)) / 1000);
  const when =
    point === null
      ? `the latest restorable time when it was restored${adopt.createdAt === null ? '' : ` (before ${adopt.createdAt})`}`
      : `${point} (${Math.round((seconds ?? 0) / 60)} min before this measurement)`;
  return {
    writerReachable: writer !== undefined,
    writerWritable: writer?.writable === true,
    ...(writerProblem === undefined ? {} : { writerProblem }),
    alreadyPromoted: true,
    secretVersion: version,
    window: {
      measuredBy: 'restore-point',
      bytesBehind: null,
      lastReplayedCommitAt: point,
      secondsSinceLastReplay: seconds,
      summary:
        `${id} holds ${adopt.restoredFrom} as of ${when}: everything written to it after that is not in ${id}` +
        (writer?.writable === true
          ? `; ${plan.writer.instanceIdentifier} still takes writes: copy what must be kept from it before it is retired`
          : ''),
    },
  };
}
