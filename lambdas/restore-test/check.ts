/**
 * The physical restore test's database side: the restored instance accepts connections, holds the applied
 * migrations and tables of a live copy of its source (plausibly: the restore point is as much older as the restore took), and answers a
 * smoke query. A restored instance keeps its source's master password as it was at the restore point, so a
 * rotation since then is met by the secret's previous version.
 */
import { type DatabaseRef, type ResolveDatabase, withConnection } from '../shared/database';
import { DatabaseError } from '../shared/postgres-errors';
import { withEitherSecretVersion, type SecretVersions } from '../shared/secret-versions';
import {
  checkRestoredContent,
  referenceContent,
  type ExpectedContent,
  type RestoreCheck,
} from '../backups/restored-content';

export interface RestoredInstanceReport {
  readonly ok: boolean;
  readonly checks: readonly RestoreCheck[];
}

const CONNECT = {
  connectTimeoutMs: 15_000,
  // Exact counts of every table of a throwaway copy: generous, and bounded by the step's own timeout.
  statementTimeoutMs: 600_000,
  applicationName: 'pg-dr-restore-test',
};

/**
 * The reference a physical restore is compared with: a live copy of the source in this region (the DR
 * replica, or the writer itself after a failover), read cheaply. Undefined, with why, when none answers.
 */
export async function readReference(
  resolve: ResolveDatabase,
  live: { readonly ref: DatabaseRef; readonly name: string } | undefined,
): Promise<{ expected?: ExpectedContent; note: string }> {
  if (live === undefined) return { note: 'no live copy of the source in this region to compare with' };
  try {
    const settings = await resolve(live.ref);
    const expected = await withConnection(settings, { ...CONNECT, statementTimeoutMs: 30_000 }, (client) =>
      referenceContent(client, live.name),
    );
    return { expected, note: `compared with ${live.name}` };
  } catch (error) {
    return { note: `${live.name} could not be read (${(error as Error).message}): nothing to compare with` };
  }
}

/**
 * Checks the restored instance `restored` (its endpoint and port, the source's secret). Never throws for a
 * restore that fails a check: the report says which and why; `connects` fails when no version of the secret
 * opens it.
 */
export async function checkRestoredInstance(
  secrets: SecretVersions,
  restored: DatabaseRef,
  reference: { expected?: ExpectedContent; note: string },
): Promise<RestoredInstanceReport> {
  const progress = { connected: false };
  try {
    const checks = await withEitherSecretVersion(secrets, restored, CONNECT, async (client, version) => {
      progress.connected = true;
      return [
        {
          name: 'connects',
          passed: true,
          detail: `TLS connection as the source's master user (secret version ${version})`,
        },
        { name: 'reference', passed: true, detail: reference.note },
        ...(await checkRestoredContent(client, reference.expected)),
      ];
    });
    return { ok: checks.every((check) => check.passed), checks };
  } catch (error) {
    if (!(error instanceof DatabaseError)) throw error;
    // Not reached at all (the network, a timeout): the step fails, so the workflow's retry tries again.
    if (!progress.connected && (error.kind === 'unreachable' || error.kind === 'timeout')) throw error;
    return {
      ok: false,
      checks: [
        {
          name: progress.connected ? 'content' : 'connects',
          passed: false,
          detail: `${error.kind}: ${error.message}`,
        },
      ],
    };
  }
}
