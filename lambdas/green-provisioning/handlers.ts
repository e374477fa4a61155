import { RDSClient } from '@aws-sdk/client-rds';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { MigrationsError } from '../migrations/engine';
import { readMigrationsFolder } from '../migrations/folder';
import {
  databaseRefSchema,
  lambdaResolver,
  withConnection,
  type ConnectionSettings,
} from '../shared/database';
import { SQL_IDENTIFIER } from '../shared/sql-identifier';
import { rdsInstanceIdentifier } from '../shared/schemas';
import { asRdsRetryable } from '../shared/aws-retryable';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { readTopology } from '../shared/topology';
import { topologyLocation } from '../shared/topology-location';
import { checkBlueForGreen, type BlueCheck } from './blue-check';
import {
  ensurePublication,
  ensureReplicationUser,
  ensureSubscription,
  replayAppliedMigrations,
  schemaDifferences,
  SchemaDrift,
  syncProgress,
  type SyncProgress,
} from './green-database';
import { createGreenInstance, greenInstanceProgress, type GreenInstanceProgress } from './green-instance';

const sqlName = z.string().regex(SQL_IDENTIFIER, { error: 'must be an identifier' });

/** The database side: check blue, prepare green (schema, publication, subscription), follow the initial copy. */
export const greenDatabaseEventSchema = z.strictObject({
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

/** The instance side: create green like blue (with its secret), then follow RDS until it is available. */
export const greenInstanceEventSchema = z.strictObject({
  mode: z.enum(['create', 'progress']),
  blueInstanceIdentifier: rdsInstanceIdentifier,
  greenInstanceIdentifier: rdsInstanceIdentifier,
  database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, { error: 'must be a database name' }),
});

const databaseInstrumentation = stepInstrumentation('green-database');
const instanceInstrumentation = stepInstrumentation('green-instance');

const CONNECT = { connectTimeoutMs: 10_000, statementTimeoutMs: 60_000, applicationName: 'pg-dr-provision' };
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
 * The database steps of provisioning green: `check` refuses (ProvisioningRefused) what logical replication cannot
 * carry before anything exists; `prepare` replays blue's applied migrations on green, compares the schemas
 * (SchemaDrift), and sets up the replication user, the publication and the subscription; `progress` reports the
 * initial copy until every table is ready and the lag is under the bound.
 */
export async function greenDatabaseHandler(event: unknown): Promise<GreenDatabaseResult> {
  return runStep(databaseInstrumentation, async () => {
    const input = parseInput(greenDatabaseEventSchema, event);
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
        const replayed = await replayAppliedMigrations(g, local, checked.applied).catch((error: unknown) => {
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
        const differences = await schemaDifferences(b, g);
        if (differences.length > 0) throw new SchemaDrift(differences);
        await ensureReplicationUser(b, login, checked.tables);
        await ensurePublication(b, input.publication, checked.tables);
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
        databaseInstrumentation.logger.info('green prepared', { replayed: replayed.length, subscription });
        return { mode: 'prepare' as const, replayed, subscription, tables: checked.tables };
      }),
    );
  });
}

const jsonRecord = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not JSON' });
    return z.NEVER;
  }
});

const instanceEnvironment = z.object({
  AWS_REGION: z.string().min(1),
  RESOURCE_PREFIX: z.string().min(1),
  SECRET_NAME_PREFIX: z.string().min(1),
  /** The secrets key of each region (JSON object, region to key ARN): green's secret and its replica. */
  SECRET_KEYS: jsonRecord.pipe(z.record(z.string(), z.string().min(1))),
  /** The deployed RDS data keys (JSON array): blue's must be one, and green gets it. */
  DATA_KEYS: jsonRecord.pipe(z.array(z.string().min(1)).min(1)),
});

const rdsIn = new Map<string, RDSClient>();
let ssm: SSMClient | undefined;
let secrets: SecretsManagerClient | undefined;

/**
 * The instance steps of provisioning green: `create` makes green like the topology's writer (blue must be it),
 * with its master secret under the migration's prefix; `progress` follows RDS until green is available.
 */
export async function greenInstanceHandler(event: unknown): Promise<GreenInstanceProgress> {
  return runStep(instanceInstrumentation, async () => {
    const input = parseInput(greenInstanceEventSchema, event);
    const env = instanceEnvironment.safeParse(process.env);
    if (!env.success)
      throw new StepError(
        'StepMisconfigured',
        `missing environment: ${env.error.issues.map((i) => i.path.join('.')).join(', ')}`,
      );
    const located = topologyLocation();
    ssm ??= new SSMClient({ region: located.region });
    const topology = await readTopology(ssm, located.names);
    if (topology.writer.instanceIdentifier !== input.blueInstanceIdentifier)
      throw new StepError(
        'BlueNotTheWriter',
        `blue ${input.blueInstanceIdentifier} is not the writer the topology names (${topology.writer.instanceIdentifier}): green is made from the writer`,
      );
    const prefix = `${env.data.RESOURCE_PREFIX}-green-`;
    if (!input.greenInstanceIdentifier.startsWith(prefix))
      throw new StepError(
        'InvalidInput',
        `invalid input: greenInstanceIdentifier must start with ${prefix} (the workflow may create only those)`,
      );
    const region = topology.writer.region;
    const here = env.data.AWS_REGION;
    const rds = rdsIn.get(region) ?? new RDSClient({ region });
    rdsIn.set(region, rds);
    secrets ??= new SecretsManagerClient({ region: here });
    const keyHere = env.data.SECRET_KEYS[here];
    const keyThere = env.data.SECRET_KEYS[region];
    if (keyHere === undefined || (region !== here && keyThere === undefined))
      throw new StepError(
        'StepMisconfigured',
        `SECRET_KEYS has no key for ${keyHere === undefined ? here : region}`,
      );
    const request = {
      blueIdentifier: input.blueInstanceIdentifier,
      greenIdentifier: input.greenInstanceIdentifier,
      database: input.database,
      secret: {
        name: `${env.data.SECRET_NAME_PREFIX}${input.greenInstanceIdentifier}`,
        kmsKeyId: keyHere,
        ...(region === here || keyThere === undefined ? {} : { replica: { region, kmsKeyId: keyThere } }),
      },
      allowedKmsKeys: env.data.DATA_KEYS,
      provisionedBy: env.data.RESOURCE_PREFIX,
    };
    const progress = await (
      input.mode === 'create'
        ? createGreenInstance({ rds, secrets }, request)
        : greenInstanceProgress(rds, request)
    ).catch((error: unknown) => {
      throw asRdsRetryable(error);
    });
    instanceInstrumentation.logger.info('green instance', { ...progress });
    return progress;
  });
}
