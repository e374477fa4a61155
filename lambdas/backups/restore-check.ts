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
import { quoteIdent } from '../shared/sql-identifier';
import {
  appliedMigrationNames,
  dumpManifestSchema,
  type DumpConnection,
  type DumpManifest,
  libpqEnvironment,
  pgToolExit,
  rowCounts,
  userTables,
} from './dump';

export interface RestoreCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

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

  await withConnection(options.target.settings, CONNECT, async (client) => {
    const migrations = await appliedMigrationNames(client);
    const same = JSON.stringify(migrations) === JSON.stringify(manifest.migrations);
    add(
      'migrations',
      same,
      same
        ? `all ${migrations.length} applied migrations as the manifest lists them`
        : `restored ${JSON.stringify(migrations)}, the manifest lists ${JSON.stringify(manifest.migrations)}`,
    );
    const tables = await userTables(client);
    const counts = await rowCounts(client, tables);
    const expected = Object.keys(manifest.tables).sort();
    const missing = expected.filter((table) => !(table in counts));
    const wrong = expected.filter((table) => table in counts && counts[table] !== manifest.tables[table]);
    add(
      'rows',
      missing.length === 0 && wrong.length === 0,
      missing.length > 0
        ? `missing table(s) ${missing.join(', ')}`
        : wrong.length > 0
          ? wrong
              .map((table) => `${table}: ${counts[table]} rows, the manifest says ${manifest.tables[table]}`)
              .join('; ')
          : `${expected.length} tables, every row count as the manifest says (the dump's own snapshot)`,
    );
    const smoke = await smokeQuery(client, tables);
    add('smoke query', smoke.ok, smoke.detail);
  });
  return { ok: checks.every((check) => check.passed), checks, restoreSeconds };
}

async function smokeQuery(
  client: Parameters<Parameters<typeof withConnection>[2]>[0],
  tables: readonly string[],
): Promise<{ ok: boolean; detail: string }> {
  try {
    for (const table of tables) {
      const dot = table.indexOf('.');
      await client.query(
        `SELECT * FROM ${quoteIdent(table.slice(0, dot))}.${quoteIdent(table.slice(dot + 1))} LIMIT 1`,
      );
    }
    return { ok: true, detail: `read a row of each of ${tables.length} tables` };
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
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
