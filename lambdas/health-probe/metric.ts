/** Names shared by the probe Lambda (which emits) and the CDK app (which alarms on them). */
export const HEALTH_PROBE_NAMESPACE = 'PostgresDR';
export const HEALTH_PROBE_SERVICE = 'dr-health-probe';
export const REACHABLE_METRIC = 'DatabaseReachable';
export const LATENCY_METRIC = 'ProbeLatency';
/** Dimension naming which side of the DR pair was probed. */
export const DATABASE_DIMENSION = 'Database';
export type DatabaseRole = 'primary' | 'replica';
