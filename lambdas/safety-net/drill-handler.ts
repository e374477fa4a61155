import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { z } from 'zod';
import { DRILL_SERVICE } from '../drill/report';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { restoreAfterAbnormalEnd, type DrillNetResult } from './drill';
import { statusChangeEventSchema } from './status-event';

const settingsSchema = z.object({
  DRILL_STATE_MACHINE_ARN: z.string().min(1),
  DRILL_HEALTH_CHECK_IDS: z.string().min(1),
  ON_CALL_TOPIC_ARN: z.string().min(1),
  INVERT_TIMEOUT_MS: z.coerce.number().int().min(0).max(900_000),
});

const instrumentation = stepInstrumentation('drill-safety-net', DRILL_SERVICE);
let clients: { sfn: SFNClient; route53: Route53Client; sns: SNSClient } | undefined;

function settings() {
  const parsed = settingsSchema.safeParse(process.env);
  if (!parsed.success)
    throw new StepError(
      'StepMisconfigured',
      `missing setting(s): ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  return parsed.data;
}

/**
 * EventBridge target for drill executions that end FAILED, TIMED_OUT or ABORTED (states the workflow's own
 * failure path may not have run for): restores the drill's health check when that execution left it inverted,
 * and tells on-call what it did.
 */
export async function handler(event: unknown): Promise<DrillNetResult> {
  return runStep(instrumentation, async () => {
    const { detail } = parseInput(statusChangeEventSchema, event);
    const env = settings();
    if (detail.stateMachineArn !== env.DRILL_STATE_MACHINE_ARN)
      throw new StepError('InvalidInput', 'invalid input: detail.stateMachineArn is not the failover drill');
    clients ??= {
      sfn: new SFNClient({}),
      route53: new Route53Client({ region: 'us-east-1' }),
      sns: new SNSClient({}),
    };
    const [healthCheckId = ''] = env.DRILL_HEALTH_CHECK_IDS.split(',');
    const result = await restoreAfterAbnormalEnd(clients, {
      executionArn: detail.executionArn,
      stateMachineArn: detail.stateMachineArn,
      healthCheckId,
      inFlightWaitMs: env.INVERT_TIMEOUT_MS,
    });
    instrumentation.logger.info('drill safety net', { ...result, status: detail.status });
    if (result.outcome !== 'nothing to undo')
      await clients.sns.send(
        new PublishCommand({
          TopicArn: env.ON_CALL_TOPIC_ARN,
          Subject:
            result.outcome === 'restored'
              ? 'Failover drill ended abnormally: safety net restored the health check'
              : 'Failover drill ended abnormally: health check left to the running drill',
          Message:
            result.outcome === 'restored'
              ? `Failover drill ${detail.name} ended ${detail.status} with health check ${healthCheckId} inverted; ` +
                'the safety net set it back to not inverted, so Route 53 answers from real health again.'
              : `Failover drill ${detail.name} ended ${detail.status} with health check ${healthCheckId} inverted, but ` +
                `drill ${result.runningDrills.join(', ')} is running and owns the check now; its own failure path and ` +
                'safety net restore it. If it does not, run dr drill restore.',
        }),
      );
    return result;
  });
}
