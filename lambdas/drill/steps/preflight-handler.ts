import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { parseInput, runStep, StepError, stepInstrumentation } from '../../shared/step';
import { topologyLocation } from '../../shared/topology-location';
import { drillInputSchema, type DrillInput } from '../input';
import { ROUTE53_METRICS_REGION } from '../../shared/health-check-status';
import { checkControlPlane, type DrilledRoles } from '../preflight';
import { DRILL_SERVICE } from '../report';

const eventSchema = z.strictObject({
  drill: drillInputSchema,
  executionArn: z.string().min(1).max(256).optional(),
});

const instrumentation = stepInstrumentation('drill-preflight', DRILL_SERVICE);
let clients:
  { route53: Route53Client; sfn: SFNClient; cloudwatch: CloudWatchClient; ssm: SSMClient } | undefined;

/** What the drill drills (the later states read it), with the migration dry run pointed at the writer. */
export type Drilled = DrilledRoles & { readonly migrationDryRun?: DrillInput['migrationDryRun'] };

/**
 * Drill step 1: validates the whole drill input, reads the roles to drill from the topology (its writer and
 * that writer's replica; refused at once, as PreflightRefused, when there are none to drill), then checks
 * Route 53 and Step Functions (a public zone, health checks healthy, the check to invert neither inverted nor
 * held, DNS answering the writer, no other drill or migration running). Returns the roles and the problems
 * found; the database preflight adds its own and refuses if there are any.
 */
export async function handler(event: unknown): Promise<{ problems: readonly string[]; drilled: Drilled }> {
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
      database: drill.database,
      exclusiveWith: drill.exclusiveWith,
      topology: topology.names,
      ...(executionArn === undefined ? {} : { ownExecutionArn: executionArn }),
    });
    instrumentation.logger.info('control plane checked', { problems: report.problems, roles: report.roles });
    if (report.roles === undefined)
      throw new StepError('PreflightRefused', `refusing to start the drill: ${report.problems.join('; ')}`);
    const { roles } = report;
    const dryRun = drill.migrationDryRun;
    return {
      problems: report.problems,
      drilled: {
        ...roles,
        // Plans against the writer the topology names: blue and green are both it.
        ...(dryRun === undefined
          ? {}
          : { migrationDryRun: { ...dryRun, blue: roles.primary, green: roles.primary } }),
      },
    };
  });
}
