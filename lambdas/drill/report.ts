import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DRILL_METRICS, DRILL_SERVICE, METRICS_NAMESPACE } from '../shared/metric-names';

export { DRILL_METRIC_DIMENSIONS, DRILL_METRICS, DRILL_SERVICE } from '../shared/metric-names';

export function drillMetrics(): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: DRILL_SERVICE });
}

export interface DrillBudgets {
  readonly serviceDisruptionSeconds: number;
  readonly dnsFailoverSeconds: number;
  readonly s3ReplicationSeconds: number;
}

/** What the steps returned; any of it may be missing when the drill failed part-way. */
export interface DrillResults {
  readonly invertedAt?: number;
  readonly restoredAt?: number;
  readonly failover?: { observedAfterMs: number; leftPreviousAfterMs: number | null };
  readonly secondaryReads?: { servedAfterMs: number };
  readonly failback?: { observedAfterMs: number };
  readonly primaryWrites?: { servedAfterMs: number };
  readonly s3?: { replicatedAfterMs: number };
  readonly heartbeat?: { replicatedAfterMs: number };
}

/** Figures in seconds (one decimal); null when the drill did not get that far. */
export interface DrillFigures {
  /** Inversion → Route 53 stops answering the primary. */
  readonly detectionSeconds: number | null;
  /** Inversion → Route 53 answers the secondary. */
  readonly dnsFailoverSeconds: number | null;
  /** Inversion → a client resolving the record reads from the secondary. */
  readonly serviceDisruptionSeconds: number | null;
  /** Restore → Route 53 answers the primary. */
  readonly dnsFailbackSeconds: number | null;
  /** Route 53 answering the secondary → the primary accepts writes through the record again: the drill's cost. */
  readonly writeOutageSeconds: number | null;
  readonly s3ReplicationSeconds: number | null;
  /** Heartbeat written on the primary → visible on the replica: the data-loss window. */
  readonly databaseReplicationSeconds: number | null;
}

export interface DrillReport {
  readonly outcome: 'succeeded' | 'over-budget' | 'failed';
  readonly figures: DrillFigures;
  readonly budgets: DrillBudgets;
  /** One sentence per missed budget. */
  readonly overBudget: readonly string[];
  readonly summary: string;
}

const seconds = (ms: number | null | undefined) => (ms == null ? null : Math.round(ms / 100) / 10);

export function drillFigures(results: DrillResults): DrillFigures {
  const { invertedAt, restoredAt, failover, primaryWrites } = results;
  const writeOutageMs =
    invertedAt !== undefined &&
    restoredAt !== undefined &&
    failover !== undefined &&
    primaryWrites !== undefined
      ? restoredAt + primaryWrites.servedAfterMs - (invertedAt + failover.observedAfterMs)
      : null;
  return {
    detectionSeconds: seconds(failover?.leftPreviousAfterMs),
    dnsFailoverSeconds: seconds(failover?.observedAfterMs),
    serviceDisruptionSeconds: seconds(results.secondaryReads?.servedAfterMs),
    dnsFailbackSeconds: seconds(results.failback?.observedAfterMs),
    writeOutageSeconds: seconds(writeOutageMs),
    s3ReplicationSeconds: seconds(results.s3?.replicatedAfterMs),
    databaseReplicationSeconds: seconds(results.heartbeat?.replicatedAfterMs),
  };
}

const show = (value: number | null) => (value === null ? 'n/a' : `${value} s`);

/** Judges a drill against its budgets. A failed drill stays failed; a complete one is over budget if any figure is. */
export function buildDrillReport(
  results: DrillResults,
  budgets: DrillBudgets,
  failure?: { step: string; error: string; cause: string },
): DrillReport {
  const figures = drillFigures(results);
  const overBudget: string[] = [];
  const check = (what: string, value: number | null, budget: number) => {
    if (value !== null && value > budget) overBudget.push(`${what} ${value} s > ${budget} s budget`);
  };
  check('service disruption', figures.serviceDisruptionSeconds, budgets.serviceDisruptionSeconds);
  check('DNS failover', figures.dnsFailoverSeconds, budgets.dnsFailoverSeconds);
  check('S3 replication', figures.s3ReplicationSeconds, budgets.s3ReplicationSeconds);
  const outcome = failure !== undefined ? 'failed' : overBudget.length > 0 ? 'over-budget' : 'succeeded';
  const measured =
    `disruption ${show(figures.serviceDisruptionSeconds)}, DNS failover ${show(figures.dnsFailoverSeconds)}, ` +
    `DNS failback ${show(figures.dnsFailbackSeconds)}, write outage ${show(figures.writeOutageSeconds)}, ` +
    `S3 replication ${show(figures.s3ReplicationSeconds)}, database replication ${show(figures.databaseReplicationSeconds)}`;
  const summary =
    outcome === 'failed'
      ? `failed at ${failure?.step ?? '?'}: ${failure?.error ?? '?'} (${failure?.cause ?? ''}); measured: ${measured}`
      : outcome === 'over-budget'
        ? `over budget: ${overBudget.join('; ')}; measured: ${measured}`
        : `within budget: ${measured}`;
  return { outcome, figures, budgets, overBudget, summary };
}

/** One EMF record per drill: every figure measured, and DrillSucceeded 1 or 0. */
export function publishDrillMetrics(metrics: Metrics, report: DrillReport): void {
  const f = report.figures;
  const figures: [string, number | null][] = [
    [DRILL_METRICS.serviceDisruption, f.serviceDisruptionSeconds],
    [DRILL_METRICS.detection, f.detectionSeconds],
    [DRILL_METRICS.dnsFailover, f.dnsFailoverSeconds],
    [DRILL_METRICS.dnsFailback, f.dnsFailbackSeconds],
    [DRILL_METRICS.writeOutage, f.writeOutageSeconds],
    [DRILL_METRICS.s3Replication, f.s3ReplicationSeconds],
    [DRILL_METRICS.databaseReplication, f.databaseReplicationSeconds],
  ];
  for (const [name, value] of figures) if (value !== null) metrics.addMetric(name, MetricUnit.Seconds, value);
  metrics.addMetric(DRILL_METRICS.succeeded, MetricUnit.Count, report.outcome === 'succeeded' ? 1 : 0);
  metrics.publishStoredMetrics();
}
