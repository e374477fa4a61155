/**
 * The region failover's database steps, one handler with a mode per step (as the cutover step has):
 * - `assess`: read the topology and measure what promoting the writer's replica now would lose;
 * - `retire`: retire the former writer if it answers (it may not: its region may be gone; then it is retired
 *   when it comes back);
 * - `promote`: one round of promoting the replica (the workflow repeats it, waiting between rounds).
 * The topology itself is changed by the topology step (`mode: failover`), and DNS by the DNS flip.
 */
import { RDSClient } from '@aws-sdk/client-rds';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { databaseRefSchema, lambdaResolver } from '../shared/database';
import { awsRegion, hostName, rdsInstanceIdentifier } from '../shared/schemas';
import { parseInput, runStep, stepInstrumentation } from '../shared/step';
import { topologyLocation } from '../shared/topology-location';
import { assessFailover, type FailoverAssessment } from './assess';
import { advancePromotion, type PromotionRound } from './promote';
import { retireIfReachable, type RetireResult } from './retire-writer';

const secretId = databaseRefSchema.shape.secretId;
const databaseName = databaseRefSchema.shape.database.unwrap();

export const failoverEventSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('assess'),
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
  }),
  z.strictObject({
    mode: z.literal('retire'),
    secretId,
    /** The former writer's endpoint (from the assessment). */
    host: hostName,
    connectTimeoutMs: z.int().min(500).max(30_000).default(5_000),
  }),
  z.strictObject({
    mode: z.literal('promote'),
    instanceIdentifier: rdsInstanceIdentifier,
    /** The replica's region: the promotion is asked of RDS there. */
    region: awsRegion,
    backupRetentionPeriod: z.int().min(1).max(35),
  }),
]);
export type FailoverEvent = z.input<typeof failoverEventSchema>;

const instrumentation = stepInstrumentation('failover');
let ssm: SSMClient | undefined;
const rds = new Map<string, RDSClient>();

export async function handler(event: unknown): Promise<FailoverAssessment | RetireResult | PromotionRound> {
  return runStep(instrumentation, async () => {
    const input = parseInput(failoverEventSchema, event);
    switch (input.mode) {
      case 'assess': {
        const { region, names } = topologyLocation();
        ssm ??= new SSMClient({ region });
        const assessment = await assessFailover({ ssm, resolve: lambdaResolver() }, names, input);
        instrumentation.logger.info('failover assessed', {
          generation: assessment.generation,
          writerReachable: assessment.writerReachable,
          window: assessment.window.summary,
        });
        return assessment;
      }
      case 'retire': {
        const settings = await lambdaResolver()({
          secretId: input.secretId,
          host: input.host,
          database: 'postgres',
        });
        const result = await retireIfReachable(settings, input.connectTimeoutMs);
        instrumentation.logger.info('former writer', { ...result });
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
    }
  });
}
