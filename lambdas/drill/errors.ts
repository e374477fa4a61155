import type { Route53Client } from '@aws-sdk/client-route-53';

export class DrillError extends Error {
  constructor(
    name:
      | 'HealthCheckUpdateFailed'
      | 'HealthCheckHeld'
      | 'FailoverNotObserved'
      | 'FailbackNotObserved'
      | 'HealthCheckUnhealthy',
    message: string,
  ) {
    super(message);
    this.name = name;
  }
}

export interface DrillDependencies {
  readonly route53: Pick<Route53Client, 'send'>;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export class ReplicationProbeError extends Error {
  constructor(name: 'HeartbeatNotReplicated' | 'S3ObjectNotReplicated' | 'S3ProbeRefused', message: string) {
    super(message);
    this.name = name;
  }
}
