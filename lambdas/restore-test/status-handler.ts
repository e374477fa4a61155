import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { RDSClient } from '@aws-sdk/client-rds';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { RESTORE_TEST_METRICS, RESTORE_TEST_SERVICE } from '../shared/metric-names';
import { awsRegion } from '../shared/schemas';
import { parseEnvironment, runStep, stepInstrumentation } from '../shared/step';
import { readTopology } from '../shared/topology';
import { topologyLocation } from '../shared/topology-location';
import { hoursSinceLastSuccess } from '../shared/workflow-freshness';
import { restoreTestFigures } from './figures';
import { backupAge, type BackupAge } from './backups';
import { sweepStaleRestoreTests, type ThrowawaySweep } from './throwaways';

const environmentSchema = z.object({
  RESTORE_TEST_STATE_MACHINE_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:.+$/),
  RESTORE_REGION: awsRegion,
  RESOURCE_PREFIX: z.string().min(1),
});

const instrumentation = stepInstrumentation('backup-status', RESTORE_TEST_SERVICE);
const figures = restoreTestFigures();
let clients: { sfn: SFNClient; rds: RDSClient } | undefined;
let ssm: SSMClient | undefined;

export interface BackupStatus {
  readonly restoreTest: { readonly hours: number; readonly since: string; readonly basis: string };
  readonly backup: BackupAge;
  readonly throwaways: ThrowawaySweep;
}

/**
 * Runs hourly in the DR region: deletes the throwaways of restore tests that ended without their last states
 * (and publishes how many it could not), and publishes the hours since a restore test last passed and the age
 * of the writer's newest restorable backup in this region, the figures the "no successful restore test" and
 * "backup stale" alarms watch (a monthly metric cannot be alarmed on directly). Fails, so its errors alarm
 * pages, when the topology or the backups cannot be read; BackupAge is then missing, which its alarm counts.
 */
export async function handler(): Promise<BackupStatus> {
  return runStep(instrumentation, async () => {
    const env = parseEnvironment(environmentSchema);
    clients ??= { sfn: new SFNClient({}), rds: new RDSClient({ region: env.RESTORE_REGION }) };
    const now = Date.now();
    const restoreTest = await hoursSinceLastSuccess(clients.sfn, env.RESTORE_TEST_STATE_MACHINE_ARN, now);
    figures.addMetric(RESTORE_TEST_METRICS.hoursSinceSuccess, MetricUnit.NoUnit, restoreTest.hours);
    figures.publishStoredMetrics();
    const located = topologyLocation();
    // Throwaways of tests that ended without their last states (stopped, timed out): deleted here.
    const throwaways = await sweepStaleRestoreTests(clients.rds, env.RESOURCE_PREFIX, now);
    figures.addMetric(RESTORE_TEST_METRICS.throwawaysLeft, MetricUnit.Count, throwaways.failed.length);
    figures.publishStoredMetrics();
    if (throwaways.failed.length > 0)
      instrumentation.logger.warn('throwaways of ended tests not deleted', { ...throwaways });
    ssm ??= new SSMClient({ region: located.region });
    const topology = await readTopology(ssm, located.names);
    const backup = await backupAge(clients.rds, topology.writer, env.RESTORE_REGION, now);
    figures.addMetric(RESTORE_TEST_METRICS.backupAge, MetricUnit.Seconds, backup.seconds);
    figures.publishStoredMetrics();
    instrumentation.logger.info('backup status', { restoreTest, backup, throwaways });
    return { restoreTest, backup, throwaways };
  });
}
