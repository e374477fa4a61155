import { z } from 'zod';
import { parseInput, runStep, stepInstrumentation } from '../../shared/step';
import {
  buildDrillReport,
  DRILL_SERVICE,
  drillMetrics,
  publishDrillMetrics,
  type DrillReport,
} from '../report';

const after = z.looseObject({ servedAfterMs: z.number() });
const replicated = z.looseObject({ replicatedAfterMs: z.number() });
const at = z.looseObject({ at: z.number() });

/** The drill's state as the workflow holds it; any result may be missing when the drill failed part-way. */
const drillStateSchema = z.looseObject({
  budgets: z.strictObject({
    serviceDisruptionSeconds: z.number(),
    dnsFailoverSeconds: z.number(),
    s3ReplicationSeconds: z.number(),
  }),
  inverted: at.optional(),
  restored: at.optional(),
  restoredAfterFailure: at.optional(),
  failover: z
    .looseObject({ observedAfterMs: z.number(), leftPreviousAfterMs: z.number().nullable() })
    .optional(),
  secondaryReads: after.optional(),
  failback: z.looseObject({ observedAfterMs: z.number() }).optional(),
  primaryWrites: after.optional(),
  replication: z.tuple([replicated, replicated]).optional(),
  failedStep: z.string().optional(),
  error: z.looseObject({ Error: z.string(), Cause: z.string().optional() }).optional(),
});

export const reportEventSchema = z.strictObject({
  outcome: z.enum(['completed', 'failed']),
  drill: drillStateSchema,
});

/** Step Functions wraps a Lambda failure's cause as JSON; keep only its message. */
function causeText(cause: string | undefined): string {
  if (cause === undefined) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}

const instrumentation = stepInstrumentation('drill-report', DRILL_SERVICE);
const figures = drillMetrics();

/** Last step, on every path: judges the figures against the budgets and publishes them as metrics. */
export async function handler(event: unknown): Promise<DrillReport> {
  return runStep(instrumentation, () => {
    const { outcome, drill } = parseInput(reportEventSchema, event);
    const report = buildDrillReport(
      {
        ...(drill.inverted === undefined ? {} : { invertedAt: drill.inverted.at }),
        ...(drill.restored === undefined ? {} : { restoredAt: drill.restored.at }),
        ...(drill.failover === undefined ? {} : { failover: drill.failover }),
        ...(drill.secondaryReads === undefined ? {} : { secondaryReads: drill.secondaryReads }),
        ...(drill.failback === undefined ? {} : { failback: drill.failback }),
        ...(drill.primaryWrites === undefined ? {} : { primaryWrites: drill.primaryWrites }),
        ...(drill.replication === undefined
          ? {}
          : { s3: drill.replication[0], heartbeat: drill.replication[1] }),
      },
      drill.budgets,
      outcome === 'failed'
        ? {
            step: drill.failedStep ?? 'unknown',
            error: drill.error?.Error ?? 'unknown',
            cause: causeText(drill.error?.Cause),
          }
        : undefined,
    );
    publishDrillMetrics(figures, report);
    instrumentation.logger.info('drill report', { outcome: report.outcome, figures: report.figures });
    return Promise.resolve(report);
  });
}
