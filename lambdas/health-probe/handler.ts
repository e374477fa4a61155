import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import {
  DATABASE_DIMENSION,
  HEALTH_PROBE_NAMESPACE,
  HEALTH_PROBE_SERVICE,
  LATENCY_METRIC,
  REACHABLE_METRIC,
} from './metric';
import { probeDatabase, runProbeRounds, type ProbeResult } from './probe';

const settingsSchema = z.object({
  DB_HOST: z.string().min(1),
  DB_PORT: z.coerce.number().int().min(1).max(65535),
  DB_NAME: z.string().min(1),
  /** Secrets Manager name or ARN of the master secret (its replica, in the secondary region). */
  DB_SECRET_ID: z.string().min(1),
  DB_ROLE: z.enum(['primary', 'replica']),
  PROBE_ROUNDS: z.coerce.number().int().min(1).max(60),
  PROBE_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000),
  PROBE_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000),
  /** Optional extra CA bundle; on Lambda, NODE_EXTRA_CA_CERTS already loads the RDS CAs. */
  DB_CA_FILE: z.string().min(1).optional(),
});
export type ProbeSettings = z.infer<typeof settingsSchema>;

const credentialsSchema = z.object({ username: z.string().min(1), password: z.string().min(1) });
const SECRET_MAX_AGE_SECONDS = 300;

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
  readonly database: 'primary' | 'replica';
  readonly rounds: number;
  readonly reachable: number;
  readonly failures: readonly { readonly kind: string; readonly message: string }[];
}

/**
 * Probes one database several times per scheduled invocation and emits DatabaseReachable (1/0) per probe as
 * a standard-resolution metric, which the Route 53 health check's alarm watches. A probe that cannot run at
 * all (no secret) emits nothing; the alarm treats missing data as unreachable.
 */
export async function handler(
  _event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<ProbeSummary> {
  const config = loadSettings();
  const ca = config.DB_CA_FILE === undefined ? undefined : readFileSync(config.DB_CA_FILE, 'utf8');
  metrics.setDefaultDimensions({ [DATABASE_DIMENSION]: config.DB_ROLE });

  let credentials = await fetchCredentials(config.DB_SECRET_ID, false);
  let refreshed = false;
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
      credentials = await fetchCredentials(config.DB_SECRET_ID, true);
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
      metrics.addMetric(REACHABLE_METRIC, MetricUnit.Count, result.reachable ? 1 : 0);
      metrics.addMetric(LATENCY_METRIC, MetricUnit.Milliseconds, result.latencyMs);
      metrics.publishStoredMetrics();
      const entry = {
        round,
        database: config.DB_ROLE,
        reachable: result.reachable,
        latencyMs: result.latencyMs,
        inRecovery: result.inRecovery,
        failureKind: result.failure?.kind,
        failure: result.failure?.message,
      };
      if (result.reachable) logger.info('probe succeeded', entry);
      else logger.warn('probe failed', entry);
    },
  });

  return {
    database: config.DB_ROLE,
    rounds: results.length,
    reachable: results.filter((r) => r.reachable).length,
    failures: results.flatMap((r) =>
      r.failure === undefined ? [] : [{ kind: r.failure.kind, message: r.failure.message }],
    ),
  };
}
