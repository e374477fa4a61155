import { RDSClient } from '@aws-sdk/client-rds';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { asRdsRetryable } from '../shared/aws-retryable';
import { WAY_BACK_WINDOW_HOURS_MAX } from '../shared/provisioning-tags';
import { rdsInstanceIdentifier } from '../shared/schemas';
import { parseEnvironment, parseInput, runStep, stepInstrumentation } from '../shared/step';
import { readTopology } from '../shared/topology';
import { topologyLocation } from '../shared/topology-location';
import { stopOlderRetirements } from './older-retirements';
import {
  advanceRetirement,
  finalSnapshotIdentifier,
  planRetirement,
  type RetirementPlan,
  type RetirementProgress,
} from './retire-instance';

/** `plan` when the retirement starts; `advance` once the window has closed, each round until retired. */
export const retirementInstanceEventSchema = z.strictObject({
  mode: z.enum(['plan', 'advance']),
  instanceIdentifier: rdsInstanceIdentifier,
  /** The execution's start ($$.Execution.StartTime): the window and the snapshot's name count from it. */
  startedAt: z.iso.datetime({ offset: true }),
  /** `dr migrate finish`: no window. */
  now: z.boolean().default(false),
  /** This execution ($$.Execution.Id): `plan` stops older retirements of the same instance that still wait. */
  executionArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/, {
      error: 'must be a Step Functions execution ARN',
    }),
});

/** What the config decided at synth (blueGreen.retireBlue, blueGreen.wayBackWindowHours). */
const retirementEnvironment = z.object({
  RESOURCE_PREFIX: z.string().min(1),
  /** Blue's own secret is `<SECRET_NAME_PREFIX><blue>` (green provisioning names it so). */
  SECRET_NAME_PREFIX: z.string().min(1),
  RETIRE_ACTION: z.enum(['delete', 'stop']),
  WAY_BACK_WINDOW_HOURS: z.coerce.number().int().min(1).max(WAY_BACK_WINDOW_HOURS_MAX),
});

const instrumentation = stepInstrumentation('blue-retirement');
const rdsIn = new Map<string, RDSClient>();
let ssm: SSMClient | undefined;
let sfn: SFNClient | undefined;
let secrets: SecretsManagerClient | undefined;

function rdsClient(region: string): RDSClient {
  const client = rdsIn.get(region) ?? new RDSClient({ region });
  rdsIn.set(region, client);
  return client;
}

/**
 * The instance side of retiring blue: `plan` says when the window closes and whether blue may be deleted or
 * stopped (only what green provisioning made); `advance` does it, one idempotent round at a time. Both refuse
 * an instance the topology names.
 */
export async function retirementInstanceHandler(
  event: unknown,
): Promise<RetirementPlan | RetirementProgress> {
  return runStep(instrumentation, async () => {
    const input = parseInput(retirementInstanceEventSchema, event);
    const env = parseEnvironment(retirementEnvironment);
    const located = topologyLocation();
    ssm ??= new SSMClient({ region: located.region });
    const topology = await readTopology(ssm, located.names);
    // Blue was the writer until the cutover, which keeps the writer's region: it is there.
    const region = topology.writer.region;
    const startedAt = new Date(input.startedAt);
    const request = {
      instance: input.instanceIdentifier,
      topology,
      prefix: env.RESOURCE_PREFIX,
      action: env.RETIRE_ACTION,
    };
    const result = await (
      input.mode === 'plan'
        ? planRetirement(rdsClient, {
            ...request,
            region,
            windowHours: env.WAY_BACK_WINDOW_HOURS,
            startedAt,
            now: input.now,
          })
        : advanceRetirement(rdsClient, {
            ...request,
            region,
            secret: {
              client: (secrets ??= new SecretsManagerClient({})),
              name: `${env.SECRET_NAME_PREFIX}${input.instanceIdentifier}`,
            },
            snapshotIdentifier: finalSnapshotIdentifier(input.instanceIdentifier, startedAt),
          })
    ).catch((error: unknown) => {
      throw asRdsRetryable(error);
    });
    if (input.mode === 'plan') {
      sfn ??= new SFNClient({});
      const superseded = await stopOlderRetirements(sfn, {
        executionArn: input.executionArn,
        startedAt,
        instance: input.instanceIdentifier,
      });
      if (superseded.length > 0)
        instrumentation.logger.info('older retirements of the same instance stopped', { superseded });
    }
    instrumentation.logger.info(`blue retirement ${input.mode}`, { ...result });
    return result;
  });
}
