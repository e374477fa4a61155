import { z } from 'zod';
import { databaseRefSchema, lambdaResolver } from '../shared/database';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { checkConnectivity, type ConnectivityReport } from './check';
import { describeProblems } from './replication-readiness';

export const connectivityEventSchema = z.strictObject({
  /** Names the database in results and messages. */
  label: z.enum(['blue', 'green', 'primary', 'replica']),
  database: databaseRefSchema,
  expect: z.enum(['writable', 'primary', 'any']).default('any'),
  timeoutMs: z.number().int().min(500).max(30_000).default(5_000),
  /**
   * Blue: check what logical replication would refuse or not carry (replica identities, unlogged tables,
   * tables left out of the publication, publish settings, large objects). Refused as ReplicationNotReady once
   * blue publishes (the workflow will replicate); before any publication the problems are reported.
   */
  replicationReadiness: z.boolean().default(false),
  /**
   * A rollback: blue's way back publishes only the columns the previous writer has (a column list), on
   * purpose. Row filters are still refused.
   */
  columnListsAllowed: z.boolean().default(false),
});
export type ConnectivityEvent = z.input<typeof connectivityEventSchema>;

export interface ConnectivityResult extends ConnectivityReport {
  readonly label: string;
}

const instrumentation = stepInstrumentation('connectivity-check');
/** Step 1 of a blue-green migration: can we reach this database, and what is it? */
export async function handler(event: unknown): Promise<ConnectivityResult> {
  return runStep(instrumentation, async () => {
    const input = parseInput(connectivityEventSchema, event);
    const settings = await lambdaResolver()(input.database);
    const report = await checkConnectivity(settings, {
      timeoutMs: input.timeoutMs,
      expect: input.expect,
      label: input.label,
      replicationReadiness: input.replicationReadiness,
      columnListsAllowed: input.columnListsAllowed,
    });
    const readiness = report.replicationReadiness;
    if (readiness !== undefined && readiness.problems.length > 0) {
      const message =
        `${input.label} is not ready for logical replication (${readiness.problems.length} problem(s); ` +
        `docs/blue-green-workflow.md, Preparing green):\n${describeProblems(readiness.problems)}`;
      if (readiness.publications.length > 0) throw new StepError('ReplicationNotReady', message);
      instrumentation.logger.warn('not ready for logical replication (nothing published yet)', {
        problems: readiness.problems,
      });
    }
    instrumentation.logger.info('database reached', {
      label: input.label,
      role: report.role,
      version: report.serverVersion,
    });
    return { label: input.label, ...report };
  });
}
