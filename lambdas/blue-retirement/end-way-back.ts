/**
 * Ending the way back when its window closes: blue's subscription to the writer is dropped (which drops its slot
 * on the writer), then the writer's publication. What matters is the slot: while it exists the writer retains
 * WAL for blue, and a slot nobody reads fills the writer's disk. A blue that cannot be reached cannot drop its
 * subscription, so the slot is then dropped on the writer directly (a stopped or deleted blue never reads it
 * again). Idempotent: each part is skipped when it is gone already.
 */
import type { Client } from 'pg';
import { isServerError } from '../shared/postgres-errors';
import { quoteIdent } from '../shared/sql-identifier';
import { RoutableError } from '../shared/routable-error';

export interface WayBackEnded {
  /**
   * Blue is the writer again (a cutover back to it since this retirement started): nothing is ended or retired,
   * and the retirement ends quietly. The way back it served was dropped by that cutover.
   */
  readonly superseded: boolean;
  /** Blue answered, and its subscription is gone (dropped now or before). */
  readonly blueReached: boolean;
  readonly subscriptionDropped: boolean;
  /** The slot was dropped on the writer directly (blue could not drop it). */
  readonly slotDroppedOnWriter: boolean;
  readonly publicationDropped: boolean;
}

export class WayBackEndError extends RoutableError<'WayBackSlotActive'> {}

/**
 * On blue: drop the way back's subscription of this database (its slot on the writer with it). Blue is fenced
 * (read-only by default), so the session lifts that for itself first.
 */
export async function dropWayBackSubscription(blue: Client, subscription: string): Promise<boolean> {
  await blue.query('SET default_transaction_read_only = off');
  const found = await blue.query(
    `SELECT 1 FROM pg_subscription
      WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [subscription],
  );
  if ((found.rowCount ?? 0) === 0) return false;
  const name = quoteIdent(subscription);
  // Disabled first: the apply worker stops, so the drop does not wait on it.
  await blue.query(`ALTER SUBSCRIPTION ${name} DISABLE`);
  try {
    await blue.query(`DROP SUBSCRIPTION ${name}`);
  } catch (error) {
    // The server refused: it could not drop the slot on the writer (unreachable from blue, or the slot is gone
    // already). Detached, the subscription drops alone; the writer's side drops the slot. A socket error or a
    // timeout is not that: it goes to the step.
    if (!isServerError(error)) throw error;
    await blue.query(`ALTER SUBSCRIPTION ${name} SET (slot_name = NONE)`);
    await blue.query(`DROP SUBSCRIPTION ${name}`);
  }
  return true;
}

/**
 * On the writer: the way back's slot, if blue did not drop it (refused while a walsender still streams from
 * it: blue is then reachable after all, and the next round drops the subscription there), and the publication.
 */
export async function dropWayBackOnWriter(
  writer: Client,
  names: { readonly publication: string; readonly slot: string },
): Promise<{ slotDropped: boolean; publicationDropped: boolean }> {
  // The writer may be fenced since (a later cutover away from it): this session lifts that for itself.
  await writer.query('SET default_transaction_read_only = off');
  const { rows } = await writer.query<{ active: boolean }>(
    'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
    [names.slot],
  );
  const slot = rows[0];
  if (slot?.active === true)
    throw new WayBackEndError(
      'WayBackSlotActive',
      `the writer's slot ${names.slot} is still read by a subscriber: blue's subscription must be dropped on blue`,
    );
  if (slot !== undefined) await writer.query('SELECT pg_drop_replication_slot($1)', [names.slot]);
  const publication = await writer.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [
    names.publication,
  ]);
  const publicationDropped = (publication.rowCount ?? 0) > 0;
  if (publicationDropped) await writer.query(`DROP PUBLICATION ${quoteIdent(names.publication)}`);
  return { slotDropped: slot !== undefined, publicationDropped };
}
