import { z } from 'zod';
import { RESOURCE_PREFIX } from './patterns';
import { RoutableError } from './routable-error';
import { awsRegion } from './schemas';
import { topologyParameterNames, type TopologyParameterNames } from './topology-parameters';

const environmentSchema = z.object({
  /** Where the topology lives: the failover DNS stack's region. */
  TOPOLOGY_REGION: awsRegion,
  RESOURCE_PREFIX: z.string().regex(RESOURCE_PREFIX),
});

/** Where a step finds the topology: the region and parameter names CDK puts in its environment. */
export function topologyLocation(env: NodeJS.ProcessEnv = process.env): {
  readonly region: string;
  readonly names: TopologyParameterNames;
} {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success)
    throw new RoutableError(
      'StepMisconfigured',
      `missing topology location: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  return {
    region: parsed.data.TOPOLOGY_REGION,
    names: topologyParameterNames(parsed.data.RESOURCE_PREFIX),
  };
}
