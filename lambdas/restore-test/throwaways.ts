/**
 * The restore test's throwaway instances in the DR region: how one is named, how old one is, and how they are
 * deleted (only an instance with both the throwaway name and tag; IAM allows no other). The workflow deletes
 * its own on every path; the hourly status and the next test delete those of executions that ended without
 * running their last states (stopped, timed out).
 */
import { createHash } from 'node:crypto';
import {
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  type DBInstance,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { RDS_INSTANCE_IDENTIFIER } from '../shared/patterns';
import { RESTORE_TEST_ROLE, restoreTestNamePrefix } from '../shared/provisioning-tags';
import { describeInstance } from '../shared/rds-instance';
import { RestoreTestError } from './backups';

type Rds = Pick<RDSClient, 'send'>;

export interface RestoreDeletion {
  readonly instanceIdentifier: string;
  /** `deleting`: asked now or already; `gone`: there was nothing to delete. */
  readonly outcome: 'deleting' | 'gone';
}

/**
 * How long a throwaway instance may exist: the workflow's TimeoutSeconds (36 h) and an hour. One whose name
 * says it is older belongs to an execution that has ended, whatever way: the hourly status and the next test
 * delete it. A test's start never touches a younger one (another test may be running).
 */
export const THROWAWAY_MAX_HOURS = 37;

/**
 * The throwaway instance of the execution `executionName` started at `startedAt`:
 * `<prefix>-restore-test-yyyymmddthhmm-<6 hex of the execution name>` (UTC). A retried step names the same
 * instance; two executions, even in the same minute, name two.
 */
export function restoreTestIdentifier(
  resourcePrefix: string,
  startedAt: string,
  executionName: string,
): string {
  const when = new Date(startedAt);
  if (Number.isNaN(when.getTime())) throw new RangeError(`startedAt: not a time (${startedAt.slice(0, 40)})`);
  const stamp = when.toISOString().slice(0, 16).replace(/[-:]/g, '').toLowerCase();
  const execution = createHash('sha256').update(executionName).digest('hex').slice(0, 6);
  const identifier = `${restoreTestNamePrefix(resourcePrefix)}${stamp}-${execution}`;
  if (!RDS_INSTANCE_IDENTIFIER.test(identifier))
    throw new RangeError(`${identifier} is not an RDS instance identifier: check the resource prefix`);
  return identifier;
}

/** When the test that made a throwaway started, from its name (undefined for a name this code did not make). */
export function restoreTestStartedAt(identifier: string, resourcePrefix: string): number | undefined {
  const rest = identifier.slice(restoreTestNamePrefix(resourcePrefix).length);
  const m = /^(\d{4})(\d{2})(\d{2})t(\d{2})(\d{2})(-[0-9a-f]{6})?$/.exec(rest);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi] = m;
  const at = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:00Z`);
  return Number.isNaN(at) ? undefined : at;
}

const isRestoreTest = (instance: DBInstance, resourcePrefix: string): boolean =>
  (instance.DBInstanceIdentifier ?? '').startsWith(restoreTestNamePrefix(resourcePrefix)) &&
  (instance.TagList ?? []).some(
    (tag) => tag.Key === RESTORE_TEST_ROLE.key && tag.Value === RESTORE_TEST_ROLE.value,
  );

async function allInstances(rds: Rds): Promise<DBInstance[]> {
  const found: DBInstance[] = [];
  let marker: string | undefined;
  for (let page = 0; page < 50; page++) {
    const answer = await rds.send(
      new DescribeDBInstancesCommand({
        ...(marker === undefined ? {} : { Marker: marker }),
        MaxRecords: 100,
      }),
    );
    found.push(...(answer.DBInstances ?? []));
    marker = answer.Marker;
    if (marker === undefined) break;
  }
  return found;
}

/** The throwaway instances of restore tests in the region (name and tag both), whatever their status. */
export async function restoreTestInstances(rds: Rds, resourcePrefix: string): Promise<DBInstance[]> {
  return (await allInstances(rds)).filter((i) => isRestoreTest(i, resourcePrefix));
}

export interface ThrowawaySweep {
  /** Stale throwaways this sweep asked RDS to delete, or found deleting already. */
  readonly deleted: readonly string[];
  /** Stale throwaways it could not delete (RDS busy, or refusing), with why: the next sweep tries again. */
  readonly failed: readonly { readonly instanceIdentifier: string; readonly error: string }[];
}

/**
 * Deletes the throwaways whose executions have ended however they ended (older than THROWAWAY_MAX_HOURS by
 * their name; a tagged one with a name this code did not make too): a stopped or timed-out execution runs no
 * cleanup. Never throws for one instance: it reports it.
 */
export async function sweepStaleRestoreTests(
  rds: Rds,
  resourcePrefix: string,
  now: number,
): Promise<ThrowawaySweep> {
  const stale = (await restoreTestInstances(rds, resourcePrefix)).filter((i) => {
    const started = restoreTestStartedAt(i.DBInstanceIdentifier ?? '', resourcePrefix);
    return started === undefined || now - started > THROWAWAY_MAX_HOURS * 3_600_000;
  });
  const deleted: string[] = [];
  const failed: { instanceIdentifier: string; error: string }[] = [];
  for (const instance of stale) {
    const id = instance.DBInstanceIdentifier ?? '';
    try {
      if (instance.DBInstanceStatus !== 'deleting') await deleteInstance(rds, id);
      deleted.push(id);
    } catch (error) {
      failed.push({ instanceIdentifier: id, error: `${(error as Error).name}: ${(error as Error).message}` });
    }
  }
  return { deleted, failed };
}

async function deleteInstance(rds: Rds, identifier: string): Promise<void> {
  try {
    // A throwaway: no final snapshot, and its own automated backups go with it.
    await rds.send(
      new DeleteDBInstanceCommand({
        DBInstanceIdentifier: identifier,
        SkipFinalSnapshot: true,
        DeleteAutomatedBackups: true,
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name !== 'DBInstanceNotFoundFault') throw error;
  }
}

/**
 * Deletes the throwaway instance, whatever the test's outcome: only an instance with the throwaway name and
 * tag (anything else is refused, untouched), without a final snapshot. Idempotent: a deleting or missing
 * instance is reported as it is.
 */
export async function deleteRestoreTest(
  rds: Rds,
  identifier: string,
  resourcePrefix: string,
): Promise<RestoreDeletion> {
  const instance = await describeInstance(rds, identifier);
  if (instance === undefined) return { instanceIdentifier: identifier, outcome: 'gone' };
  if (!isRestoreTest(instance, resourcePrefix))
    throw new RestoreTestError(
      'NotARestoreTest',
      `${identifier} is not a restore test's throwaway instance (name ${restoreTestNamePrefix(resourcePrefix)}* and tag ${RESTORE_TEST_ROLE.key}=${RESTORE_TEST_ROLE.value}): not deleted`,
    );
  if (instance.DBInstanceStatus !== 'deleting') await deleteInstance(rds, identifier);
  return { instanceIdentifier: identifier, outcome: 'deleting' };
}
