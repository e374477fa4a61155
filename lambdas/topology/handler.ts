import { SSMClient } from '@aws-sdk/client-ssm';
import { parseInput, runStep, stepInstrumentation } from '../shared/step';
import { topologyLocation } from '../shared/topology-location';
import { recordRoles, topologyEventSchema, type TopologyRecorded } from './record';

const instrumentation = stepInstrumentation('topology');

let ssm: SSMClient | undefined;

/** Records the roles a workflow has changed (cutover, DR rebuild, failover) in the topology. */
export async function handler(event: unknown): Promise<TopologyRecorded> {
  return runStep(instrumentation, async () => {
    const input = parseInput(topologyEventSchema, event);
    const { region, names } = topologyLocation();
    ssm ??= new SSMClient({ region });
    const recorded = await recordRoles(ssm, names, input, new Date());
    instrumentation.logger.info('topology recorded', { mode: input.mode, ...recorded });
    return recorded;
  });
}
