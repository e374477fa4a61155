/**
 * Proves a logical dump restores: its bytes are the ones the manifest hashed, pg_restore loads it whole into a
 * throwaway database, and what arrived matches the manifest (applied migrations, row counts) and answers a
 * smoke query. The restore's duration is measured: the "restore from a dump" RTO.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { withConnection } from '../shared/database';
import { redact } from '../shared/redact';
import {
  dumpManifestSchema,
  type DumpConnection,
  type DumpManifest,
  libpqEnvironment,
  pgToolExit,
} from './dump';
import { checkRestoredContent, type RestoreCheck } from './restored-content';

export type { RestoreCheck } from './restored-content';

export interface RestoreCheckReport {
  readonly ok: boolean;
  readonly checks: readonly RestoreCheck[];
  /** How long pg_restore took, when it ran. */
  readonly restoreSeconds?: number;
}

const CONNECT = {
  connectTimeoutMs: 10_000,
  statementTimeoutMs: 60_000,
  applicationName: 'pg-dr-restore-check',
};

/** The sha256 (hex) of a file, streamed. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Restores `dumpFile` into `target` (an empty database that the check may fill: a throwaway) and compares it
 * with `manifest`. Never throws for a dump that fails a check: the report says which check and why. Throws
 * DumpError PgToolMissing when pg_restore cannot be run.
 */
export async function checkDumpRestores(options: {
  /** The manifest as written beside the dump (dumpManifestSchema checks it before anything runs). */
  readonly dumpFile: string;
  readonly manifest: unknown;
  readonly target: DumpConnection;
  readonly pgRestore: string;
}): Promise<RestoreCheckReport> {
  const checks: RestoreCheck[] = [];
  const parsed = dumpManifestSchema.safeParse(options.manifest);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || 'manifest');
    return {
      ok: false,
      checks: [{ name: 'manifest', passed: false, detail: `invalid: ${fields.join(', ')}` }],
    };
  }
  const manifest: DumpManifest = parsed.data;
  const add = (name: string, passed: boolean, detail: string): void => {
    checks.push({ name, passed, detail });
  };
  const sha256 = await fileSha256(options.dumpFile);
  add(
    'checksum',
    sha256 === manifest.sha256,
    sha256 === manifest.sha256
      ? `sha256 ${sha256}`
      : `sha256 ${sha256}, the manifest says ${manifest.sha256}`,
  );
  const started = performance.now();
  const restored = await runPgRestore(options);
  const restoreSeconds = Math.round(performance.now() - started) / 1000;
  add('restore', restored.ok, restored.detail);
  if (!restored.ok) return { ok: false, checks, restoreSeconds };

  const content = await withConnection(options.target.settings, CONNECT, (client) =>
    checkRestoredContent(client, {
      source: 'the manifest',
      migrations: manifest.migrations,
      tables: manifest.tables,
      rule: 'exact',
    }),
  );
  checks.push(...content);
  return { ok: checks.every((check) => check.passed), checks, restoreSeconds };
}

async function runPgRestore(options: {
  readonly dumpFile: string;
  readonly target: DumpConnection;
  readonly pgRestore: string;
}): Promise<{ ok: boolean; detail: string }> {
  const { settings } = options.target;
  const child = spawn(
    options.pgRestore,
    [
      '--exit-on-error',
      '--no-owner',
      '--no-privileges',
      '--single-transaction',
      '--no-password',
      `--dbname=${settings.database}`,
      options.dumpFile,
    ],
    { env: libpqEnvironment(options.target, settings.database), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const { code, stderr } = await pgToolExit(child, options.pgRestore);
  return code === 0
    ? { ok: true, detail: `pg_restore loaded ${settings.database}` }
    : {
        ok: false,
        detail: `pg_restore exited ${code}: ${redact(stderr.trim(), settings.password).slice(0, 500)}`,
      };
}
