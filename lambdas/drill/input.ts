import { z } from 'zod';
import { databaseRefSchema } from '../shared/database-ref';
import { hostedZoneId, hostNameOrFqdn } from '../shared/schemas';
import { blueGreenInputSchema } from '../workflow-input/schema';

export const HOST = hostNameOrFqdn;
export const HOSTED_ZONE_ID = hostedZoneId;
export const HEALTH_CHECK_ID = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, {
    error: 'must be a Route 53 health check id',
  });
/** Epoch milliseconds within a day of now: when a drill step's measurement started. */
export const RECENT_EPOCH_MS = z
  .number()
  .int()
  .refine((ms) => Math.abs(Date.now() - ms) <= 86_400_000, {
    error: 'must be a time in epoch milliseconds within a day of now',
  });
const bucket = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'must be an S3 bucket name' });
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'must be an AWS region' });
const stateMachineArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/, {
    error: 'must be a state machine ARN',
  });
const seconds = (max: number) => z.number().int().min(1).max(max);
/**
 * What a topology member without a secret or port of its own takes (the configured master secret and port),
 * and the database the drill connects to: the hosts come from the topology at run time.
 */
export const drillDatabaseSchema = databaseRefSchema.omit({ host: true }).required({ port: true });

/**
 * The failover drill's input (what the weekly schedule sends; `dr drill` sends the same). Secret references
 * only, never a password.
 */
export const drillInputSchema = z.strictObject({
  /**
   * The drill drills the roles the topology names when it starts (its writer and that writer's replica):
   * this says which database it opens, and the secret and port a member without its own takes.
   */
  database: drillDatabaseSchema,
  dns: z.strictObject({
    hostedZoneId: HOSTED_ZONE_ID,
    /** The record the drill fails over (the drill record's, or production's). */
    recordName: HOST,
    /** True when that record is production's (drill.record "production"): `dr drill` asks first. */
    production: z.boolean(),
  }),
  healthChecks: z.strictObject({
    /** The CALCULATED check on the PRIMARY record: inverted to simulate losing the primary. */
    invert: HEALTH_CHECK_ID,
    /** Child checks that must stay healthy (database checks, sidecar): checked before and during the drill. */
    watch: z
      .array(z.strictObject({ healthCheckId: HEALTH_CHECK_ID, label: z.string().min(1).max(40) }))
      .min(1)
      .max(5),
  }),
  backups: z.strictObject({
    sourceBucket: bucket,
    sourceRegion: region,
    replicaBucket: bucket,
    replicaRegion: region,
  }),
  budgets: z.strictObject({
    serviceDisruptionSeconds: seconds(600),
    dnsFailoverSeconds: seconds(600),
    s3ReplicationSeconds: seconds(840),
  }),
  limits: z.strictObject({
    /** Preflight: a heartbeat must reach the replica within this. */
    maxReplicaLagSeconds: seconds(600),
    failbackTimeoutSeconds: seconds(600),
    heartbeatTimeoutSeconds: seconds(600),
    s3TimeoutSeconds: seconds(840),
    pollMs: z.number().int().min(50).max(10_000),
  }),
  /** Drill and migration state machines: the drill refuses to start while one of them runs. */
  exclusiveWith: z.array(stateMachineArn).max(5),
  /**
   * The blue-green workflow input for the dry run of scenario 5 (no dry run when absent). Its blue and green
   * name no host: the preflight makes both the topology's writer.
   */
  migrationDryRun: blueGreenInputSchema
    .refine((i) => i.dryRun, { error: 'must have dryRun true (the drill never migrates)' })
    .optional(),
});
export type DrillInput = z.infer<typeof drillInputSchema>;
