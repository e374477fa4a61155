import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { parseInput, runStep, stepInstrumentation } from '../../shared/step';
import { topologyLocation } from '../../shared/topology-location';
import { drillInputSchema } from '../input';
import { ROUTE53_METRICS_REGION } from '../checker-health';
import { checkControlPlane } from '../preflight';
import { DRILL_SERVICE } from '../report';

const eventSchema = z.strictObject({
  drill: drillInputSchema,
  executionArn: z.string().min(1).max(256).optional(),
});

const instrumentation = stepInstrumentation('drill-preflight', DRILL_SERVICE);
let clients:
  { route53: Route53Client; sfn: SFNClient; cloudwatch: CloudWatchClient; ssm: SSMClient } | undefined;

/**
 * Drill step 1: validates the whole drill input, then checks the topology and Route 53 and Step Functions (a
 * public zone, the topology's writer still the drilled primary, health checks healthy, the check to invert
 * neither inverted nor held, DNS answering the primary, no other drill or migration running). Returns the problems found; the
 * database preflight adds its own and refuses if there are any.
 */
export async function handler(event: unknown): Promise<{ problems: readonly string[] }> {
  return runStep(instrumentation, async () => {
    const { drill, executionArn } = parseInput(eventSchema, event);
    const topology = topologyLocation();
    clients ??= {
      route53: new Route53Client({ region: 'us-east-1' }),
      sfn: new SFNClient({}),
      cloudwatch: new CloudWatchClient({ region: ROUTE53_METRICS_REGION }),
      ssm: new SSMClient({ region: topology.region }),
    };
    const report = await checkControlPlane(clients, {
      healthCheckIds: drill.healthChecks.watch.map((w) => w.healthCheckId),
      invertHealthCheckId: drill.healthChecks.invert,
      dns: drill.dns,
      exclusiveWith: drill.exclusiveWith,
      topology: topology.names,
      ...(executionArn === undefined ? {} : { ownExecutionArn: executionArn }),
    });
    instrumentation.logger.info('control plane checked', { problems: report.problems });
    return report;
  });
}
