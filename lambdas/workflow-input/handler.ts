import { Route53Client } from '@aws-sdk/client-route-53';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { hostedZoneProblem } from '../shared/hosted-zone';
import { blueGreenInputSchema } from './schema';

const instrumentation = stepInstrumentation('validate-input');
// Route 53 is global: its API signs for us-east-1 whatever the function's region.
let route53: Route53Client | undefined;

/**
 * First state of the workflow: rejects a malformed execution input as InvalidInput (naming the fields) before
 * any database is touched, and before a later state could fail on a missing path unnotified. Then the one
 * thing the input alone cannot say: the hosted zone must be public (the flip confirms its answer with
 * TestDNSAnswer, which refuses private zones), refused as UnsupportedHostedZone before anything changes.
 */
export async function handler(event: unknown): Promise<{ valid: true }> {
  return runStep(instrumentation, async () => {
    const input = parseInput(blueGreenInputSchema, event);
    route53 ??= new Route53Client({ region: 'us-east-1' });
    const problem = await hostedZoneProblem(route53, input.dns.hostedZoneId);
    if (problem !== undefined) throw new StepError('UnsupportedHostedZone', problem);
    return { valid: true as const };
  });
}
