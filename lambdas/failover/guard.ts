/**
 * The retired-writer guard: a former writer the topology names as retired is retired again whenever it answers.
 * A failover cannot retire a writer whose region is lost; when that region returns, the instance comes back
 * with its databases open. DNS no longer sends clients to it (both records answer the new writer), but a
 * client that connects by its instance endpoint would write to it: the guard, run on a schedule, closes it.
 */
import type { ConnectionSettings } from '../shared/database';
import type { OpenableMember } from './member';
import { FailoverError } from './replication-position';
import { retireIfReachable, type RetireResult } from './retire-writer';

export interface GuardedMember {
  readonly instanceIdentifier: string;
  /** What retiring it found, or why it could not be tried or finished (the others are guarded all the same). */
  readonly result: RetireResult | { readonly reachable: 'unknown'; readonly error: string };
}

export interface GuardResult {
  readonly members: readonly GuardedMember[];
  /** Former writers that answered with databases still open: retired now (the page names them). */
  readonly newlyRetired: readonly string[];
}

export async function guardRetiredWriters(
  members: readonly OpenableMember[],
  settingsOf: (member: OpenableMember) => Promise<ConnectionSettings>,
  connectTimeoutMs: number,
): Promise<GuardResult> {
  const guarded: GuardedMember[] = [];
  for (const member of members) {
    try {
      const result = await retireIfReachable(await settingsOf(member), connectTimeoutMs);
      guarded.push({ instanceIdentifier: member.instanceIdentifier, result });
    } catch (e) {
      guarded.push({
        instanceIdentifier: member.instanceIdentifier,
        result: { reachable: 'unknown', error: `${(e as Error).name}: ${(e as Error).message}` },
      });
    }
  }
  const failed = guarded.filter((g) => g.result.reachable === 'unknown');
  // Every member was tried; one that could not be guarded fails the run (the alarm pages after three).
  if (failed.length > 0)
    throw new FailoverError(
      'RetireIncomplete',
      failed.map((g) => `${g.instanceIdentifier}: ${'error' in g.result ? g.result.error : ''}`).join('; '),
    );
  return {
    members: guarded,
    newlyRetired: guarded
      .filter((g) => g.result.reachable === true && !g.result.alreadyRetired)
      .map((g) => g.instanceIdentifier),
  };
}
