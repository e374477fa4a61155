import { z } from 'zod';
import { databaseRefSchema, lambdaResolver, withConnection } from '../shared/database';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import {
  applyPendingMigrations,
  DEFAULT_LOCK_TIMEOUT_MS,
  MigrationsError,
  planMigrations,
  type AppliedStep,
  type MigrationDrift,
  type MigrationPlan,
} from './engine';
import { readMigrationsFolder } from './folder';
import { SQL_IDENTIFIER } from '../shared/sql-identifier';

export const migrationsEventSchema = z.strictObject({
  database: databaseRefSchema,
  schema: z.string().regex(SQL_IDENTIFIER, { error: 'must be a schema name' }).default('public'),
  lockTimeoutMs: z.number().int().min(100).max(60_000).default(DEFAULT_LOCK_TIMEOUT_MS),
});
export type MigrationsEvent = z.input<typeof migrationsEventSchema>;

/** Prisma error codes as Step Functions error types. */
const ERROR_NAMES: Record<MigrationsError['code'], string> = {
  P1002: 'MigrationLockTimeout',
  P3005: 'DatabaseSchemaNotEmpty',
  P3008: 'MigrationAlreadyApplied',
  P3009: 'MigrationsBlocked',
  P3011: 'MigrationNotApplied',
  P3012: 'MigrationNotFailed',
  P3015: 'MigrationFileNotFound',
  P3017: 'MigrationNotFound',
  P3018: 'MigrationFailed',
  P3019: 'MigrationProviderMismatch',
};

/** The migrations folder bundled with the function (see the orchestration construct). */
function migrationsDir(): string {
  const dir = process.env.MIGRATIONS_DIR;
  if (dir === undefined || dir === '') throw new StepError('StepMisconfigured', 'MIGRATIONS_DIR is not set');
  return dir;
}

/** A MigrationsError becomes the Step Functions error type of its Prisma code; others pass through. */
function asStepError(error: unknown): unknown {
  return error instanceof MigrationsError
    ? new StepError(ERROR_NAMES[error.code], `${error.code}: ${error.message}`)
    : error;
}

/** The bundled migrations folder, read as Prisma reads it (P3015/P3019 come back as step errors). */
async function readBundledMigrations() {
  return readMigrationsFolder(migrationsDir()).catch((error: unknown) => {
    throw asStepError(error);
  });
}

async function withTarget<T>(
  event: unknown,
  work: (input: z.output<typeof migrationsEventSchema>, client: import('pg').Client) => Promise<T>,
) {
  const input = parseInput(migrationsEventSchema, event);
  const settings = await lambdaResolver()(input.database);
  try {
    return await withConnection(
      settings,
      // No statement timeout: a migration may legitimately run long; the Lambda timeout bounds it.
      { connectTimeoutMs: 10_000, statementTimeoutMs: 0, applicationName: 'dr-migrations' },
      (client) => work(input, client),
    );
  } catch (error) {
    throw asStepError(error);
  }
}

export interface PlanResult {
  readonly plan: MigrationPlan;
  readonly migrationsInFolder: number;
}

const planInstrumentation = stepInstrumentation('migration-plan');

/** Dry run: what apply would do on the target. Writes nothing. */
export async function planHandler(event: unknown): Promise<PlanResult> {
  return runStep(planInstrumentation, async () => {
    const local = await readBundledMigrations();
    const plan = await withTarget(event, (input, client) =>
      planMigrations(client, local, { schema: input.schema }),
    );
    planInstrumentation.logger.info('plan', {
      pending: plan.pending,
      failed: plan.failed.map((f) => f.name),
      running: plan.running.map((r) => r.name),
      drift: plan.drift,
    });
    return { plan, migrationsInFolder: local.length };
  });
}

export interface MigrateResult {
  readonly applied: readonly AppliedStep[];
  readonly drift: readonly MigrationDrift[];
  readonly totalMs: number;
}

const applyInstrumentation = stepInstrumentation('migrate');

/** Applies pending migrations to the target (green), Prisma-compatibly. */
export async function applyHandler(event: unknown): Promise<MigrateResult> {
  return runStep(applyInstrumentation, async () => {
    const local = await readBundledMigrations();
    const started = performance.now();
    const result = await withTarget(event, async (input, client) => {
      // Green may still carry the read-only default of an aborted cutover's fence: migrations write through it.
      await client.query('SET default_transaction_read_only = off');
      return applyPendingMigrations(client, local, {
        schema: input.schema,
        lockTimeoutMs: input.lockTimeoutMs,
        onProgress: (progress) => {
          applyInstrumentation.logger.info(`migration ${progress.phase}`, { ...progress });
        },
      });
    });
    return {
      applied: result.applied,
      drift: result.plan.drift,
      totalMs: Math.round(performance.now() - started),
    };
  });
}
