import type { Command } from 'commander';
import {
  checkReplicationReadiness,
  type ReadinessProblem,
} from '../../lambdas/connectivity-check/replication-readiness';
import { withConnection } from '../../lambdas/shared/database';
import { compareWithBlue, reportOf, type VerifyCheck, type VerifyReport } from '../../lambdas/verify/verify';
import { settingsFromUrl, UsageError } from './database-url';
import { SQL_IDENTIFIER as identifier, TABLE_NAME } from '../../lambdas/shared/patterns';

export interface VerifyCliOptions {
  blueDatabaseUrl?: string;
  greenDatabaseUrl?: string;
  tables?: string[];
  schema?: string;
  json?: boolean;
}

export interface VerifyCliIo {
  readonly out: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** `--tables a,b,schema.c`: table or schema.table names; the value is never echoed. */
function tableList(value: string, previous: string[] | undefined): string[] {
  const tables = value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  const valid = tables.every((t) => TABLE_NAME.test(t));
  if (tables.length === 0 || !valid)
    throw new UsageError('--tables must be a comma-separated list of table or schema.table names');
  return [...(previous ?? []), ...tables];
}

/** Adds `dr verify`. */
export function addVerifyCommand(
  program: Command,
  action: (options: VerifyCliOptions) => Promise<void>,
): void {
  program
    .command('verify')
    .description(
      "Does green match blue? Blue's readiness for logical replication (replica identities, unlogged tables, " +
        "tables left out of the publication, large objects), blue's sequences on green, and exact row counts " +
        'compared only where both hold the same transactions: while blue takes writes the counts are ' +
        'undecidable (exit 1), never passed. Exit 0 when green matches, 1 when not or undecided, 2 for bad options.',
    )
    .option(
      '--blue-database-url <url>',
      'postgresql:// URL of blue (prefer the BLUE_DATABASE_URL variable, which stays out of the process list)',
    )
    .option(
      '--green-database-url <url>',
      'postgresql:// URL of green (prefer the GREEN_DATABASE_URL variable)',
    )
    .option(
      '--tables <list>',
      'compare only these tables (table or schema.table, comma-separated)',
      tableList,
    )
    .option('--schema <name>', 'schema of unqualified --tables names (default: public)')
    .option('--json', 'print one machine-readable JSON result')
    .action(action);
}

export interface VerifyCliResult extends VerifyReport {
  /** Blue's readiness for logical replication: problems fail, warnings are shown. */
  readonly warnings: readonly ReadinessProblem[];
}

const readinessCheck = (problem: ReadinessProblem): VerifyCheck => ({
  name: `replication:${problem.subject}`,
  status: 'failed',
  detail: `${problem.problem}; fix: ${problem.fix}`,
});

function url(flag: string, given: string | undefined, variable: string, env: VerifyCliIo['env']): string {
  const value = given ?? env[variable];
  if (value === undefined || value === '') throw new UsageError(`give ${flag} or set ${variable}`);
  return value;
}

/** Runs `dr verify`; returns green's verdict (a database failure throws). */
export async function runVerify(options: VerifyCliOptions, io: VerifyCliIo): Promise<VerifyCliResult> {
  const schema = options.schema ?? 'public';
  if (!identifier.test(schema)) throw new UsageError('--schema must be a schema name');
  const blueUrl = url('--blue-database-url', options.blueDatabaseUrl, 'BLUE_DATABASE_URL', io.env);
  const greenUrl = url('--green-database-url', options.greenDatabaseUrl, 'GREEN_DATABASE_URL', io.env);
  const rename = (error: unknown, flag: string) => {
    if (error instanceof UsageError)
      throw new UsageError(error.message.replace('--database-url', flag), { cause: error });
    throw error;
  };
  const blue = (() => {
    try {
      return settingsFromUrl(blueUrl).settings;
    } catch (error) {
      return rename(error, '--blue-database-url');
    }
  })();
  const green = (() => {
    try {
      return settingsFromUrl(greenUrl).settings;
    } catch (error) {
      return rename(error, '--green-database-url');
    }
  })();
  const connect = { connectTimeoutMs: 10_000, statementTimeoutMs: 300_000, applicationName: 'dr verify' };
  return withConnection(blue, connect, (blueClient) =>
    withConnection(green, connect, async (greenClient) => {
      const readiness = await checkReplicationReadiness(blueClient);
      const compared = await compareWithBlue(greenClient, blueClient, {
        schema,
        rowCounts: { tolerance: 0, ...(options.tables === undefined ? {} : { tables: options.tables }) },
      });
      return {
        ...reportOf([...readiness.problems.map(readinessCheck), ...compared]),
        warnings: readiness.warnings,
      };
    }),
  );
}

/** Green matches blue: no check failed and every one decided. */
export const matches = (result: VerifyReport): boolean => result.ok && result.decided;

export function describeVerify(result: VerifyCliResult): string[] {
  const mark = { passed: 'ok  ', failed: 'FAIL', undecided: '??  ' } as const;
  const lines = result.checks.map((c) => `${mark[c.status]} ${c.name}: ${c.detail}`);
  for (const w of result.warnings) lines.push(`warn ${w.subject}: ${w.problem}; fix: ${w.fix}`);
  lines.push(
    matches(result)
      ? 'Green matches blue.'
      : !result.ok
        ? `Green does not match blue: ${result.checks.filter((c) => c.status === 'failed').length} check(s) failed.`
        : 'Undecided: blue took writes while counting. Compare with blue still, or let the cutover decide in its fenced window.',
  );
  return lines;
}

/** Prints the verdict; returns whether green matches (the caller turns it into the exit code). */
export async function verifyCommand(options: VerifyCliOptions, io: VerifyCliIo): Promise<boolean> {
  const result = await runVerify(options, io);
  if (options.json === true)
    io.out(
      `${JSON.stringify({ command: 'verify', ...result, ok: matches(result), noCheckFailed: result.ok })}\n`,
    );
  else io.out(`${describeVerify(result).join('\n')}\n`);
  return matches(result);
}
