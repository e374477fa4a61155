import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SFNClient } from '@aws-sdk/client-sfn';
import { runStep, StepError, stepInstrumentation } from '../../shared/step';
import { hoursSinceLastSuccess } from '../../shared/workflow-freshness';
import { DRILL_METRICS, DRILL_SERVICE, drillMetrics } from '../report';

const instrumentation = stepInstrumentation('drill-freshness', DRILL_SERVICE);
const figures = drillMetrics();
let sfn: SFNClient | undefined;

/**
 * Runs hourly: publishes how long ago the drill last succeeded. A CloudWatch alarm cannot look back 8 days at
 * a weekly metric (evaluation ranges stop at 7), so the "no successful drill" alarm watches this figure.
 */
export async function handler(): Promise<{ hours: number; since: string; basis: string }> {
  return runStep(instrumentation, async () => {
    const arn = process.env.DRILL_STATE_MACHINE_ARN;
    if (arn === undefined || arn === '')
      throw new StepError('Misconfigured', 'DRILL_STATE_MACHINE_ARN is not set');
    sfn ??= new SFNClient({});
    const result = await hoursSinceLastSuccess(sfn, arn, Date.now());
    figures.addMetric(DRILL_METRICS.hoursSinceSuccess, MetricUnit.NoUnit, result.hours);
    figures.publishStoredMetrics();
    instrumentation.logger.info('drill freshness', result);
    return result;
  });
}
