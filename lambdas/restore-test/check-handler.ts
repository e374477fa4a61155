import { z } from 'zod';
import { databaseName, hostName } from '../shared/schemas';
import { databaseRefSchema } from '../shared/database';
import { lambdaSecretVersions } from '../shared/secret-versions';
import { RESTORE_TEST_SERVICE } from '../shared/metric-names';
import { parseEnvironment, parseInput, runStep, stepInstrumentation } from '../shared/step';
import { checkRestoredInstance, readReference, type RestoredInstanceReport } from './check';

const port = z.number().int().min(1).max(65535);

export const restoreCheckEventSchema = z.strictObject({
  /** The restored instance, as the advance step saw it available. */
  restored: z.strictObject({ host: hostName, port }),
  /** The secret that opens the instance the backup is of (and so its restored copy). */
  secretId: databaseRefSchema.shape.secretId,
  /** A live copy of the source in this region to compare with (restoreTestSubject), or null. */
  live: z
    .strictObject({
      name: z.string().min(1).max(200),
      host: hostName,
      port,
      secretId: databaseRefSchema.shape.secretId,
    })
    .nullable(),
});

const environmentSchema = z.object({ DATABASE_NAME: databaseName });

const instrumentation = stepInstrumentation('restore-check', RESTORE_TEST_SERVICE);

/**
 * Checks the restore test's throwaway instance from inside the DR region's VPC: it accepts a TLS connection
 * with its source's secret (the version before the last rotation if need be), holds the migrations and tables
 * of the live copy of its source in this region, and answers a smoke query. The report says which check
 * failed; the workflow deletes the instance either way.
 */
export async function handler(event: unknown): Promise<RestoredInstanceReport> {
  return runStep(instrumentation, async () => {
    const input = parseInput(restoreCheckEventSchema, event);
    const { DATABASE_NAME: database } = parseEnvironment(environmentSchema);
    const secrets = lambdaSecretVersions();
    const reference = await readReference(
      secrets.current,
      input.live === null
        ? undefined
        : {
            name: input.live.name,
            ref: { secretId: input.live.secretId, host: input.live.host, port: input.live.port, database },
          },
    );
    const report = await checkRestoredInstance(
      secrets,
      { secretId: input.secretId, host: input.restored.host, port: input.restored.port, database },
      reference,
    );
    instrumentation.logger.info('restore checked', { ok: report.ok, checks: report.checks });
    return report;
  });
}
