import type { Route53Client } from '@aws-sdk/client-route-53';
import { RoutableError } from '../shared/routable-error';

export class DrillError extends RoutableError<
  | 'HealthCheckUpdateFailed'
  | 'HealthCheckHeld'
  | 'FailoverNotObserved'
  | 'FailbackNotObserved'
  | 'HealthCheckUnhealthy'
> {}

export interface DrillDependencies {
  readonly route53: Pick<Route53Client, 'send'>;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export class ReplicationProbeError extends RoutableError<
  'HeartbeatNotReplicated' | 'S3ObjectNotReplicated' | 'S3ProbeRefused'
> {}
