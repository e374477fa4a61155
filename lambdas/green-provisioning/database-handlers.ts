import { z } from 'zod';
import { MigrationsError } from '../migrations/engine';
import { readMigrationsFolder, type LocalMigration } from '../migrations/folder';
import type { Client } from 'pg';
import {
  databaseRefSchema,
  lambdaResolver,
  withConnection,
  type ConnectionSettings,
} from '../shared/database';
import { quoteIdent, SQL_IDENTIFIER } from '../shared/sql-identifier';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { checkBlueForGreen, type BlueCheck } from './blue-check';
import {
  ensurePublication,
  ensureReplicationUser,
  ensureSubscription,
  replayAppliedMigrations,
  schemaDifferences,
  SchemaDrift,
  SubscriptionConflict,
  syncProgress,
  type SyncProgress,
} from './green-database';

const sqlName = z.string().regex(SQL_IDENTIFIER, { error: 'must be an identifier' });

/** The database side: check blue, prepare green (schema, publication, subscription), follow the initial copy. */
const databaseEventSchema = z.strictObject({
  mode: z.enum(['check', 'prepare', 'progress']),
  blue: databaseRefSchema,
  /** Absent for `check` (green does not exist yet). */
  green: databaseRefSchema.optional(),
  /** The dedicated replication user's secret (never rotated): the subscription logs in to blue with it. */
  replicationSecretId: databaseRefSchema.shape.secretId,
  publication: sqlName.default('dr_blue_green'),
  subscription: sqlName.default('dr_blue_green'),
  /** The initial sync is done when every table is ready and the slot's lag is at most this. */
  maxLagBytes: z
    .number()
    .int()
    .min(0)
    .max(1024 ** 3)
    .default(16 * 1024 * 1024),
});

/** The short steps (`check`, `progress`): a minute of statements at most. */
export const greenDatabaseEventSchema = databaseEventSchema.extend({ mode: z.enum(['check', 'progress']) });
/** The long step (`prepare`): it replays migrations, bounded by its function's timeout. */
export const greenSchemaEventSchema = databaseEventSchema.extend({ mode: z.literal('prepare') });

const databaseInstrumentation = stepInstrumentation('green-database');
const schemaInstrumentation = stepInstrumentation('green-schema');

/** Replays blue's applied migrations on green; an engine failure is the step's GreenSchemaReplayFailed. */
async function replay(green: Client, local: readonly LocalMigration[], applied: readonly string[]) {
  return replayAppliedMigrations(green, local, applied).catch((error: unknown) => {
    if (error instanceof MigrationsError)
      throw new StepError(
        'GreenSchemaReplayFailed',
        `replaying blue's migrations on green: ${error.message}`,
        {
          cause: error,
        },
      );
    throw error;
  });
}

async function subscriptionExists(green: Client, subscription: string): Promise<boolean> {
  // Subscriptions are a cluster-wide catalog: only this database's counts.
  const found = await green.query(
    `SELECT 1 FROM pg_subscription
      WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [subscription],
  );
  return (found.rowCount ?? 0) > 0;
}

/**
 * A slot of the subscription's name on blue with no subscription on green: left by an earlier green (deleted
 * without dropping its subscription). CREATE SUBSCRIPTION would fail on it; it also retains blue's WAL.
 */
async function refuseLeftoverSlot(blue: Client, subscription: string): Promise<void> {
  const found = await blue.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [subscription]);
  if ((found.rowCount ?? 0) > 0)
    throw new SubscriptionConflict(
      'SubscriptionConflict',
      `blue has a replication slot ${subscription} that no subscription of green uses (left by an earlier green; ` +
        `it retains blue's WAL): drop it on blue (SELECT pg_drop_replication_slot('${subscription}')) and start again`,
    );
}

/** The short steps: their function's timeout (2 minutes) covers connecting and a few such statements. */
const CONNECT = { connectTimeoutMs: 10_000, statementTimeoutMs: 30_000, applicationName: 'pg-dr-provision' };
/** The replay runs migrations, which may take long (the Lambda's own timeout bounds it). */
const REPLAY = { ...CONNECT, statementTimeoutMs: 0 };

function migrationsDir(): string {
  const dir = process.env.MIGRATIONS_DIR;
  if (dir === undefined || dir === '') throw new StepError('StepMisconfigured', 'MIGRATIONS_DIR is not set');
  return dir;
}

function replicationLogin(settings: ConnectionSettings) {
  return { user: settings.user, password: settings.password };
}

export type GreenDatabaseResult =
  | ({ readonly mode: 'check' } & BlueCheck)
  | {
      readonly mode: 'prepare';
      readonly replayed: readonly string[];
      readonly subscription: 'created' | 'existing';
      readonly tables: readonly string[];
    }
  | ({ readonly mode: 'progress' } & SyncProgress);

/**
 * The short database steps of provisioning green: `check` refuses (ProvisioningRefused) what logical
 * replication cannot carry before anything exists; `progress` reports the initial copy until every table is
 * ready and the lag is under the bound.
 */
export async function greenDatabaseHandler(event: unknown): Promise<GreenDatabaseResult> {
  return runStep(databaseInstrumentation, () => provisionStep(parseInput(greenDatabaseEventSchema, event)));
}

/**
 * `prepare`: replays blue's applied migrations on green, compares the schemas (SchemaDrift), and sets up the
 * replication user, the publication and the subscription with its initial copy.
 */
export async function greenSchemaHandler(event: unknown): Promise<GreenDatabaseResult> {
  return runStep(schemaInstrumentation, () => provisionStep(parseInput(greenSchemaEventSchema, event)));
}

async function provisionStep(input: z.output<typeof databaseEventSchema>): Promise<GreenDatabaseResult> {
  const resolve = lambdaResolver();
  const blue = await resolve(input.blue);
  if (input.mode === 'check') {
    const local = await readMigrationsFolder(migrationsDir());
    const checked = await withConnection(blue, CONNECT, (client) =>
      checkBlueForGreen(client, local, input.publication),
    );
    databaseInstrumentation.logger.info('blue checked', {
      applied: checked.applied.length,
      pending: checked.pending.length,
      tables: checked.tables.length,
      warnings: checked.warnings,
    });
    return { mode: 'check', ...checked };
  }
  if (input.green === undefined)
    throw new StepError('InvalidInput', `invalid input: green is required for ${input.mode}`);
  const green = await resolve(input.green);
  if (input.mode === 'progress') {
    const progress = await withConnection(blue, CONNECT, (b) =>
      withConnection(green, CONNECT, (g) => syncProgress(b, g, input.subscription, input.maxLagBytes)),
    );
    databaseInstrumentation.logger.info('initial sync', { ...progress });
    return { mode: 'progress', ...progress };
  }
  const login = replicationLogin(
    await resolve({
      secretId: input.replicationSecretId,
      host: blue.host,
      port: blue.port,
      database: blue.database,
    }),
  );
  const local = await readMigrationsFolder(migrationsDir());
  return withConnection(blue, CONNECT, (b) =>
    withConnection(green, REPLAY, async (g) => {
      const checked = await checkBlueForGreen(b, local, input.publication);
      // A subscription from an earlier run: green was replayed and compared then, and may since be ahead of blue
      // (a migration that failed after migrating green); only what blue gained since is published and refreshed.
      const subscribed = await subscriptionExists(g, input.subscription);
      const replayed = subscribed ? [] : await replay(g, local, checked.applied);
      if (!subscribed) {
        const differences = await schemaDifferences(b, g);
        if (differences.length > 0) throw new SchemaDrift(differences);
        await refuseLeftoverSlot(b, input.subscription);
      }
      await ensureReplicationUser(b, login, checked.tables);
      const added = await ensurePublication(b, input.publication, checked.tables);
      const subscription = await ensureSubscription(
        g,
        input.subscription,
        input.publication,
        {
          host: blue.host,
          port: blue.port,
          database: blue.database,
          login,
          sslmode: blue.tls === false ? 'disable' : 'require',
        },
        checked.tables,
      );
      if (subscription === 'existing' && added.length > 0)
        await g.query(
          `ALTER SUBSCRIPTION ${quoteIdent(input.subscription)} REFRESH PUBLICATION WITH (copy_data = true)`,
        );
      schemaInstrumentation.logger.info('green prepared', { replayed: replayed.length, subscription });
      return { mode: 'prepare' as const, replayed, subscription, tables: checked.tables };
    }),
  );
}
