import { RDSClient } from '@aws-sdk/client-rds';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { awsRegion, rdsInstanceIdentifier } from '../shared/schemas';
import { asRdsRetryable } from '../shared/aws-retryable';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { readTopology } from '../shared/topology';
import { topologyLocation } from '../shared/topology-location';
import { replicateWriterBackups, type BackupReplicationResult } from './backup-replication';
import { advanceDrReplica, placementFor, type RegionPlacement, type ReplicaProgress } from './replica';

const instanceIdentifier = rdsInstanceIdentifier;

export const drReplicaEventSchema = z.strictObject({
  /**
   * `advance`: one step of the rebuild (create, wait, attach the region's parameter group, reboot, until
   * done). `replicate-backups`: the writer's automated backups replicated to the replica's region.
   */
  mode: z.enum(['advance', 'replicate-backups']),
  /** The writer the topology names (green after a cutover, the promoted replica after a failover). */
  sourceInstanceIdentifier: instanceIdentifier,
  /** The replica to create in the other region. */
  replicaInstanceIdentifier: instanceIdentifier,
});

/** One region's placement, as CDK writes it (REPLICA_PLACEMENTS, a JSON array with both regions). */
const regionPlacementSchema = z.strictObject({
  region: awsRegion,
  subnetGroupName: z.string().min(1),
  securityGroupIds: z.array(z.string().min(1)).min(1),
  parameterGroupName: z.string().min(1),
  kmsKeyArn: z.string().min(1),
});

const environmentSchema = z.object({
  ACCOUNT_ID: z.string().regex(/^\d{12}$/),
  PARTITION: z.string().regex(/^aws[a-z-]*$/),
  REPLICA_PLACEMENTS: z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not JSON' });
      return z.NEVER;
    }
  }),
  REPLICA_MULTI_AZ: z.enum(['true', 'false']),
  REPLICA_PORT: z.coerce.number().int().min(1).max(65535),
  REPLICA_MAX_ALLOCATED_STORAGE_GIB: z.coerce.number().int().min(20).max(65536),
  REPLICA_MAINTENANCE_WINDOW: z.string().regex(/^[a-z]{3}:\d{2}:\d{2}-[a-z]{3}:\d{2}:\d{2}$/),
  /** How long the writer's replicated automated backups are kept in the other region (backups.crossRegionRetentionDays). */
  BACKUP_REPLICATION_RETENTION_DAYS: z.coerce.number().int().min(1).max(35),
});

const instrumentation = stepInstrumentation('dr-replica');
const rdsIn = new Map<string, RDSClient>();
let ssm: SSMClient | undefined;

function rdsClient(region: string): RDSClient {
  const client = rdsIn.get(region) ?? new RDSClient({ region });
  rdsIn.set(region, client);
  return client;
}

function misconfigured(what: string): StepError {
  return new StepError('StepMisconfigured', `missing replica placement: ${what}`);
}

function environment(): {
  regions: RegionPlacement[];
  shared: Parameters<typeof placementFor>[2];
  backupRetentionDays: number;
} {
  const parsed = environmentSchema.safeParse(process.env);
  if (!parsed.success) throw misconfigured(parsed.error.issues.map((i) => i.path.join('.')).join(', '));
  const regions = z.array(regionPlacementSchema).length(2).safeParse(parsed.data.REPLICA_PLACEMENTS);
  if (!regions.success) throw misconfigured('REPLICA_PLACEMENTS (two regions expected)');
  const env = parsed.data;
  return {
    regions: regions.data,
    shared: {
      partition: env.PARTITION,
      account: env.ACCOUNT_ID,
      multiAz: env.REPLICA_MULTI_AZ === 'true',
      port: env.REPLICA_PORT,
      maxAllocatedStorageGiB: env.REPLICA_MAX_ALLOCATED_STORAGE_GIB,
      maintenanceWindow: env.REPLICA_MAINTENANCE_WINDOW,
    },
    backupRetentionDays: env.BACKUP_REPLICATION_RETENTION_DAYS,
  };
}

/**
 * Gives the topology's writer a cross-region replica, one idempotent step per call (the DR rebuild workflow
 * calls it until `done`): after a cutover (green) and after a failover or switchover (re-protect), in the other
 * region than the writer's, on that region's parameter group, rebooted so its parameters apply.
 */
export async function handler(event: unknown): Promise<ReplicaProgress | BackupReplicationResult> {
  return runStep(instrumentation, async () => {
    const input = parseInput(drReplicaEventSchema, event);
    const { regions, shared, backupRetentionDays } = environment();
    const located = topologyLocation();
    ssm ??= new SSMClient({ region: located.region });
    try {
      const topology = await readTopology(ssm, located.names);
      const where = placementFor(
        topology,
        regions,
        shared,
        input.sourceInstanceIdentifier,
        input.replicaInstanceIdentifier,
      );
      const clients = { source: rdsClient(where.sourceRegion), replica: rdsClient(where.replicaRegion) };
      if (input.mode === 'replicate-backups') {
        const replicated = await replicateWriterBackups(
          { source: clients.source, destination: clients.replica },
          where,
          input.sourceInstanceIdentifier,
          backupRetentionDays,
        );
        instrumentation.logger.info('writer backups replicated', { ...replicated });
        return replicated;
      }
      const state = await advanceDrReplica(
        clients,
        where,
        input.sourceInstanceIdentifier,
        input.replicaInstanceIdentifier,
      );
      instrumentation.logger.info('dr replica', { ...state });
      return state;
    } catch (error) {
      // A throttled or failing Parameter Store read too: one must not end a rebuild of many hours.
      throw asRdsRetryable(error);
    }
  });
}
