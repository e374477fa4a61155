import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { hostedZoneProblem } from '../shared/hosted-zone';
import { describeRunning, runningExecutions } from '../shared/running-workflows';
import { readTopology } from '../shared/topology';
import { topologyLocation } from '../shared/topology-location';
import { blueGreenInputSchema } from './schema';

let ssm: SSMClient | undefined;
let sfn: SFNClient | undefined;

/** The workflows a real cutover must not race (the drill, the region failover): EXCLUSIVE_WITH, ARNs. */
function exclusiveWith(): string[] {
  const value = process.env.EXCLUSIVE_WITH;
  if (value === undefined)
    throw new StepError(
      'StepMisconfigured',
      'missing EXCLUSIVE_WITH (the state machines a cutover must not race)',
    );
  return value.split(',').filter((arn) => arn !== '');
}

const instrumentation = stepInstrumentation('validate-input');
// Route 53 is global: its API signs for us-east-1 whatever the function's region.
let route53: Route53Client | undefined;

/**
 * First state of the workflow: rejects a malformed execution input as InvalidInput (naming the fields) before
 * any database is touched, and before a later state could fail on a missing path unnotified. Then what the
 * input alone cannot say: the hosted zone must be public (the flip confirms its answer with TestDNSAnswer,
 * which refuses private zones), refused as UnsupportedHostedZone; and, for a real cutover, blue must be the
 * writer the topology names, refused as BlueNotTheWriter (a cutover from any other database would move
 * production off its writer), before anything changes; and no drill or region failover may be running
 * (WorkflowRunning): a cutover must not race another change of roles or DNS. A dry run (the drill's own) skips
 * both.
 */
export async function handler(event: unknown): Promise<{ valid: true }> {
  return runStep(instrumentation, async () => {
    const input = parseInput(blueGreenInputSchema, event);
    route53 ??= new Route53Client({ region: 'us-east-1' });
    const problem = await hostedZoneProblem(route53, input.dns.hostedZoneId);
    if (problem !== undefined) throw new StepError('UnsupportedHostedZone', problem);
    if (!input.dryRun) {
      sfn ??= new SFNClient({});
      const running = await runningExecutions(sfn, exclusiveWith());
      if (running.length > 0)
        throw new StepError(
          'WorkflowRunning',
          `running: ${describeRunning(running)}; a cutover must not race it: let it end, then start again`,
        );
      const { region, names } = topologyLocation();
      ssm ??= new SSMClient({ region });
      const topology = await readTopology(ssm, names);
      const host = (h: string) => h.replace(/\.$/, '').toLowerCase();
      if (host(topology.writer.endpoint) !== host(input.blueEndpoint))
        throw new StepError(
          'BlueNotTheWriter',
          `blueEndpoint ${input.blueEndpoint} is not the writer the topology names ` +
            `(${topology.writer.instanceIdentifier}, ${topology.writer.endpoint}; generation ${topology.generation}, ` +
            `${topology.changedBy}): a cutover moves production off its writer only (dr status shows the topology)`,
        );
      // The instance retired when the way back's window closes must be this blue, the writer.
      if (
        input.blueInstanceIdentifier !== undefined &&
        input.blueInstanceIdentifier !== topology.writer.instanceIdentifier
      )
        throw new StepError(
          'BlueNotTheWriter',
          `blueInstanceIdentifier ${input.blueInstanceIdentifier} is not the writer the topology names ` +
            `(${topology.writer.instanceIdentifier}; generation ${topology.generation}): it is the instance retired ` +
            'when the way back closes, so it must be blue (--blue-instance-id)',
        );
    }
    return { valid: true as const };
  });
}
