import type { DrConfig } from './config';

/** CloudWatch evaluates alarms on standard-resolution metrics (the only kind Route 53 accepts) once a minute. */
export const ALARM_PERIOD_SECONDS = 60;

export interface FailoverTerm {
  readonly what: string;
  readonly seconds: number;
  readonly why: string;
}

export interface FailoverTiming {
  /** Primary database stops answering → its health check (and the PRIMARY record) is unhealthy. */
  readonly databaseDetection: readonly FailoverTerm[];
  /** Sidecar endpoint fails → its HTTPS check is unhealthy (only with a sidecar URL). */
  readonly sidecarDetection: readonly FailoverTerm[] | undefined;
  /** Record's health check unhealthy → every client resolves the secondary. */
  readonly dnsSwitch: readonly FailoverTerm[];
  readonly worstCaseDatabaseFailoverSeconds: number;
  readonly worstCaseSidecarFailoverSeconds: number | undefined;
  readonly worstCaseDnsSwitchSeconds: number;
}

const total = (terms: readonly FailoverTerm[]) => terms.reduce((sum, term) => sum + term.seconds, 0);

/**
 * Worst-case failover arithmetic from the configuration. Route 53's own delay between a health check turning
 * unhealthy and its name servers answering differently is not published; the drill measures it.
 */
export function failoverTiming(config: DrConfig): FailoverTiming {
  const hc = config.healthCheck;
  const databaseDetection: FailoverTerm[] = [
    { what: 'next probe starts', seconds: hc.probeIntervalSeconds, why: 'healthCheck.probeIntervalSeconds' },
    { what: 'probe gives up', seconds: hc.probeTimeoutSeconds, why: 'healthCheck.probeTimeoutSeconds' },
    {
      what: 'alarm evaluates the failed minute(s)',
      seconds: hc.alarmEvaluationPeriods * ALARM_PERIOD_SECONDS,
      why: `healthCheck.alarmEvaluationPeriods × ${ALARM_PERIOD_SECONDS} s (standard resolution)`,
    },
  ];
  const sidecarDetection =
    config.sidecarHealthUrl === undefined
      ? undefined
      : [
          {
            what: 'Route 53 checkers see consecutive failures',
            seconds: hc.requestIntervalSeconds * hc.failureThreshold,
            why: 'healthCheck.requestIntervalSeconds × healthCheck.failureThreshold',
          },
        ];
  const dnsSwitch: FailoverTerm[] = [
    { what: 'cached answers expire', seconds: config.recordTtlSeconds, why: 'recordTtlSeconds' },
  ];
  return {
    databaseDetection,
    sidecarDetection,
    dnsSwitch,
    worstCaseDatabaseFailoverSeconds: total(databaseDetection) + total(dnsSwitch),
    worstCaseSidecarFailoverSeconds:
      sidecarDetection === undefined ? undefined : total(sidecarDetection) + total(dnsSwitch),
    worstCaseDnsSwitchSeconds: total(dnsSwitch),
  };
}
