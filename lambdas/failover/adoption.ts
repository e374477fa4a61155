/**
 * What a region failover that adopts a restored instance carries from its plan to its steps (`dr failover
 * --adopt <id>`): the instance `dr restore` made, as the topology will name it, and what it was restored from
 * and to when. Schema only, so the topology step reads it without the RDS client the plan uses (adopt.ts).
 */
import { z } from 'zod';
import { rdsInstanceIdentifier } from '../shared/schemas';
import { topologyMember } from '../shared/topology-schema';

export const adoptionSchema = z.strictObject({
  /** The restored instance as the topology will name it: its own secret only when its source had one. */
  member: topologyMember,
  /** The instance its backups were of (its `pg-dr:restored-from` tag). */
  restoredFrom: rdsInstanceIdentifier,
  /** Its `pg-dr:restore-point` tag: an ISO time, or `latest` (the latest restorable time when it was restored). */
  restorePoint: z.union([z.iso.datetime({ offset: true }), z.literal('latest')]),
  /** When RDS created it: a `latest` restore point lies before it. */
  createdAt: z.iso.datetime({ offset: true }).nullable(),
  /** The replica the topology names now: it follows the writer that is retired, and leaves the topology. */
  formerReplica: rdsInstanceIdentifier.nullable(),
});
export type Adoption = z.infer<typeof adoptionSchema>;

/** What a failover step is given: the adoption, or null for the writer's replica (every other failover). */
export const adoptionOrNull = adoptionSchema.nullable().default(null);
