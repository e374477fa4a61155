import { RDSClient } from '@aws-sdk/client-rds';
import { z } from 'zod';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { createDrReplica, describeDrReplica, type ReplicaPlacement, type ReplicaState } from './replica';

const instanceIdentifier = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,61}[a-z0-9]$/, { error: 'must be an RDS instance identifier' });

export const drReplicaEventSchema = z.strictObject({
  mode: z.enum(['create', 'status']),
  /** Green, the new primary. */
  sourceInstanceIdentifier: instanceIdentifier,
  /** The replica to create in the DR region. */
  replicaInstanceIdentifier: instanceIdentifier,
});

const placementSchema = z.object({
  ACCOUNT_ID: z.string().regex(/^\d{12}$/),
  SOURCE_REGION: z.string().min(1),
  REPLICA_REGION: z.string().min(1),
  REPLICA_SUBNET_GROUP: z.string().min(1),
  REPLICA_SECURITY_GROUP_IDS: z.string().min(1),
  REPLICA_PARAMETER_GROUP: z.string().min(1),
  REPLICA_KMS_KEY_ARN: z.string().min(1),
  REPLICA_MULTI_AZ: z.enum(['true', 'false']),
  REPLICA_PORT: z.coerce.number().int(),
});

const instrumentation = stepInstrumentation('dr-replica');
let rds: RDSClient | undefined;

function placement(): ReplicaPlacement {
  const parsed = placementSchema.safeParse(process.env);
  if (!parsed.success) {
    throw new StepError(
      'StepMisconfigured',
      `missing replica placement: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  }
  const env = parsed.data;
  return {
    account: env.ACCOUNT_ID,
    sourceRegion: env.SOURCE_REGION,
    replicaRegion: env.REPLICA_REGION,
    subnetGroupName: env.REPLICA_SUBNET_GROUP,
    securityGroupIds: env.REPLICA_SECURITY_GROUP_IDS.split(','),
    parameterGroupName: env.REPLICA_PARAMETER_GROUP,
    kmsKeyArn: env.REPLICA_KMS_KEY_ARN,
    multiAz: env.REPLICA_MULTI_AZ === 'true',
    port: env.REPLICA_PORT,
  };
}

/** Rebuilds DR after a cutover: starts a cross-region replica of green (`create`), reports its state (`status`). */
export async function handler(event: unknown): Promise<ReplicaState> {
  return runStep(instrumentation, async () => {
    const input = parseInput(drReplicaEventSchema, event);
    const where = placement();
    rds ??= new RDSClient({ region: where.replicaRegion });
    const state =
      input.mode === 'create'
        ? await createDrReplica(rds, where, input.sourceInstanceIdentifier, input.replicaInstanceIdentifier)
        : await describeDrReplica(rds, input.replicaInstanceIdentifier);
    instrumentation.logger.info('dr replica', { ...state });
    return state;
  });
}
