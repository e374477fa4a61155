/**
 * Retiring blue, the instance side: once the way back's window has closed (or at once: `dr migrate finish`), the previous
 * writer is deleted with a final snapshot, or stopped after one, as configured. Only an instance that green
 * provisioning made (named `<prefix>-green-*`, tagged provisioned-by) is ever touched: IAM allows nothing else,
 * and this refuses first, clearly. Its read replicas go first (RDS stops no instance that has one, and what
 * deleting a source does to a cross-region replica is not one documented answer): only the DR replicas this
 * toolkit made (`pg-dr:role = dr-replica`, named under the prefix); any other replica is refused by name.
 */
import {
  DeleteDBInstanceCommand,
  ModifyDBInstanceCommand,
  StopDBInstanceCommand,
  type DBInstance,
  type RDSClient,
} from '@aws-sdk/client-rds';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describeInstance } from '../shared/rds-instance';
import { retireSecret, SECRET_RECOVERY_DAYS } from './retire-secret';
import { DR_REPLICA_ROLE, PROVISIONED_BY_TAG } from '../shared/provisioning-tags';
import type { Topology } from '../shared/topology';
import { RetirementError, refuseTopologyMember } from './topology-member';

export type RetireAction = 'delete' | 'stop';

export { RetirementError, refuseTopologyMember };

const tagOf = (instance: DBInstance, key: string) => instance.TagList?.find((t) => t.Key === key)?.Value;

/** Why the workflow may not delete or stop this instance (undefined: it may). */
export function notRetireableBecause(instance: DBInstance, prefix: string): string | undefined {
  const id = instance.DBInstanceIdentifier ?? '';
  if (id.startsWith(`${prefix}-green-`) && tagOf(instance, PROVISIONED_BY_TAG) === prefix) return undefined;
  return (
    `${id} was not made by green provisioning (named ${prefix}-green-* with the tag ${PROVISIONED_BY_TAG}=${prefix}): ` +
    'the workflow deletes or stops only those; it is kept (docs/blue-green-provisioning.md, Retiring blue by hand)'
  );
}

export interface RetirementPlan {
  /** When the window closes (ISO 8601): the workflow waits until then. */
  readonly retireAt: string;
  readonly action: RetireAction;
  readonly windowHours: number;
  /** The final snapshot's identifier: the instance's, `-retired-`, and when the retirement started. */
  readonly snapshotIdentifier: string;
  /** The workflow may delete or stop it; otherwise only the way back is ended, and keptBecause says why. */
  readonly retireable: boolean;
  readonly keptBecause: string | null;
}

/** `<id>-retired-20261201t1130`: valid as a snapshot identifier, and the same in every round of one run. */
export function finalSnapshotIdentifier(instance: string, startedAt: Date): string {
  const stamp = startedAt.toISOString().slice(0, 16).replace(/[-:]/g, '').toLowerCase();
  return `${instance}-retired-${stamp}`;
}

/** What the retirement will do, decided when it starts (and checked again when it acts). */
export async function planRetirement(
  rdsIn: (region: string) => Pick<RDSClient, 'send'>,
  request: {
    readonly region: string;
    readonly instance: string;
    readonly topology: Topology;
    readonly prefix: string;
    readonly action: RetireAction;
    readonly windowHours: number;
    readonly startedAt: Date;
    /** `dr migrate finish`: the window closes now. */
    readonly now: boolean;
  },
): Promise<RetirementPlan> {
  // The writer is never retired; the way back's end finds it superseded (a cutover back to it) and stops there.
  const writer = request.topology.writer.instanceIdentifier === request.instance;
  if (!writer) refuseTopologyMember(request.topology, request.instance);
  const found = writer ? undefined : await describeInstance(rdsIn(request.region), request.instance);
  const keptBecause = writer
    ? `${request.instance} is the writer the topology names (generation ${request.topology.generation})`
    : found === undefined
      ? `${request.instance} does not exist (deleted already)`
      : (notRetireableBecause(found, request.prefix) ??
        foreignReplica(await replicasOf(rdsIn, found, request.region), found, request.prefix) ??
        null);
  const closes = request.now
    ? request.startedAt
    : new Date(request.startedAt.getTime() + request.windowHours * 3_600_000);
  return {
    retireAt: closes.toISOString(),
    action: request.action,
    windowHours: request.windowHours,
    snapshotIdentifier: finalSnapshotIdentifier(request.instance, request.startedAt),
    retireable: keptBecause === null,
    keptBecause,
  };
}

export interface RetirementProgress {
  readonly instanceIdentifier: string;
  /** RDS's status of it now (`deleted` once RDS has no such instance). */
  readonly status: string;
  readonly retired: boolean;
  /** What this round did. */
  readonly action: string;
  readonly snapshotIdentifier: string;
}

/** A replica of blue by its ReadReplicaDBInstanceIdentifiers entry: an ARN (another region) or an identifier. */
function replicaAt(entry: string, region: string): { region: string; id: string } {
  const arn = /^arn:[^:]+:rds:([^:]+):\d{12}:db:(.+)$/.exec(entry);
  return arn === null ? { region, id: entry } : { region: arn[1] ?? region, id: arn[2] ?? entry };
}

const isOurReplica = (replica: DBInstance, id: string, prefix: string) =>
  id.startsWith(`${prefix}-green-`) && tagOf(replica, DR_REPLICA_ROLE.key) === DR_REPLICA_ROLE.value;

/** Blue's read replicas that exist, described in their regions (cross-region ones are listed by ARN). */
async function replicasOf(
  rdsIn: (region: string) => Pick<RDSClient, 'send'>,
  blue: DBInstance,
  region: string,
): Promise<{ readonly id: string; readonly region: string; readonly replica: DBInstance }[]> {
  const found = [];
  for (const entry of blue.ReadReplicaDBInstanceIdentifiers ?? []) {
    const at = replicaAt(entry, region);
    const replica = await describeInstance(rdsIn(at.region), at.id);
    if (replica !== undefined) found.push({ ...at, replica });
  }
  return found;
}

/** Why blue's read replicas stop the workflow from retiring it: one the DR rebuild did not make. */
function foreignReplica(
  replicas: Awaited<ReturnType<typeof replicasOf>>,
  blue: DBInstance,
  prefix: string,
): string | undefined {
  const foreign = replicas.find((r) => !isOurReplica(r.replica, r.id, prefix));
  return foreign === undefined
    ? undefined
    : `${blue.DBInstanceIdentifier ?? ''} has a read replica ${foreign.id} (${foreign.region}) that the DR rebuild did not make ` +
        `(named ${prefix}-green-* with ${DR_REPLICA_ROLE.key}=${DR_REPLICA_ROLE.value}): delete or promote it yourself, then retire blue`;
}

/** One round on blue's read replicas: the first that is not gone yet is deleted (ours only; any other refused). */
async function retireReplicas(
  rdsIn: (region: string) => Pick<RDSClient, 'send'>,
  blue: DBInstance,
  region: string,
  prefix: string,
): Promise<string | undefined> {
  const replicas = await replicasOf(rdsIn, blue, region);
  // Made since the plan: refused here too, before anything of blue's is touched.
  const foreign = foreignReplica(replicas, blue, prefix);
  if (foreign !== undefined) throw new RetirementError('RetirementRefused', foreign);
  const next = replicas[0];
  if (next === undefined) return undefined;
  const rds = rdsIn(next.region);
  if (next.replica.DBInstanceStatus === 'deleting') return `waiting for replica ${next.id} to be deleted`;
  if (next.replica.DeletionProtection === true) {
    await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: next.id,
        DeletionProtection: false,
        ApplyImmediately: true,
      }),
    );
    return `deletion protection of replica ${next.id} turned off`;
  }
  // A replica's data is blue's: the final snapshot is blue's, and RDS takes none of a replica.
  await rds.send(
    new DeleteDBInstanceCommand({
      DBInstanceIdentifier: next.id,
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: true,
    }),
  );
  return `replica ${next.id} deleting`;
}

/**
 * One idempotent round of retiring blue: its replicas first, then its deletion protection (delete only), then
 * the delete with the final snapshot (automated backups kept for their retention) or the stop with a snapshot.
 * The workflow calls it until `retired`.
 */
export async function advanceRetirement(
  rdsIn: (region: string) => Pick<RDSClient, 'send'>,
  request: {
    readonly instance: string;
    readonly region: string;
    readonly topology: Topology;
    readonly prefix: string;
    readonly action: RetireAction;
    readonly snapshotIdentifier: string;
    /** Once blue is deleted: its own secret (green provisioning's, named after it) is retired too. */
    readonly secret?: { readonly client: Pick<SecretsManagerClient, 'send'>; readonly name: string };
  },
): Promise<RetirementProgress> {
  refuseTopologyMember(request.topology, request.instance);
  const rds = rdsIn(request.region);
  const blue = await describeInstance(rds, request.instance);
  const progress = (status: string, retired: boolean, action: string): RetirementProgress => ({
    instanceIdentifier: request.instance,
    status,
    retired,
    action,
    snapshotIdentifier: request.snapshotIdentifier,
  });
  if (blue === undefined) {
    if (request.action !== 'delete' || request.secret === undefined) return progress('deleted', true, 'none');
    const secret = await retireSecret(request.secret.client, request.secret.name);
    return secret === 'replicas removed'
      ? progress('deleted', false, `replicas of the secret ${request.secret.name} removed`)
      : progress(
          'deleted',
          true,
          secret === 'gone'
            ? 'none'
            : `secret ${request.secret.name} scheduled for deletion (restorable for ${SECRET_RECOVERY_DAYS} days)`,
        );
  }
  const refusal = notRetireableBecause(blue, request.prefix);
  if (refusal !== undefined) throw new RetirementError('RetirementRefused', refusal);
  const status = blue.DBInstanceStatus ?? 'unknown';
  if (status === 'deleting') return progress(status, false, 'none');
  if (request.action === 'stop' && status === 'stopped') return progress(status, true, 'none');
  if (status === 'stopping') return progress(status, false, 'none');
  const replicas = await retireReplicas(rdsIn, blue, request.region, request.prefix);
  if (replicas !== undefined) return progress(status, false, replicas);
  if (status !== 'available' && !(request.action === 'delete' && status === 'stopped'))
    return progress(status, false, `waiting for ${request.instance} to be available`);
  if (request.action === 'stop') {
    await rds.send(
      new StopDBInstanceCommand({
        DBInstanceIdentifier: request.instance,
        DBSnapshotIdentifier: request.snapshotIdentifier,
      }),
    );
    return progress('stopping', false, 'snapshot and stop started');
  }
  if (blue.DeletionProtection === true) {
    await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: request.instance,
        DeletionProtection: false,
        ApplyImmediately: true,
      }),
    );
    return progress(status, false, 'deletion protection turned off');
  }
  await rds.send(
    new DeleteDBInstanceCommand({
      DBInstanceIdentifier: request.instance,
      SkipFinalSnapshot: false,
      FinalDBSnapshotIdentifier: request.snapshotIdentifier,
      // Point-in-time recovery stays possible for the backup retention period.
      DeleteAutomatedBackups: false,
    }),
  );
  return progress('deleting', false, 'final snapshot and delete started');
}
