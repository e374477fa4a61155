import { normalizeName } from '../shared/dns-name';
import { checkConnectivity } from '../connectivity-check/check';
import type { ConnectionSettings } from '../shared/database';
import { DatabaseError } from '../shared/postgres-errors';
import { sleep as defaultSleep } from '../shared/sleep';
import { RoutableError } from '../shared/routable-error';

export class ThroughRecordError extends RoutableError<'DisruptionOverBudget' | 'PrimaryNotServed'> {}

export interface RecordEndpoint {
  /** How to reach it; `host` is what the record answers when it points here. */
  readonly settings: ConnectionSettings;
  readonly role: 'primary' | 'replica';
}

export interface ThroughRecordInput {
  readonly recordName: string;
  /** `replica`: reads are served by the replica (failover); `primary`: writes are accepted again (failback). */
  readonly expect: 'primary' | 'replica';
  /** The endpoints the record may answer. */
  readonly endpoints: readonly RecordEndpoint[];
  /** Epoch ms the disruption started (the inversion, or the restore). */
  readonly since: number;
  readonly maxWaitMs: number;
  readonly pollMs: number;
  readonly connectTimeoutMs: number;
}

export interface ThroughRecordDependencies {
  /** Resolves the record as clients do (the VPC resolver, with its TTL cache). */
  readonly resolveCname: (name: string) => Promise<string[]>;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export interface ThroughRecordResult {
  /** Milliseconds from `since` until a client resolving the record was served as expected. */
  readonly servedAfterMs: number;
  readonly host: string;
  readonly attempts: number;
}

/**
 * What clients experience: resolve the record, connect to the endpoint it names, and check that endpoint
 * serves what is expected (reads from the replica after failover, writes on the primary after failback).
 * Bounded by maxWaitMs after `since`; the last thing seen is in the error.
 */
export async function verifyThroughRecord(
  deps: ThroughRecordDependencies,
  input: ThroughRecordInput,
): Promise<ThroughRecordResult> {
  const sleep = deps.sleep ?? defaultSleep;
  const now = deps.now ?? Date.now;
  const byHost = new Map(input.endpoints.map((e) => [normalizeName(e.settings.host), e]));
  let lastSeen: string;

  for (let attempts = 1; ; attempts++) {
    try {
      const answer = (await deps.resolveCname(input.recordName)).map(normalizeName);
      const endpoint = answer.map((name) => byHost.get(name)).find((e) => e !== undefined);
      if (endpoint === undefined) {
        lastSeen = `it resolved to ${answer.join(', ') || 'nothing'}, not a known endpoint`;
      } else if (endpoint.role !== input.expect) {
        lastSeen = `it still resolved to the ${endpoint.role} (${endpoint.settings.host})`;
      } else {
        const report = await checkConnectivity(endpoint.settings, {
          timeoutMs: input.connectTimeoutMs,
          expect: input.expect === 'primary' ? 'writable' : 'any',
          label: input.expect,
        });
        if (report.role === input.expect)
          return { servedAfterMs: now() - input.since, host: endpoint.settings.host, attempts };
        lastSeen = `${endpoint.settings.host} answered as a ${report.role}`;
      }
    } catch (error) {
      lastSeen =
        error instanceof DatabaseError
          ? `${error.kind}: ${error.message}`
          : `resolving failed: ${(error as { code?: string }).code ?? String(error)}`;
    }
    const elapsed = now() - input.since;
    if (elapsed >= input.maxWaitMs) {
      throw new ThroughRecordError(
        input.expect === 'replica' ? 'DisruptionOverBudget' : 'PrimaryNotServed',
        `${Math.round(elapsed / 1000)} s after the ${input.expect === 'replica' ? 'simulated failure' : 'restore'}, a client of ${input.recordName} was still not served by the ${input.expect} (${lastSeen}); limit ${Math.round(input.maxWaitMs / 1000)} s`,
      );
    }
    await sleep(Math.min(input.pollMs, Math.max(0, input.maxWaitMs - elapsed)));
  }
}
