/**
 * The region failover's control-plane steps (outside the VPC: Step Functions, Parameter Store and RDS APIs):
 * - `plan`: refuse while another role-changing workflow or the drill runs, and read the topology: the writer,
 *   the replica to promote (or the restored instance to adopt, checked in RDS), the generation the change
 *   names;
 * - `retired`: the former writers the topology retired (the retired-writer guard retires them again if they
 *   answer);
 * - `promote`: one round of promoting the replica (the workflow repeats it, waiting between rounds).
 * The databases themselves are measured, retired and opened by the database steps (database-handler.ts).
 */
import { RDSClient } from '@aws-sdk/client-rds';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { databaseRefSchema } from '../shared/database-ref';
import { awsRegion, rdsInstanceIdentifier } from '../shared/schemas';
import { parseEnvironment, parseInput, runStep, stepInstrumentation } from '../shared/step';
import { topologyLocation } from '../shared/topology-location';
import { readTopology } from '../shared/topology';
import { openable, type OpenableMember } from './member';
import { planFailover, type FailoverPlan } from './plan';
import { advancePromotion, type PromotionRound } from './promote';

const stateMachineArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/, {
    error: 'must be a state machine ARN',
  });

export const failoverControlEventSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('plan'),
    /** Opens a member whose topology entry names no secret of its own (the master secret). */
    secretId: databaseRefSchema.shape.secretId,
    /**
     * The execution's input: approved already (`dr failover --promote`), whether to promote past the limits
     * (`--force`), and planned (`dr switchover`: zero loss, the writer must answer). Nothing else is accepted.
     */
    request: z
      .strictObject({
        approved: z.boolean().default(false),
        force: z.boolean().default(false),
        planned: z.boolean().default(false),
        /** `dr failover --adopt`: the restored instance to adopt as the writer, instead of the replica. */
        adopt: z.strictObject({ instanceIdentifier: rdsInstanceIdentifier }).optional(),
      })
      .refine((r) => r.adopt === undefined || (!r.planned && !r.force), {
        error:
          'adopt is neither planned nor forced: a restored instance replays nothing, and what it lacks is ' +
          'everything after its restore point',
      })
      .default({ approved: false, force: false, planned: false }),
    exclusiveWith: z.array(stateMachineArn).max(10),
    ownExecutionArn: z.string().min(1).max(2048),
  }),
  z.strictObject({
    mode: z.literal('retired'),
    /** Opens a retired member whose topology entry names no secret of its own. */
    secretId: databaseRefSchema.shape.secretId,
  }),
  z.strictObject({
    mode: z.literal('promote'),
    instanceIdentifier: rdsInstanceIdentifier,
    /** The replica's region: the promotion is asked of RDS there. */
    region: awsRegion,
    backupRetentionPeriod: z.int().min(1).max(35),
  }),
]);
export type FailoverControlEvent = z.input<typeof failoverControlEventSchema>;

/** The app's two regions (set by the app): a restored instance is adopted only from one of them. */
const environmentSchema = z.object({
  DR_REGIONS: z
    .string()
    .transform((v) => v.split(','))
    .pipe(z.array(awsRegion).length(2)),
});

const instrumentation = stepInstrumentation('failover-control');
let ssm: SSMClient | undefined;
let sfn: SFNClient | undefined;
const rds = new Map<string, RDSClient>();

function rdsIn(region: string): RDSClient {
  let client = rds.get(region);
  if (client === undefined) {
    client = new RDSClient({ region });
    rds.set(region, client);
  }
  return client;
}

export async function handler(
  event: unknown,
): Promise<FailoverPlan | PromotionRound | { generation: number; retired: OpenableMember[] }> {
  return runStep(instrumentation, async () => {
    const input = parseInput(failoverControlEventSchema, event);
    switch (input.mode) {
      case 'plan': {
        const { region, names } = topologyLocation();
        ssm ??= new SSMClient({ region });
        sfn ??= new SFNClient({});
        const { DR_REGIONS: regions } = parseEnvironment(environmentSchema);
        const plan = await planFailover({ ssm, sfn, rdsIn }, names, { ...input, regions });
        instrumentation.logger.info('failover planned', {
          generation: plan.generation,
          writer: plan.writer.instanceIdentifier,
          replica: plan.replica.instanceIdentifier,
          adopt: plan.adopt !== null,
        });
        return plan;
      }
      case 'retired': {
        const { region, names } = topologyLocation();
        ssm ??= new SSMClient({ region });
        const topology = await readTopology(ssm, names);
        return {
          generation: topology.generation,
          retired: topology.retired.map((m) => openable(m, input.secretId)),
        };
      }
      case 'promote': {
        const round = await advancePromotion(rdsIn(input.region), input);
        instrumentation.logger.info('promotion round', {
          ...round,
          instanceIdentifier: input.instanceIdentifier,
        });
        return round;
      }
    }
  });
}
