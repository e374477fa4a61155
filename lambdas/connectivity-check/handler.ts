import { z } from 'zod';
import { databaseRefSchema, lambdaResolver } from '../shared/database';
import { parseInput, runStep, stepInstrumentation } from '../shared/step';
import { checkConnectivity, type ConnectivityReport } from './check';

export const connectivityEventSchema = z.strictObject({
  /** Names the database in results and messages. */
  label: z.enum(['blue', 'green', 'primary', 'replica']),
  database: databaseRefSchema,
  expect: z.enum(['writable', 'primary', 'any']).default('any'),
  timeoutMs: z.number().int().min(500).max(30_000).default(5_000),
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
    });
    instrumentation.logger.info('database reached', {
      label: input.label,
      role: report.role,
      version: report.serverVersion,
    });
    return { label: input.label, ...report };
  });
}
