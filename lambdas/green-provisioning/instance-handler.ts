import { RDSClient } from '@aws-sdk/client-rds';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { asRdsRetryable } from '../shared/aws-retryable';
import { databaseName, hostName, rdsInstanceIdentifier } from '../shared/schemas';
import { parseEnvironment, parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { readTopology } from '../shared/topology';
import { topologyLocation } from '../shared/topology-location';
import { createGreenInstance, greenInstanceProgress, type GreenInstanceProgress } from './green-instance';

/** The instance side: create green like blue (with its secret), then follow RDS until it is available. */
export const greenInstanceEventSchema = z.strictObject({
  mode: z.enum(['create', 'progress']),
  blueInstanceIdentifier: rdsInstanceIdentifier,
  greenInstanceIdentifier: rdsInstanceIdentifier,
  database: databaseName,
  /** Blue's endpoint as the migration names it: the instance described must be that one. */
  blueEndpoint: hostName.optional(),
});

const instanceInstrumentation = stepInstrumentation('green-instance');

const jsonRecord = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not JSON' });
    return z.NEVER;
  }
});

const instanceEnvironment = z.object({
  AWS_REGION: z.string().min(1),
  RESOURCE_PREFIX: z.string().min(1),
  SECRET_NAME_PREFIX: z.string().min(1),
  /** The secrets key of each region (JSON object, region to key ARN): green's secret and its replica. */
  SECRET_KEYS: jsonRecord.pipe(z.record(z.string(), z.string().min(1))),
  /** The deployed RDS data keys (JSON array): blue's must be one, and green gets it. */
  DATA_KEYS: jsonRecord.pipe(z.array(z.string().min(1)).min(1)),
});

const rdsIn = new Map<string, RDSClient>();
let ssm: SSMClient | undefined;
let secrets: SecretsManagerClient | undefined;

/**
 * The instance steps of provisioning green: `create` makes green like the topology's writer (blue must be it),
 * with its master secret under the migration's prefix; `progress` follows RDS until green is available.
 */
export async function greenInstanceHandler(event: unknown): Promise<GreenInstanceProgress> {
  return runStep(instanceInstrumentation, async () => {
    const input = parseInput(greenInstanceEventSchema, event);
    const env = parseEnvironment(instanceEnvironment);
    const located = topologyLocation();
    ssm ??= new SSMClient({ region: located.region });
    const topology = await readTopology(ssm, located.names);
    if (topology.writer.instanceIdentifier !== input.blueInstanceIdentifier)
      throw new StepError(
        'BlueNotTheWriter',
        `blue ${input.blueInstanceIdentifier} is not the writer the topology names (${topology.writer.instanceIdentifier}): green is made from the writer`,
      );
    const prefix = `${env.RESOURCE_PREFIX}-green-`;
    if (!input.greenInstanceIdentifier.startsWith(prefix))
      throw new StepError(
        'InvalidInput',
        `invalid input: greenInstanceIdentifier must start with ${prefix} (the workflow may create only those)`,
      );
    const region = topology.writer.region;
    const here = env.AWS_REGION;
    const rds = rdsIn.get(region) ?? new RDSClient({ region });
    rdsIn.set(region, rds);
    secrets ??= new SecretsManagerClient({ region: here });
    const keyHere = env.SECRET_KEYS[here];
    if (keyHere === undefined) throw new StepError('StepMisconfigured', `SECRET_KEYS has no key for ${here}`);
    const request = {
      blueIdentifier: input.blueInstanceIdentifier,
      greenIdentifier: input.greenInstanceIdentifier,
      database: input.database,
      ...(input.blueEndpoint === undefined ? {} : { blueEndpoint: input.blueEndpoint }),
      secret: {
        name: `${env.SECRET_NAME_PREFIX}${input.greenInstanceIdentifier}`,
        kmsKeyId: keyHere,
        // Every other deployed region: the probes there read the writer's secret by name, locally.
        replicas: Object.entries(env.SECRET_KEYS)
          .filter(([r]) => r !== here)
          .map(([r, kmsKeyId]) => ({ region: r, kmsKeyId })),
      },
      allowedKmsKeys: env.DATA_KEYS,
      provisionedBy: env.RESOURCE_PREFIX,
    };
    const progress = await (
      input.mode === 'create'
        ? createGreenInstance({ rds, secrets }, request)
        : greenInstanceProgress({ rds, secrets }, request)
    ).catch((error: unknown) => {
      throw asRdsRetryable(error);
    });
    instanceInstrumentation.logger.info('green instance', { ...progress });
    return progress;
  });
}
