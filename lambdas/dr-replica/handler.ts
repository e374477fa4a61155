import { RDSClient } from '@aws-sdk/client-rds';
import { z } from 'zod';
import { rdsInstanceIdentifier } from '../shared/schemas';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { advanceDrReplica, type ReplicaPlacement, type ReplicaProgress } from './replica';

const instanceIdentifier = rdsInstanceIdentifier;

export const drReplicaEventSchema = z.strictObject({
  /** One step of the rebuild: create, wait, attach the DR parameter group, reboot, until done. */
  mode: z.literal('advance'),
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

/**
 * Worth another round: RDS throttled, failed on its side, or the replica changed state between our describe
 * and our action (InvalidDBInstanceState). Everything else (refused parameters, missing permission, quota) is
 * not going to change by waiting.
 */
function isRetryable(error: unknown): boolean {
  const e = error as { name?: string; $fault?: string; $retryable?: unknown };
  return (
    e.$fault === 'server' ||
    e.$retryable !== undefined ||
    e.name === 'ThrottlingException' ||
    e.name === 'InvalidDBInstanceStateFault'
  );
}

/**
 * Rebuilds DR after a cutover, one idempotent step per call (the DR rebuild workflow calls it until `done`):
 * a cross-region replica of green, on the DR parameter group, rebooted so its parameters apply.
 */
export async function handler(event: unknown): Promise<ReplicaProgress> {
  return runStep(instrumentation, async () => {
    const input = parseInput(drReplicaEventSchema, event);
    const where = placement();
    rds ??= new RDSClient({ region: where.replicaRegion });
    try {
      const state = await advanceDrReplica(
        rds,
        where,
        input.sourceInstanceIdentifier,
        input.replicaInstanceIdentifier,
      );
      instrumentation.logger.info('dr replica', { ...state });
      return state;
    } catch (error) {
      if (isRetryable(error))
        throw new StepError('RdsRetryable', `RDS could not take the step now: ${(error as Error).message}`);
      throw error;
    }
  });
}
