import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { RESOURCE_PREFIX } from '../shared/patterns';
import { awsRegion } from '../shared/schemas';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { topologyParameterNames } from '../shared/topology-parameters';
import { recordRoles, topologyEventSchema, type TopologyRecorded } from './record';

const environmentSchema = z.object({
  /** Where the topology lives: the failover DNS stack's region. */
  TOPOLOGY_REGION: awsRegion,
  RESOURCE_PREFIX: z.string().regex(RESOURCE_PREFIX),
});

const instrumentation = stepInstrumentation('topology');
let ssm: SSMClient | undefined;

/** Records the roles a workflow has changed (cutover, DR rebuild) in the topology. */
export async function handler(event: unknown): Promise<TopologyRecorded> {
  return runStep(instrumentation, async () => {
    const input = parseInput(topologyEventSchema, event);
    const env = environmentSchema.safeParse(process.env);
    if (!env.success)
      throw new StepError(
        'StepMisconfigured',
        `missing topology location: ${env.error.issues.map((i) => i.path.join('.')).join(', ')}`,
      );
    ssm ??= new SSMClient({ region: env.data.TOPOLOGY_REGION });
    const recorded = await recordRoles(
      ssm,
      topologyParameterNames(env.data.RESOURCE_PREFIX),
      input,
      new Date(),
    );
    instrumentation.logger.info('topology recorded', { mode: input.mode, ...recorded });
    return recorded;
  });
}
