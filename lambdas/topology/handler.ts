import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { hostName } from '../shared/schemas';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { topologyLocation } from '../shared/topology-location';
import { recordRoles, topologyEventSchema, type TopologyRecorded } from './record';

const instrumentation = stepInstrumentation('topology');

/** The endpoint the PRIMARY record's health checks watch: the primary the first deploy created. */
function healthCheckedWriter(): string {
  const parsed = z.object({ HEALTH_CHECKED_WRITER: hostName }).safeParse(process.env);
  if (!parsed.success) throw new StepError('StepMisconfigured', 'missing HEALTH_CHECKED_WRITER');
  return parsed.data.HEALTH_CHECKED_WRITER;
}
let ssm: SSMClient | undefined;

/** Records the roles a workflow has changed (cutover, DR rebuild, failover) in the topology. */
export async function handler(event: unknown): Promise<TopologyRecorded> {
  return runStep(instrumentation, async () => {
    const input = parseInput(topologyEventSchema, event);
    const { region, names } = topologyLocation();
    ssm ??= new SSMClient({ region });
    const recorded = await recordRoles(ssm, names, input, new Date(), healthCheckedWriter());
    instrumentation.logger.info('topology recorded', { mode: input.mode, ...recorded });
    return recorded;
  });
}
