/**
 * The region failover's database steps, one handler with a mode per step (as the cutover step has):
 * - `assess`: refuse while another role-changing workflow or the drill runs, read the topology and measure
 *   what promoting the writer's replica now would lose;
 * - `retire`: retire the former writer if it answers (it may not: its region may be gone; then it is retired
 *   when it comes back);
 * - `promote`: one round of promoting the replica (the workflow repeats it, waiting between rounds);
 * - `open`: open the promoted writer (what its former writer's retirement left set, replayed) and check that
 *   it takes writes.
 * The topology itself is changed by the topology step (`mode: failover`), and DNS by the DNS flip.
 */
import { RDSClient } from '@aws-sdk/client-rds';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { databaseRefSchema, lambdaResolver } from '../shared/database';
import { awsRegion, rdsInstanceIdentifier } from '../shared/schemas';
import { parseInput, runStep, stepInstrumentation } from '../shared/step';
import { topologyMember } from '../shared/topology';
import { topologyLocation } from '../shared/topology-location';
import { assessFailover, memberRef, type FailoverAssessment } from './assess';
import { advancePromotion, type PromotionRound } from './promote';
import { openPromoted, type OpenedWriter } from './open-writer';
import { retireIfReachable, type RetireResult } from './retire-writer';

const secretId = databaseRefSchema.shape.secretId;
const databaseName = databaseRefSchema.shape.database.unwrap();
const stateMachineArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/, {
    error: 'must be a state machine ARN',
  });
/** A member as the assessment returns it: the secret that opens it settled. */
const openableMember = topologyMember.extend({ secretId });

export const failoverEventSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('assess'),
    /** Opens a member whose topology entry names no secret of its own. */
    secretId,
    database: databaseName.default('postgres'),
    limits: z.strictObject({
      maxBytesBehind: z
        .int()
        .min(0)
        .max(1024 ** 4),
      maxSecondsSinceLastReplay: z.int().min(0).max(86_400),
    }),
    force: z.boolean().default(false),
    writerConnectTimeoutMs: z.int().min(500).max(30_000).default(5_000),
    exclusiveWith: z.array(stateMachineArn).max(10),
    ownExecutionArn: z.string().min(1).max(2048),
  }),
  z.strictObject({
    mode: z.literal('retire'),
    /** The former writer (from the assessment). */
    member: openableMember,
    connectTimeoutMs: z.int().min(500).max(30_000).default(5_000),
  }),
  z.strictObject({
    mode: z.literal('promote'),
    instanceIdentifier: rdsInstanceIdentifier,
    /** The replica's region: the promotion is asked of RDS there. */
    region: awsRegion,
    backupRetentionPeriod: z.int().min(1).max(35),
  }),
  z.strictObject({
    mode: z.literal('open'),
    /** The promoted replica (from the assessment). */
    member: openableMember,
  }),
]);
export type FailoverEvent = z.input<typeof failoverEventSchema>;

const instrumentation = stepInstrumentation('failover');
let ssm: SSMClient | undefined;
let sfn: SFNClient | undefined;
const rds = new Map<string, RDSClient>();

export async function handler(
  event: unknown,
): Promise<FailoverAssessment | RetireResult | PromotionRound | OpenedWriter> {
  return runStep(instrumentation, async () => {
    const input = parseInput(failoverEventSchema, event);
    switch (input.mode) {
      case 'assess': {
        const { region, names } = topologyLocation();
        ssm ??= new SSMClient({ region });
        sfn ??= new SFNClient({});
        const assessment = await assessFailover({ ssm, sfn, resolve: lambdaResolver() }, names, input);
        instrumentation.logger.info('failover assessed', {
          generation: assessment.generation,
          writerReachable: assessment.writerReachable,
          window: assessment.window.summary,
        });
        return assessment;
      }
      case 'retire': {
        const settings = await lambdaResolver()(memberRef(input.member, 'postgres'));
        const result = await retireIfReachable(settings, input.connectTimeoutMs);
        instrumentation.logger.info('former writer', {
          instanceIdentifier: input.member.instanceIdentifier,
          ...result,
        });
        return result;
      }
      case 'promote': {
        let client = rds.get(input.region);
        if (client === undefined) {
          client = new RDSClient({ region: input.region });
          rds.set(input.region, client);
        }
        const round = await advancePromotion(client, input);
        instrumentation.logger.info('promotion round', {
          ...round,
          instanceIdentifier: input.instanceIdentifier,
        });
        return round;
      }
      case 'open': {
        const settings = await lambdaResolver()(memberRef(input.member, 'postgres'));
        const opened = await openPromoted(settings);
        instrumentation.logger.info('promoted writer opened', {
          instanceIdentifier: input.member.instanceIdentifier,
          ...opened,
        });
        return opened;
      }
    }
  });
}
