import type { DrConfig } from './config';

/** CloudWatch evaluates alarms on standard-resolution metrics (the only kind Route 53 accepts) once a minute. */
export const ALARM_PERIOD_SECONDS = 60;

export interface FailoverTerm {
  readonly what: string;
  readonly seconds: number;
  readonly why: string;
}

export interface FailoverTiming {
  /** Primary stops answering → the in-region probe's alarm, and so the PRIMARY check, is unhealthy. */
  readonly databaseDetection: readonly FailoverTerm[];
  /**
   * The same seen from the secondary region (the remote observer): the path that still works when the primary
   * region's own probe or CloudWatch is impaired by the regional event itself.
   */
  readonly remoteDetection: readonly FailoverTerm[];
  /**
   * Sidecar endpoint fails → its HTTPS check is unhealthy (only with a sidecar URL). It is one vote of three:
   * it moves production only with one database observer agreeing.
   */
  readonly sidecarDetection: readonly FailoverTerm[] | undefined;
  /** Record's health check unhealthy → every client resolves the secondary. */
  readonly dnsSwitch: readonly FailoverTerm[];
  /** Both database observers must see the primary down: the slower one decides. */
  readonly worstCaseDatabaseFailoverSeconds: number;
  readonly worstCaseDnsSwitchSeconds: number;
  /**
   * The longest outage of the primary that can never fail production over: a blip (a Multi-AZ failover, a
   * restart, a network hiccup) shorter than this leaves DNS alone. Each observer needs most probes of N
   * consecutive whole minutes to fail; an outage of (N - 1) minutes can at most make N - 1 whole minutes and
   * two half minutes fail, which is not N majorities. A probe's datapoint is stamped when it returns, up to
   * its timeout after it started, so an outage can reach into the next minute by that much. Counted for the
   * more eager observer, so it holds even while the other one is blind.
   */
  readonly toleratedOutageSeconds: number;
}

const total = (terms: readonly FailoverTerm[]) => terms.reduce((sum, term) => sum + term.seconds, 0);

function detection(periods: number, key: string): FailoverTerm[] {
  return [
    {
      what: 'rest of the minute the failure began in (it may not count: most of its probes can still succeed)',
      seconds: ALARM_PERIOD_SECONDS,
      why: `one ${ALARM_PERIOD_SECONDS} s alarm period`,
    },
    {
      what: 'whole minutes in which most probes fail',
      seconds: periods * ALARM_PERIOD_SECONDS,
      why: `healthCheck.${key} × ${ALARM_PERIOD_SECONDS} s (N of N, Average < 0.5)`,
    },
  ];
}

/**
 * Worst-case failover arithmetic from the configuration. Route 53's own delay between a health check turning
 * unhealthy and its name servers answering differently is not published; the drill measures it.
 */
export function failoverTiming(config: DrConfig): FailoverTiming {
  const hc = config.healthCheck;
  const databaseDetection = detection(hc.alarmEvaluationPeriods, 'alarmEvaluationPeriods');
  const remoteDetection = detection(hc.remoteAlarmEvaluationPeriods, 'remoteAlarmEvaluationPeriods');
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
    remoteDetection,
    sidecarDetection,
    dnsSwitch,
    worstCaseDatabaseFailoverSeconds:
      Math.max(total(databaseDetection), total(remoteDetection)) + total(dnsSwitch),
    worstCaseDnsSwitchSeconds: total(dnsSwitch),
    toleratedOutageSeconds:
      (Math.min(hc.alarmEvaluationPeriods, hc.remoteAlarmEvaluationPeriods) - 1) * ALARM_PERIOD_SECONDS -
      hc.probeTimeoutSeconds,
  };
}
