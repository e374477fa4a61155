import { echoValue, redact, redactUrl } from '../shared/redact';
import { sleep as defaultSleep } from '../shared/sleep';

export interface SmokeTestOptions {
  readonly url: string;
  readonly expectStatus: number;
  /** The body (first 64 KiB) must contain this text. */
  readonly bodyContains?: string;
  /** The JSON body must have this value at this dotted path (e.g. `db.status`). */
  readonly jsonField?: { readonly path: string; readonly equals: string | number | boolean };
  readonly attempts: number;
  readonly timeoutMs: number;
  /** Wait before the second attempt; doubles each time up to maxBackoffMs. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

export interface SmokeAttempt {
  readonly attempt: number;
  readonly ok: boolean;
  readonly status?: number;
  readonly problem?: string;
  readonly durationMs: number;
}

export interface SmokeTestReport {
  readonly ok: boolean;
  /** The URL checked, redacted: query values and fragment masked (a health URL may carry a token). */
  readonly url: string;
  readonly attempts: readonly SmokeAttempt[];
}

const BODY_LIMIT = 64 * 1024;

function valueAtPath(json: unknown, path: string): unknown {
  let value = json;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

async function readLimited(response: Response): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < BODY_LIMIT) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, BODY_LIMIT).toString('utf8');
}

async function attemptOnce(options: SmokeTestOptions): Promise<Omit<SmokeAttempt, 'attempt' | 'durationMs'>> {
  let response: Response;
  try {
    response = await fetch(options.url, {
      method: 'GET',
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
      headers: { 'user-agent': 'pg-dr-smoke-test' },
    });
  } catch (error) {
    // Read structurally: fetch's errors may come from another realm, where instanceof Error is false.
    const { name, message, cause } = (error ?? {}) as {
      name?: string;
      message?: string;
      cause?: { message?: string };
    };
    if (name === 'TimeoutError' || name === 'AbortError')
      return { ok: false, problem: `no response within ${options.timeoutMs} ms` };
    return {
      ok: false,
      problem: `request failed: ${redact(cause?.message ?? message ?? String(error))}`,
    };
  }
  let body: string;
  try {
    body = await readLimited(response);
  } catch {
    return {
      ok: false,
      status: response.status,
      problem: `body not received within ${options.timeoutMs} ms`,
    };
  }
  if (response.status !== options.expectStatus) {
    return {
      ok: false,
      status: response.status,
      problem: `status ${response.status}, expected ${options.expectStatus}`,
    };
  }
  if (options.bodyContains !== undefined && !body.includes(options.bodyContains)) {
    return {
      ok: false,
      status: response.status,
      problem: `body does not contain ${JSON.stringify(options.bodyContains)}`,
    };
  }
  if (options.jsonField !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return { ok: false, status: response.status, problem: 'body is not JSON' };
    }
    const actual = valueAtPath(json, options.jsonField.path);
    if (actual !== options.jsonField.equals) {
      return {
        ok: false,
        status: response.status,
        problem: `${options.jsonField.path} is ${actual === undefined ? 'missing' : echoValue(JSON.stringify(actual))}, expected ${JSON.stringify(options.jsonField.equals)}`,
      };
    }
  }
  return { ok: true, status: response.status };
}

/**
 * GETs the URL until it answers as expected, at most `attempts` times, each bounded by `timeoutMs`, with
 * exponential backoff between attempts. Never throws; the report says what each attempt saw.
 */
export async function runSmokeTest(
  options: SmokeTestOptions,
  sleep: (ms: number) => Promise<void> = defaultSleep,
): Promise<SmokeTestReport> {
  const attempts: SmokeAttempt[] = [];
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    if (attempt > 1) await sleep(Math.min(options.maxBackoffMs, options.backoffMs * 2 ** (attempt - 2)));
    const started = performance.now();
    const outcome = await attemptOnce(options);
    attempts.push({ attempt, ...outcome, durationMs: Math.round(performance.now() - started) });
    if (outcome.ok) break;
  }
  return { ok: attempts.at(-1)?.ok ?? false, url: redactUrl(options.url), attempts };
}
