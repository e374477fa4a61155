import { Client } from 'pg';
import type { ConnectionSettings } from '../shared/database';
import { classifyPostgresError, redact, type PostgresFailureKind } from '../shared/postgres-errors';
import { sleep as defaultSleep } from '../shared/sleep';

/** Where and how to connect; holds a password, so never logged. */
export type ProbeTarget = ConnectionSettings;

export type ProbeFailureKind = PostgresFailureKind;

export interface ProbeResult {
  /** The probe connected and its query answered. */
  readonly reachable: boolean;
  readonly latencyMs: number;
  readonly inRecovery?: boolean;
  readonly failure?: { readonly kind: ProbeFailureKind; readonly message: string };
}

export interface ProbeOptions {
  /** Hard limit for connect + TLS + auth + query. */
  readonly timeoutMs: number;
  /** The trivial query; overridable so tests can stand in a server that stalls after connecting. */
  readonly query?: string;
}

/**
 * Whether the database answered at all: the server is up when it completed the probe, and also when it
 * answered with an error of its own (authentication refused, TLS refused, a failed query). Only no answer
 * (nothing listening, connection reset, shutting down) or no answer in time counts as down. A credential or
 * certificate problem is ours to fix and pages on its own; it must not move production to the replica.
 */
export function databaseAnswered(result: ProbeResult): boolean {
  if (result.reachable) return true;
  const kind = result.failure?.kind;
  return kind !== 'unreachable' && kind !== 'timeout';
}

/**
 * Connects with verified TLS, runs one trivial query and reports whether the database answered, within a
 * hard deadline. Never throws: every failure becomes a classified result.
 */
export async function probeDatabase(target: ProbeTarget, options: ProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  const client = new Client({
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: target.password,
    ssl: { rejectUnauthorized: true, ...(target.ca === undefined ? {} : { ca: target.ca }) },
    connectionTimeoutMillis: options.timeoutMs,
    query_timeout: options.timeoutMs,
    statement_timeout: options.timeoutMs,
    application_name: 'dr-health-probe',
  });
  // A socket error after the deadline must not become an unhandled 'error' event.
  client.on('error', () => undefined);

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`probe timed out after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
  });
  try {
    const work = (async () => {
      await client.connect();
      const result = await client.query<{ in_recovery: boolean }>(
        options.query ?? 'SELECT pg_is_in_recovery() AS in_recovery',
      );
      return result.rows[0]?.in_recovery;
    })();
    work.catch(() => undefined);
    const inRecovery = await Promise.race([work, deadline]);
    return {
      reachable: true,
      latencyMs: Math.round(performance.now() - started),
      ...(typeof inRecovery === 'boolean' ? { inRecovery } : {}),
    };
  } catch (error) {
    const message = redact(error instanceof Error ? error.message : String(error), target.password);
    return {
      reachable: false,
      latencyMs: Math.round(performance.now() - started),
      failure: { kind: classifyPostgresError(error), message },
    };
  } finally {
    clearTimeout(timer);
    void client.end().catch(() => undefined);
  }
}

export interface ProbeRoundsOptions {
  /** Probes to run, one every intervalMs, starting now. */
  readonly rounds: number;
  readonly intervalMs: number;
  /** Milliseconds left before the invocation must return. */
  readonly remainingMs: () => number;
  /** Time a round needs to finish (its timeout plus margin); no round starts with less left. */
  readonly roundBudgetMs: number;
  readonly probe: () => Promise<ProbeResult>;
  readonly onResult: (result: ProbeResult, round: number) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs several probes inside one invocation so detection is not limited by EventBridge's one-minute
 * schedule. Bounded by the round count and by the invocation's remaining time.
 */
export async function runProbeRounds(options: ProbeRoundsOptions): Promise<ProbeResult[]> {
  const sleep = options.sleep ?? defaultSleep;
  const results: ProbeResult[] = [];
  const start = performance.now();
  for (let round = 0; round < options.rounds; round++) {
    const due = round * options.intervalMs - (performance.now() - start);
    if (due > 0) {
      if (options.remainingMs() - due < options.roundBudgetMs) break;
      await sleep(due);
    } else if (options.remainingMs() < options.roundBudgetMs) {
      break;
    }
    const result = await options.probe();
    results.push(result);
    options.onResult(result, round);
  }
  return results;
}
