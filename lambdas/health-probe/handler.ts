import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import {
  DATABASE_DIMENSION,
  DATABASE_ROLES,
  HEALTH_PROBE_NAMESPACE,
  HEALTH_PROBE_SERVICE,
  LATENCY_METRIC,
  PROBE_ERRORS_METRIC,
  REACHABLE_METRIC,
  type DatabaseRole,
} from './metric';
import { databaseAnswered, probeDatabase, runProbeRounds, type ProbeResult } from './probe';

const settingsSchema = z.object({
  DB_HOST: z.string().min(1),
  DB_PORT: z.coerce.number().int().min(1).max(65535),
  DB_NAME: z.string().min(1),
  /** Secrets Manager name or ARN of the master secret (its replica, in the secondary region). */
  DB_SECRET_ID: z.string().min(1),
  DB_ROLE: z.enum(DATABASE_ROLES),
  PROBE_ROUNDS: z.coerce.number().int().min(1).max(60),
  PROBE_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000),
  PROBE_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000),
  /** Optional extra CA bundle; on Lambda, NODE_EXTRA_CA_CERTS already loads the RDS CAs. */
  DB_CA_FILE: z.string().min(1).optional(),
});
export type ProbeSettings = z.infer<typeof settingsSchema>;

const credentialsSchema = z.object({ username: z.string().min(1), password: z.string().min(1) });
const SECRET_MAX_AGE_SECONDS = 300;
/**
 * When the secret cannot be read (Secrets Manager unavailable or throttled, a secret being rotated), the probe
 * still asks the database: as a user that does not exist, with a password that is not one. A server that
 * answers "authentication failed" is up.
 */
const NO_CREDENTIALS = { username: 'dr_health_probe_without_secret', password: 'not-a-password' };

const logger = new Logger({ serviceName: HEALTH_PROBE_SERVICE });
const metrics = new Metrics({ namespace: HEALTH_PROBE_NAMESPACE, serviceName: HEALTH_PROBE_SERVICE });

let settings: ProbeSettings | undefined;
function loadSettings(): ProbeSettings {
  if (settings === undefined) {
    const parsed = settingsSchema.safeParse(process.env);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
      throw new Error(`health probe misconfigured: invalid or missing environment variable(s) ${fields}`);
    }
    settings = parsed.data;
  }
  return settings;
}

async function fetchCredentials(
  secretId: string,
  forceFetch: boolean,
): Promise<z.infer<typeof credentialsSchema>> {
  const value: unknown = await getSecret(secretId, {
    transform: 'json',
    maxAge: SECRET_MAX_AGE_SECONDS,
    forceFetch,
  });
  const parsed = credentialsSchema.safeParse(value);
  if (!parsed.success) throw new Error(`secret ${secretId} has no username/password fields`);
  return parsed.data;
}

export interface ProbeSummary {
  readonly database: DatabaseRole;
  readonly rounds: number;
  /** Rounds the database answered (DatabaseReachable 1). */
  readonly reachable: number;
  /** Rounds it answered but the probe could not complete normally (ProbeErrors 1): ours to fix, not a failover. */
  readonly errors: number;
  readonly failures: readonly { readonly kind: string; readonly message: string }[];
  /** Why the secret could not be used, when it could not. */
  readonly secretProblem?: string;
}

/**
 * Probes one database several times per scheduled invocation and emits, per round, DatabaseReachable (1 when
 * the database answered, 0 when it did not or not in time) and ProbeErrors (1 when it answered but the probe
 * could not complete: no secret, authentication or TLS refused) as standard-resolution metrics. The alarm the
 * Route 53 health check follows watches DatabaseReachable only: a Secrets Manager blip or a half-finished
 * rotation never moves production to the replica; ProbeErrors pages on its own.
 */
export async function handler(
  _event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<ProbeSummary> {
  const config = loadSettings();
  const ca = config.DB_CA_FILE === undefined ? undefined : readFileSync(config.DB_CA_FILE, 'utf8');
  metrics.setDefaultDimensions({ [DATABASE_DIMENSION]: config.DB_ROLE });

  let secretProblem: string | undefined;
  let credentials = await fetchCredentials(config.DB_SECRET_ID, false).catch((error: unknown) => {
    secretProblem = `secret ${config.DB_SECRET_ID} could not be read (${error instanceof Error ? error.name : 'error'}: ${error instanceof Error ? error.message : String(error)}); probed without credentials`;
    return NO_CREDENTIALS;
  });
  let refreshed = secretProblem !== undefined;
  let errorRounds = 0;
  const probeOnce = async (): Promise<ProbeResult> => {
    const run = () =>
      probeDatabase(
        {
          host: config.DB_HOST,
          port: config.DB_PORT,
          database: config.DB_NAME,
          user: credentials.username,
          password: credentials.password,
          ...(ca === undefined ? {} : { ca }),
        },
        { timeoutMs: config.PROBE_TIMEOUT_MS },
      );
    const result = await run();
    // Rotation may have changed the password since it was cached: refetch once before calling it a failure.
    if (result.failure?.kind === 'auth_failed' && !refreshed) {
      refreshed = true;
      try {
        credentials = await fetchCredentials(config.DB_SECRET_ID, true);
      } catch (error) {
        secretProblem = `secret ${config.DB_SECRET_ID} could not be read again after an authentication failure (${error instanceof Error ? error.name : 'error'})`;
        return result;
      }
      return run();
    }
    return result;
  };

  const results = await runProbeRounds({
    rounds: config.PROBE_ROUNDS,
    intervalMs: config.PROBE_INTERVAL_MS,
    remainingMs: () => context.getRemainingTimeInMillis(),
    roundBudgetMs: config.PROBE_TIMEOUT_MS + 1_000,
    probe: probeOnce,
    onResult: (result, round) => {
      const answered = databaseAnswered(result);
      const error = answered && (!result.reachable || credentials === NO_CREDENTIALS);
      if (error) errorRounds += 1;
      metrics.addMetric(REACHABLE_METRIC, MetricUnit.Count, answered ? 1 : 0);
      metrics.addMetric(PROBE_ERRORS_METRIC, MetricUnit.Count, error ? 1 : 0);
      metrics.addMetric(LATENCY_METRIC, MetricUnit.Milliseconds, result.latencyMs);
      metrics.publishStoredMetrics();
      const entry = {
        round,
        database: config.DB_ROLE,
        reachable: answered,
        probeError: error,
        secretProblem,
        latencyMs: result.latencyMs,
        inRecovery: result.inRecovery,
        failureKind: result.failure?.kind,
        failure: result.failure?.message,
      };
      if (result.reachable) logger.info('probe succeeded', entry);
      else if (answered) logger.warn('database answered, but the probe could not complete', entry);
      else logger.warn('probe failed: the database did not answer', entry);
    },
  });

  return {
    database: config.DB_ROLE,
    rounds: results.length,
    reachable: results.filter(databaseAnswered).length,
    errors: errorRounds,
    failures: results.flatMap((r) =>
      r.failure === undefined ? [] : [{ kind: r.failure.kind, message: r.failure.message }],
    ),
    ...(secretProblem === undefined ? {} : { secretProblem }),
  };
}
