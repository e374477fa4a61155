/** Names shared by the probe Lambda (which emits) and the CDK app (which alarms on them). */
import { METRICS_NAMESPACE } from '../shared/metric-names';

export const HEALTH_PROBE_NAMESPACE = METRICS_NAMESPACE;
export const HEALTH_PROBE_SERVICE = 'dr-health-probe';
export const REACHABLE_METRIC = 'DatabaseReachable';
export const LATENCY_METRIC = 'ProbeLatency';
/** 1 for a round whose database answered but the probe could not complete normally (no secret, auth, TLS). */
export const PROBE_ERRORS_METRIC = 'ProbeErrors';
/** Dimension naming which side of the DR pair was probed, and from where. */
export const DATABASE_DIMENSION = 'Database';
/**
 * `primary` and `replica` are probed from inside their own VPCs; `primary-remote` is the primary probed from
 * the secondary region over the peering, so a regional event that also silences the primary region's own
 * probe and CloudWatch is still seen.
 */
export const DATABASE_ROLES = ['primary', 'replica', 'primary-remote'] as const;
export type DatabaseRole = (typeof DATABASE_ROLES)[number];
