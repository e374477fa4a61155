import { LambdaClient } from '@aws-sdk/client-lambda';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { DATABASE_ROLES } from '../health-probe/metric';
import { awsRegion } from '../shared/schemas';
import { runStep, StepError, stepInstrumentation } from '../shared/step';
import { probeTargets, readTopology } from '../shared/topology';
import { topologyLocation } from '../shared/topology-location';
import { syncProbeTargets, type ProbeSyncResult } from './sync';

const environmentSchema = z.object({
  /** The probe functions, as JSON: `[{"role": "primary", "region": "us-west-2", "functionName": "…"}, …]`. */
  PROBES: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(
      z
        .array(
          z.strictObject({
            role: z.enum(DATABASE_ROLES),
            region: awsRegion,
            functionName: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
          }),
        )
        .min(1)
        .max(10),
    ),
  /** What a topology member without a port or secret of its own takes (the configured database). */
  DATABASE_PORT: z.coerce.number().int().min(1).max(65535),
  MASTER_SECRET_NAME: z.string().min(1).max(512),
});

const instrumentation = stepInstrumentation('probe-sync');
let ssm: SSMClient | undefined;
const lambdaClients = new Map<string, LambdaClient>();
const lambdaIn = (region: string) => {
  let client = lambdaClients.get(region);
  if (client === undefined) {
    client = new LambdaClient({ region });
    lambdaClients.set(region, client);
  }
  return client;
};

/**
 * Every minute: points each health probe at what the topology says it watches. Fails (so the function's
 * Errors alarm pages) when a probe could not be read or changed; the others are synced all the same.
 */
export async function handler(): Promise<ProbeSyncResult[]> {
  return runStep(instrumentation, async () => {
    const parsed = environmentSchema.safeParse(process.env);
    if (!parsed.success)
      throw new StepError(
        'StepMisconfigured',
        `invalid or missing environment variable(s) ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
      );
    const env = parsed.data;
    const { region, names } = topologyLocation();
    ssm ??= new SSMClient({ region });
    const topology = await readTopology(ssm, names);
    const targets = probeTargets(topology, { port: env.DATABASE_PORT, secretId: env.MASTER_SECRET_NAME });
    const results = await syncProbeTargets(lambdaIn, env.PROBES, targets);
    for (const result of results) {
      if (result.outcome === 'updated')
        instrumentation.logger.info('probe now watches the topology', { ...result });
      else if (result.outcome === 'failed') instrumentation.logger.error('probe not synced', { ...result });
    }
    const failed = results.filter((r) => r.outcome === 'failed');
    if (failed.length > 0)
      throw new StepError(
        'ProbeSyncFailed',
        failed
          .map((r) => `${r.role} probe ${r.functionName} in ${r.region}: ${r.error ?? 'failed'}`)
          .join('; '),
      );
    return results;
  });
}
