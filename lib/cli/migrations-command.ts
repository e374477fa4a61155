import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { Client } from 'pg';
import {
  applyPendingMigrations,
  DEFAULT_LOCK_TIMEOUT_MS,
  markMigrationApplied,
  markMigrationRolledBack,
  planMigrations,
  type MigrationPlan,
  type MigrationsOptions,
} from '../../lambdas/migrations/engine';
import {
  displayName,
  MigrationsFolderError,
  readMigrationsFolder,
  type LocalMigration,
} from '../../lambdas/migrations/folder';
import { withConnection, type ConnectionSettings } from '../../lambdas/shared/database';
import { settingsFromUrl, UsageError } from './database-url';
import { EXIT_FAILED, EXIT_OK, ExitRequest } from './exit';
import { folderPath, identifier, migrationName, wholeNumber } from './option-values';

/** What `dr migrations` reads from its environment and where it writes. */
export interface MigrationsIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

interface MigrationsCliOptions {
  databaseUrl?: string;
  allowPlaintext?: boolean;
  dir: string;
  schema?: string;
  lockTimeout: number;
  json?: boolean;
}

function describePlan(plan: MigrationPlan, local: readonly LocalMigration[]): string[] {
  const lines = [
    `${local.length} migration(s) in the folder, ${plan.applied.length} applied to the database.`,
  ];
  if (plan.failed.length > 0) {
    lines.push('Failed, blocking deploy until resolved:');
    for (const f of plan.failed) lines.push(`  ${displayName(f.name)} (started ${f.startedAt})`);
  }
  for (const r of plan.running)
    lines.push(
      `In progress (another session holds the migration lock): ${displayName(r.name)} (started ${r.startedAt})`,
    );
  if (plan.pending.length > 0) {
    lines.push(`Pending (${plan.pending.length}), in the order they will run:`);
    for (const name of plan.pending) lines.push(`  ${displayName(name)}`);
  } else {
    lines.push('No pending migrations.');
  }
  for (const d of plan.drift) {
    lines.push(
      d.reason === 'modified'
        ? `Warning: ${displayName(d.name)} was edited after it was applied; the change will not be applied.`
        : `Warning: ${displayName(d.name)} is applied to the database but missing from the folder.`,
    );
  }
  return lines;
}

interface RunContext {
  readonly client: Client;
  readonly local: readonly LocalMigration[];
  readonly engineOptions: MigrationsOptions;
  readonly settings: ConnectionSettings;
}

interface RunOutcome {
  readonly exitCode: number;
  readonly result: Record<string, unknown>;
  readonly lines: string[];
}

/** The options every `dr migrations` command takes. */
const withCommon = (command: Command): Command =>
  command
    .addOption(
      new Option(
        '--database-url <url>',
        'postgresql:// URL of the target (local use; prefer the DATABASE_URL variable, which stays out of the process list). ' +
          'TLS is always verified, unless sslmode=disable (plain text: loopback hosts only, or with --allow-plaintext); ' +
          'sslrootcert=<file> adds a CA; schema=<name> picks the schema.',
      ),
    )
    .option(
      '--allow-plaintext',
      'allow sslmode=disable to a host that is not loopback (the password travels unencrypted; a warning is printed)',
    )
    .option('--dir <folder>', 'Prisma migrations folder', folderPath('--dir'), 'prisma/migrations')
    .option(
      '--schema <name>',
      'schema of _prisma_migrations and the scripts (default: URL schema= or public)',
      identifier('--schema'),
    )
    .option(
      '--lock-timeout <ms>',
      'how long to wait for the migration lock',
      wholeNumber('--lock-timeout', 3_600_000, 'ms'),
      DEFAULT_LOCK_TIMEOUT_MS,
    )
    .option('--json', 'print one machine-readable JSON result');

/**
 * Connects to the database the options name, reads the migrations folder, runs `work`, and prints its outcome
 * (one JSON line with --json); ends with the outcome's exit code.
 */
async function runOnDatabase(
  io: MigrationsIo,
  options: MigrationsCliOptions,
  command: string,
  work: (ctx: RunContext) => Promise<RunOutcome>,
): Promise<void> {
  const url = options.databaseUrl ?? io.env.DATABASE_URL;
  if (url === undefined || url === '') throw new UsageError('give --database-url or set DATABASE_URL');
  const { settings, schema, warning } = settingsFromUrl(url, {
    allowPlaintext: options.allowPlaintext === true,
  });
  if (warning !== undefined) io.err(`dr: ${warning}\n`);
  const local = await readMigrationsFolder(resolve(options.dir)).catch((error: unknown) => {
    if (error instanceof MigrationsFolderError) throw new UsageError(`--dir: ${error.message}`);
    throw error;
  });
  const engineOptions: MigrationsOptions = {
    schema: options.schema ?? schema ?? 'public',
    lockTimeoutMs: options.lockTimeout,
  };
  const outcome = await withConnection(
    settings,
    { connectTimeoutMs: 10_000, statementTimeoutMs: 0, applicationName: `dr migrations ${command}` },
    (client) => work({ client, local, engineOptions, settings }),
  );
  if (options.json === true)
    io.out(`${JSON.stringify({ ok: outcome.exitCode === EXIT_OK, command, ...outcome.result })}\n`);
  else io.out(`${outcome.lines.join('\n')}\n`);
  if (outcome.exitCode !== EXIT_OK) throw new ExitRequest(outcome.exitCode);
}

/**
 * `dr migrations plan|status|apply|resolve`: the Prisma-compatible engine against one database, for operators
 * and CI (workflows take Secrets Manager references instead of URLs).
 */
export function addMigrationsCommands(program: Command, io: MigrationsIo): void {
  const migrations = program
    .command('migrations')
    .description(
      'Prisma-compatible migrations against one database (like prisma migrate deploy/status/resolve). ' +
        'For operators and CI; workflows take Secrets Manager references instead of URLs.',
    );

  withCommon(migrations.command('plan'))
    .description('show what apply would do; writes nothing')
    .action(async (options: MigrationsCliOptions) => {
      await runOnDatabase(io, options, 'plan', async ({ client, local, engineOptions }) => {
        const plan = await planMigrations(client, local, engineOptions);
        return {
          exitCode: plan.blocked ? EXIT_FAILED : EXIT_OK,
          result: { plan },
          lines: describePlan(plan, local),
        };
      });
    });

  withCommon(migrations.command('status'))
    .description('like plan, but exits 1 unless every migration is applied and none failed')
    .action(async (options: MigrationsCliOptions) => {
      await runOnDatabase(io, options, 'status', async ({ client, local, engineOptions }) => {
        const plan = await planMigrations(client, local, engineOptions);
        const upToDate = plan.pending.length === 0 && plan.running.length === 0 && !plan.blocked;
        const lines = describePlan(plan, local);
        lines.push(upToDate ? 'Database schema is up to date.' : 'Database schema is not up to date.');
        return { exitCode: upToDate ? EXIT_OK : EXIT_FAILED, result: { plan, upToDate }, lines };
      });
    });

  withCommon(migrations.command('apply'))
    .description('apply pending migrations (prisma migrate deploy)')
    .action(async (options: MigrationsCliOptions) => {
      await runOnDatabase(io, options, 'apply', async ({ client, local, engineOptions }) => {
        const result = await applyPendingMigrations(client, local, engineOptions);
        const lines =
          result.plan.drift.length > 0
            ? describePlan(result.plan, local).filter((l) => l.startsWith('Warning'))
            : [];
        for (const step of result.applied) lines.push(`Applied ${step.name} in ${step.durationMs} ms`);
        lines.push(
          result.applied.length === 0
            ? 'No pending migrations.'
            : `${result.applied.length} migration(s) applied.`,
        );
        return { exitCode: EXIT_OK, result: { applied: result.applied, drift: result.plan.drift }, lines };
      });
    });

  withCommon(migrations.command('resolve'))
    .description(
      'record a failed migration as applied (its changes are in place) or rolled back (it runs again)',
    )
    .option('--applied <name>', 'mark this migration applied without running it', migrationName('--applied'))
    .option('--rolled-back <name>', 'mark this failed migration rolled back', migrationName('--rolled-back'))
    .action(async (options: MigrationsCliOptions & { applied?: string; rolledBack?: string }) => {
      if ((options.applied === undefined) === (options.rolledBack === undefined)) {
        throw new UsageError('resolve needs exactly one of --applied <name> or --rolled-back <name>');
      }
      await runOnDatabase(io, options, 'resolve', async ({ client, local, engineOptions }) => {
        if (options.applied !== undefined) {
          await markMigrationApplied(client, local, options.applied, engineOptions);
          return {
            exitCode: EXIT_OK,
            result: { applied: options.applied },
            lines: [`Marked ${options.applied} as applied.`],
          };
        }
        const name = options.rolledBack ?? '';
        await markMigrationRolledBack(client, name, engineOptions);
        return {
          exitCode: EXIT_OK,
          result: { rolledBack: name },
          lines: [`Marked ${name} as rolled back; apply will run it again.`],
        };
      });
    });
}
