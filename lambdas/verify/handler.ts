import { z } from 'zod';
import { readMigrationsFolder } from '../migrations/folder';
import { databaseRefSchema, lambdaResolver, withConnection } from '../shared/database';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { verifyGreen, type VerifyReport } from './verify';
import { SQL_IDENTIFIER as identifier, TABLE_NAME } from '../shared/patterns';

const tableName = z
  .string()
  .regex(TABLE_NAME, { error: 'must be table or schema.table (letters, digits, underscore)' });

export const verifyEventSchema = z.strictObject({
  green: databaseRefSchema,
  /** Optional: without blue, row counts and replication lag are not compared. */
  blue: databaseRefSchema.optional(),
  schema: z.string().regex(identifier, { error: 'must be a schema name' }).default('public'),
  requiredTables: z
    .array(
      z.strictObject({
        table: tableName,
        columns: z.array(z.string().regex(identifier, { error: 'must be a column name' })).max(200),
      }),
    )
    .max(200)
    .default([]),
  rowCounts: z
    .union([
      z.literal(false),
      z.strictObject({
        tolerance: z.number().min(0).max(1).default(0),
        tables: z.array(tableName).max(200).optional(),
      }),
    ])
    .default({ tolerance: 0 }),
  maxReplicationLagBytes: z
    .number()
    .int()
    .min(0)
    .default(16 * 1024 * 1024),
  statementTimeoutMs: z.number().int().min(1000).max(600_000).default(60_000),
});
export type VerifyEvent = z.input<typeof verifyEventSchema>;

const instrumentation = stepInstrumentation('verify');
/** Verifies green; fails as VerificationFailed naming every failed check. */
export async function handler(event: unknown): Promise<VerifyReport> {
  return runStep(instrumentation, async () => {
    const input = parseInput(verifyEventSchema, event);
    const dir = process.env.MIGRATIONS_DIR;
    if (dir === undefined || dir === '')
      throw new StepError('StepMisconfigured', 'MIGRATIONS_DIR is not set');
    const local = await readMigrationsFolder(dir);
    const resolve = lambdaResolver();
    const connect = {
      connectTimeoutMs: 10_000,
      statementTimeoutMs: input.statementTimeoutMs,
      applicationName: 'dr-verify',
    };
    const options = {
      schema: input.schema,
      requiredTables: input.requiredTables,
      rowCounts: input.rowCounts,
      maxReplicationLagBytes: input.maxReplicationLagBytes,
    };
    const greenSettings = await resolve(input.green);
    const report = await withConnection(greenSettings, connect, async (green) => {
      if (input.blue === undefined) return verifyGreen(green, undefined, local, options);
      const blueSettings = await resolve(input.blue);
      return withConnection(blueSettings, connect, (blue) => verifyGreen(green, blue, local, options));
    });
    for (const check of report.checks) {
      instrumentation.logger.info('check', { ...check });
    }
    // An undecided check (row counts while blue takes writes) does not fail the step: the cutover decides it
    // in its fenced window. It never counts as passed either: the result names it.
    if (!report.ok) {
      const failed = report.checks.filter((c) => c.status === 'failed');
      throw new StepError(
        'VerificationFailed',
        `${failed.length} of ${report.checks.length} checks failed: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`,
      );
    }
    return report;
  });
}
