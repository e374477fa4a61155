import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, RESTORE_TEST_SERVICE } from '../shared/metric-names';

/**
 * The restore tests' figures (RESTORE_TEST_METRICS), with only the service dimension
 * (RESTORE_TEST_METRIC_DIMENSIONS): the alarms and the dashboard name them exactly.
 */
export function restoreTestFigures(): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: RESTORE_TEST_SERVICE });
}
