import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import {
  applyPendingMigrations,
  DEFAULT_LOCK_TIMEOUT_MS,
  markMigrationApplied,
  markMigrationRolledBack,
  MigrationsError,
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
import { DatabaseError } from '../../lambdas/shared/postgres-errors';
import { echoName, redact } from '../../lambdas/shared/redact';
import { settingsFromUrl, UsageError } from './database-url';
import { folderPath, identifier, migrationName, wholeNumber } from './option-values';
import {
  addDrillCommands,
  defaultDrillIo,
  describeStatus,
  drillStatus,
  restoreDrillHealthCheck,
  runDrill,
  type DrillIo,
} from './drill-command';
import {
  addDoctorCommand,
  defaultDoctorIo,
  describeDoctor,
  readConfig,
  runDoctor,
  type DoctorIo,
} from './doctor-command';
import { addHoldCommand, defaultHoldIo, describeHold, holdPrimary, type HoldIo } from './hold-command';
import { addVerifyCommand, verifyCommand } from './verify-command';
import {
  addMigrateCommand,
  defaultMigrateIo,
  runMigrate,
  summarize,
  type MigrateIo,
} from './migrate-command';

/** Where the CLI writes, and what it reads from its environment: injectable for tests. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** AWS clients and clock for `dr migrate`; real ones by default. */
  readonly migrateIo?: (region: string | undefined) => MigrateIo;
  /** AWS clients and clock for `dr drill` and `dr status`; real ones by default. */
  readonly drillIo?: (region: string | undefined) => DrillIo;
  /** AWS clients for `dr hold`; real ones by default. */
  readonly holdIo?: (region: string) => HoldIo;
  /** AWS clients and clock for `dr doctor`; real ones by default. */
  readonly doctorIo?: () => DoctorIo;
}

export const EXIT_OK = 0;
/** The operation ran and failed, or found something that needs an operator (pending, failed, blocked). */
export const EXIT_FAILED = 1;
/** Bad options: nothing was done. */
export const EXIT_USAGE = 2;

interface MigrationsCliOptions {
  databaseUrl?: string;
  allowPlaintext?: boolean;
  dir: string;
  schema?: string;
  lockTimeout: number;
  json?: boolean;
}

class ExitRequest extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
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

/** Levenshtein distance, bounded: stops counting past `limit` (returns limit + 1). */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_v, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    if (Math.min(...current) > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length] ?? limit + 1;
}

/** dr's own words: every command name and alias, and every option flag. */
export function vocabularyOf(program: Command): ReadonlySet<string> {
  const words = new Set<string>();
  const visit = (command: Command) => {
    words.add(command.name());
    for (const alias of command.aliases()) words.add(alias);
    for (const option of command.options) {
      if (option.long !== undefined) words.add(option.long);
      if (option.short !== undefined) words.add(option.short);
    }
    command.commands.forEach(visit);
  };
  visit(program);
  return words;
}

/**
 * How a command-line word the parser quotes is shown. An option's name (`--x`, its `=value` masked) and a URL
 * (redacted) are shown; a bare word only when it is one of dr's own words or a typo of one (`drils`), since a
 * word out of nowhere may be a password pasted in the wrong place (`dr hunter2`): that one is named by its
 * position instead.
 */
function shownToken(token: string, index: number, vocabulary: ReadonlySet<string>): string {
  if (token.startsWith('-') || /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(token)) return `'${echoName(token)}'`;
  const limit = Math.min(2, Math.floor(token.length / 3));
  const near = [...vocabulary].some((word) => editDistance(token, word, limit) <= limit);
  return near ? `'${echoName(token)}'` : `<argument ${index + 1}>`;
}

/**
 * A command-line error made safe to print: every token of the command line it quotes (commander quotes what it
 * echoes: an unknown command or option, `--option=value`, an invalid argument) is replaced as `shownToken`
 * says, then the whole message goes through the redaction rule.
 */
export function redactCommandLineError(
  message: string,
  argv: readonly string[],
  vocabulary: ReadonlySet<string> = new Set(),
): string {
  const tokens = new Map<string, number>();
  for (const [index, arg] of argv.entries()) {
    if (!tokens.has(arg)) tokens.set(arg, index);
    const equals = arg.indexOf('=');
    if (arg.startsWith('-') && equals > 0 && !tokens.has(arg.slice(equals + 1)))
      tokens.set(arg.slice(equals + 1), index);
  }
  let text = message;
  for (const [token, index] of [...tokens].sort(([a], [b]) => b.length - a.length)) {
    if (token !== '') text = text.split(`'${token}'`).join(shownToken(token, index, vocabulary));
  }
  return redact(text);
}

/** The `dr` program; `argv` is the command line it will parse, whose tokens its error messages redact. */
export function buildProgram(io: CliIo, argv: readonly string[] = []): Command {
  const program = new Command('dr')
    .description('PostgreSQL cross-region DR toolkit')
    // A command's options belong to that command: `dr drill restore --region x` is restore's --region, not
    // drill's (commander otherwise lets the parent command take them, and restore ran without a region).
    .enablePositionalOptions()
    .configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      // Every parser error (unknown command or option, too many arguments, invalid or missing argument, did
      // you mean) is made here: the tokens it quotes may be a pasted URL or password.
      outputError: (text, write) => {
        write(redactCommandLineError(text, argv, vocabularyOf(program)));
      },
    })
    // The error commander throws carries the same text: redacted too, so no caller can print the secret.
    .exitOverride((error) => {
      throw new CommanderError(
        error.exitCode,
        error.code,
        redactCommandLineError(error.message, argv, vocabularyOf(program)),
      );
    })
    .showHelpAfterError();

  const migrations = program
    .command('migrations')
    .description(
      'Prisma-compatible migrations against one database (like prisma migrate deploy/status/resolve). ' +
        'For operators and CI; workflows take Secrets Manager references instead of URLs.',
    );

  const withCommon = (command: Command) =>
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

  const run = async (
    options: MigrationsCliOptions,
    command: string,
    work: (ctx: RunContext) => Promise<RunOutcome>,
  ) => {
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
  };

  withCommon(migrations.command('plan'))
    .description('show what apply would do; writes nothing')
    .action(async (options: MigrationsCliOptions) => {
      await run(options, 'plan', async ({ client, local, engineOptions }) => {
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
      await run(options, 'status', async ({ client, local, engineOptions }) => {
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
      await run(options, 'apply', async ({ client, local, engineOptions }) => {
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
      await run(options, 'resolve', async ({ client, local, engineOptions }) => {
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

  addMigrateCommand(program, async (options) => {
    const io2 =
      io.migrateIo?.(options.region) ?? defaultMigrateIo(io.out, options.region ?? io.env.AWS_REGION);
    const outcome = await runMigrate(options, io2);
    if (options.json === true)
      io.out(`${JSON.stringify({ ok: outcome.exitCode === EXIT_OK, command: 'migrate', ...outcome })}\n`);
    else io.out(`${summarize(outcome).join('\n')}\n`);
    if (outcome.exitCode !== EXIT_OK) throw new ExitRequest(outcome.exitCode);
  });

  const drillIo = (region: string | undefined) =>
    io.drillIo?.(region) ?? defaultDrillIo(io.out, region ?? io.env.AWS_REGION);
  addDrillCommands(program, {
    run: async (options) => {
      const outcome = await runDrill(options, drillIo(options.region));
      const report = (outcome.output as { report?: { summary?: string } } | undefined)?.report;
      if (options.json === true)
        io.out(`${JSON.stringify({ ok: outcome.exitCode === EXIT_OK, command: 'drill', ...outcome })}\n`);
      else
        io.out(
          `Drill ${outcome.status}: ${report?.summary ?? `${outcome.error ?? ''} ${outcome.cause ?? ''}`.trim()}\n`,
        );
      if (outcome.exitCode !== EXIT_OK) throw new ExitRequest(outcome.exitCode);
    },
    restore: async (options) => {
      const result = await restoreDrillHealthCheck(options, drillIo(options.region));
      if (options.json === true)
        io.out(`${JSON.stringify({ ok: true, command: 'drill restore', ...result })}\n`);
      else
        io.out(
          result.changed
            ? `Health check ${result.healthCheckId} restored (Inverted: false): Route 53 answers from real health again.\n`
            : `Health check ${result.healthCheckId} was not inverted: nothing to do.\n`,
        );
    },
    status: async (options) => {
      const status = await drillStatus(options, drillIo(options.region));
      if (options.json === true) io.out(`${JSON.stringify({ ok: true, command: 'status', ...status })}\n`);
      else io.out(`${describeStatus(status).join('\n')}\n`);
    },
  });

  addHoldCommand(program, async (options) => {
    const result = await holdPrimary(options, io.holdIo?.(options.region) ?? defaultHoldIo(options.region));
    if (options.json === true) io.out(`${JSON.stringify({ ok: true, command: 'hold', ...result })}\n`);
    else io.out(`${describeHold(result)}\n`);
  });

  addDoctorCommand(program, async (options) => {
    const config = readConfig(options.config);
    const checks = await runDoctor(config, io.doctorIo?.() ?? defaultDoctorIo());
    const problems = checks.filter((c) => c.status === 'problem').length;
    if (options.json === true)
      io.out(`${JSON.stringify({ ok: problems === 0, command: 'doctor', checks })}\n`);
    else io.out(`${describeDoctor(checks).join('\n')}\n`);
    if (problems > 0) throw new ExitRequest(EXIT_FAILED);
  });

  addVerifyCommand(program, async (options) => {
    if (!(await verifyCommand(options, io))) throw new ExitRequest(EXIT_FAILED);
  });

  return program;
}

interface RunContext {
  readonly client: import('pg').Client;
  readonly local: readonly LocalMigration[];
  readonly engineOptions: MigrationsOptions;
  readonly settings: ConnectionSettings;
}

interface RunOutcome {
  readonly exitCode: number;
  readonly result: Record<string, unknown>;
  readonly lines: string[];
}

function failure(error: unknown): { exitCode: number; code: string; message: string } {
  if (error instanceof UsageError) return { exitCode: EXIT_USAGE, code: 'usage', message: error.message };
  if (error instanceof MigrationsFolderError)
    return { exitCode: EXIT_USAGE, code: 'folder', message: error.message };
  if (error instanceof MigrationsError)
    return { exitCode: EXIT_FAILED, code: error.code, message: error.message };
  if (error instanceof DatabaseError)
    return { exitCode: EXIT_FAILED, code: error.kind, message: error.message };
  return {
    exitCode: EXIT_FAILED,
    code: 'error',
    message: error instanceof Error ? error.message : String(error),
  };
}

/** Runs the CLI and returns its exit code; never calls process.exit itself. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io, argv);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof ExitRequest) return error.exitCode;
    if (error instanceof CommanderError) {
      // Help and version are successes; every other commander error is a usage error it already printed.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    const { exitCode, code, message: unsafe } = failure(error);
    // Whatever failed, its message goes through the redaction rule and the command line's tokens are bounded.
    const message = redactCommandLineError(unsafe, argv);
    if (argv.includes('--json')) io.out(`${JSON.stringify({ ok: false, error: { code, message } })}\n`);
    io.err(`dr: ${message}\n`);
    return exitCode;
  }
}
