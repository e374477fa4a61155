import type { Client } from 'pg';
import {
  checkReplicationReadiness,
  type ReadinessProblem,
} from '../connectivity-check/replication-readiness';
import { planMigrations } from '../migrations/engine';
import { displayName, type LocalMigration } from '../migrations/folder';
import { applicationTables } from '../shared/replicated-tables';
import { RoutableError } from '../shared/routable-error';

/**
 * Blue cannot be given a green by this workflow: nothing was created. The message lists every problem with its
 * fix (docs/blue-green-provisioning.md, What is refused).
 */
export class ProvisioningRefused extends RoutableError<'ProvisioningRefused'> {
  constructor(readonly problems: readonly ReadinessProblem[]) {
    super(
      'ProvisioningRefused',
      `blue cannot be given a green by logical replication (${problems.length} problem(s); nothing was created):\n` +
        problems.map((p) => `${p.subject} ${p.problem}; fix: ${p.fix}`).join('\n'),
    );
  }
}

export interface BlueCheck {
  /** Migrations applied on blue, in the folder's order: replayed on green, they give blue's schema. */
  readonly applied: readonly string[];
  /** Migrations of the folder not applied on blue: the migration applies them to green after the copy. */
  readonly pending: readonly string[];
  /** Blue's application tables (table keys): published and copied. */
  readonly tables: readonly string[];
  readonly warnings: readonly ReadinessProblem[];
}

/**
 * Everything that must hold on blue before green is created, checked first so that a refusal leaves nothing
 * behind:
 * - what logical replication refuses or does not carry (tables without a usable replica identity, unlogged
 *   tables, large objects, partial publications), as the migration's own readiness check names them;
 * - that replaying the folder's migrations gives blue's schema: blue keeps `_prisma_migrations`, every applied
 *   migration is in the folder unchanged, none failed or is running (the schema is compared again on green
 *   after the replay, which catches a change made by hand);
 * - that blue can publish: `wal_level` logical and a free replication slot and WAL sender for the subscription.
 */
export async function checkBlueForGreen(
  blue: Client,
  local: readonly LocalMigration[],
  publication: string,
): Promise<BlueCheck> {
  const problems: ReadinessProblem[] = [];
  const readiness = await checkReplicationReadiness(blue, { onlyPublication: publication });
  problems.push(...readiness.problems);
  problems.push(...(await publishingProblems(blue, publication)));

  const managed = await blue.query<{ found: boolean }>(
    "SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS found",
  );
  let applied: string[] = [];
  let pending: string[] = local.map((m) => m.name);
  if (managed.rows[0]?.found !== true) {
    problems.push({
      subject: 'public._prisma_migrations',
      problem:
        'does not exist: blue’s schema is not managed by migrations, so replaying them cannot give green blue’s schema',
      fix: 'baseline blue (dr migrations resolve --applied <name> for the migrations its tables reflect)',
    });
  } else {
    const plan = await planMigrations(blue, local);
    for (const failed of plan.failed)
      problems.push({
        subject: `migration ${displayName(failed.name)}`,
        problem: 'failed on blue and is unresolved',
        fix: `dr migrations resolve --applied ${displayName(failed.name)} or --rolled-back ${displayName(failed.name)}`,
      });
    for (const running of plan.running)
      problems.push({
        subject: `migration ${displayName(running.name)}`,
        problem: 'is being applied to blue right now',
        fix: 'wait for it to finish, then start again',
      });
    for (const drift of plan.drift)
      problems.push({
        subject: `migration ${displayName(drift.name)}`,
        problem:
          drift.reason === 'modified'
            ? 'was edited after it was applied to blue: replaying it would not give blue’s schema'
            : 'is applied on blue but missing from the migrations folder: it cannot be replayed',
        fix:
          drift.reason === 'modified'
            ? 'restore the file as it was applied (its checksum is in _prisma_migrations)'
            : 'deploy with the migrations folder blue was migrated from',
      });
    const appliedNames = new Set(plan.applied.map((a) => a.name));
    applied = local.filter((m) => appliedNames.has(m.name)).map((m) => m.name);
    pending = plan.pending.slice();
  }
  if (problems.length > 0) throw new ProvisioningRefused(problems);
  return { applied, pending, tables: await applicationTables(blue), warnings: readiness.warnings };
}

/**
 * The subscription's apply worker and, during the initial copy, each table sync worker (at most
 * max_sync_workers_per_subscription, 2 by default, on green) take a slot and a WAL sender on blue.
 */
const SLOTS_NEEDED = 3;

/**
 * Blue must be able to publish: logical WAL, and room for the subscription's slots and WAL senders. Those of an
 * earlier run (the subscription's own, its table sync workers') are not counted against it.
 */
async function publishingProblems(blue: Client, subscription: string): Promise<ReadinessProblem[]> {
  const { rows } = await blue.query<{
    wal_level: string;
    free_slots: number;
    free_senders: number;
  }>(
    `SELECT current_setting('wal_level') AS wal_level,
            current_setting('max_replication_slots')::int - (
              SELECT count(*) FROM pg_replication_slots
               WHERE slot_name <> $1 AND slot_name NOT LIKE 'pg\\_%\\_sync\\_%')::int AS free_slots,
            current_setting('max_wal_senders')::int - (
              SELECT count(*) FROM pg_stat_replication
               WHERE application_name <> $1 AND application_name NOT LIKE 'pg\\_%\\_sync\\_%')::int AS free_senders`,
    [subscription],
  );
  const row = rows[0];
  const problems: ReadinessProblem[] = [];
  if (row === undefined) return problems;
  if (row.wal_level !== 'logical')
    problems.push({
      subject: 'wal_level',
      problem: `is ${row.wal_level}: blue cannot publish`,
      fix: 'set rds.logical_replication = 1 in blue’s parameter group and reboot blue (docs/adoption.md, Parameter group)',
    });
  if (row.free_slots < SLOTS_NEEDED)
    problems.push({
      subject: 'max_replication_slots',
      problem: `leaves ${Math.max(0, row.free_slots)} free: the subscription and its initial copy need ${SLOTS_NEEDED} on blue`,
      fix: 'drop a leftover slot (SELECT pg_drop_replication_slot(name)) or raise max_replication_slots and reboot',
    });
  if (row.free_senders < SLOTS_NEEDED)
    problems.push({
      subject: 'max_wal_senders',
      problem: `leaves ${Math.max(0, row.free_senders)} free: the subscription and its initial copy need ${SLOTS_NEEDED} on blue`,
      fix: 'raise max_wal_senders and reboot blue',
    });
  return problems;
}
