import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { MigrationsError } from '../../lambdas/migrations/engine';
import { MigrationsFolderError } from '../../lambdas/migrations/folder';
import { DatabaseError } from '../../lambdas/shared/postgres-errors';
import { redactCommandLineError, vocabularyOf } from './command-line-errors';
import { applyConfigDefaults, findConfig } from './config-defaults';
import { UsageError } from './database-url';
import { EXIT_AWS_SETUP, EXIT_FAILED, EXIT_OK, EXIT_USAGE, ExitRequest } from './exit';
import { addMigrationsCommands } from './migrations-command';
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
  addFailoverCommands,
  approveFailover,
  defaultFailoverIo,
  describeApproveResult,
  runFailover,
  summarizeFailover,
  type FailoverIo,
} from './failover-command';
import {
  addReprotectCommand,
  defaultReprotectIo,
  runReprotect,
  summarizeReprotect,
  type ReprotectIo,
} from './reprotect-command';
import {
  addMigrateCommand,
  defaultMigrateIo,
  runMigrate,
  summarize,
  type MigrateIo,
  type MigrateOutcome,
} from './migrate-command';
import { addWayBackCommands, runFinish, runRollback } from './way-back-commands';
import {
  addBackupsCommands,
  defaultBackupsIo,
  describeBackups,
  listBackups,
  runRestoreTest,
  summarizeRestoreTest,
  type BackupsIo,
} from './backups-command';
import {
  addRestoreCommand,
  defaultRestoreIo,
  runRestore,
  summarizeRestore,
  type RestoreIo,
} from './restore-command';

export { EXIT_AWS_SETUP, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './exit';
export { redactCommandLineError, vocabularyOf } from './command-line-errors';

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
  /** AWS clients and clock for `dr failover`; real ones by default. */
  readonly failoverIo?: (region: string | undefined) => FailoverIo;
  /** AWS clients and clock for `dr reprotect`; real ones by default. */
  readonly reprotectIo?: (region: string | undefined) => ReprotectIo;
  /** AWS clients and clock for `dr backups` (the DR region's); real ones by default. */
  readonly backupsIo?: (region: string | undefined) => BackupsIo;
  /** AWS clients and clock for `dr restore` (the region restored in); real ones by default. */
  readonly restoreIo?: (region: string | undefined) => RestoreIo;
  /** Asks the person at the terminal (absent without one: nothing that needs a person's yes goes ahead). */
  readonly ask?: (question: string) => Promise<string>;
}

/**
 * The bare `dr` program: its output, its redacted parser errors, `--version` and `--profile`; the commands are
 * added by buildProgram.
 */
function programShell(io: CliIo, argv: readonly string[]): Command {
  const program: Command = new Command('dr')
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
    .showHelpAfterError()
    .version(packageVersion(), '--version', 'print the version of dr and exit')
    .option(
      '--profile <name>',
      'the AWS profile (~/.aws/config) every AWS call uses (before or after the command)',
      profileName(),
    )
    .option(
      '--config <file>',
      'the CDK app config (cdk.json) whose dr context gives the stack, rule, prefix and region defaults ' +
        '(default: ./cdk.json when it has one)',
    );
  return program;
}

/**
 * Every command that calls AWS takes --profile and --config after its name too (`dr status --profile prod`):
 * commander's positional options otherwise give them to the program only when they come first.
 */
function acceptAwsOptionsAfterTheCommand(program: Command): void {
  const walk = (command: Command) => {
    for (const sub of command.commands) {
      const names = new Set(sub.options.map((o) => o.long));
      const callsAws = sub.options.some((o) => o.long === '--region' || o.long === '--stack');
      if (callsAws || sub.name() === 'doctor') {
        if (!names.has('--profile'))
          sub.option('--profile <name>', 'the AWS profile every AWS call uses', profileName());
        if (!names.has('--config'))
          sub.option('--config <file>', 'the CDK app config that gives the defaults (default: ./cdk.json)');
      }
      walk(sub);
    }
  };
  walk(program);
}

/** The `dr` program; `argv` is the command line it will parse, whose tokens its error messages redact. */
export function buildProgram(io: CliIo, argv: readonly string[] = []): Command {
  const program = programShell(io, argv);

  addMigrationsCommands(program, io);

  const migrateIo = (region: string | undefined) =>
    io.migrateIo?.(region) ?? defaultMigrateIo(io.out, region ?? io.env.AWS_REGION);
  const report = (command: string, json: boolean | undefined, outcome: MigrateOutcome) => {
    if (json === true)
      io.out(`${JSON.stringify({ ok: outcome.exitCode === EXIT_OK, command, ...outcome })}\n`);
    else io.out(`${summarize(outcome).join('\n')}\n`);
    if (outcome.exitCode !== EXIT_OK) throw new ExitRequest(outcome.exitCode);
  };
  const migrate = addMigrateCommand(program, async (options) => {
    report('migrate', options.json, await runMigrate(options, migrateIo(options.region)));
  });
  addWayBackCommands(migrate, {
    rollback: async (options) => {
      report('migrate rollback', options.json, await runRollback(options, migrateIo(options.region)));
    },
    finish: async (options) => {
      report('migrate finish', options.json, await runFinish(options, migrateIo(options.region)));
    },
  });

  const drillIo = (region: string | undefined) =>
    io.drillIo?.(region) ?? defaultDrillIo(io.out, region ?? io.env.AWS_REGION);
  addDrillCommands(program, {
    run: async (options) => {
      const outcome = await runDrill(options, drillIo(options.region), io.ask);
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

  const failoverIo = (region: string | undefined) =>
    io.failoverIo?.(region) ?? defaultFailoverIo(io.out, region ?? io.env.AWS_REGION, io.env, io.ask);
  addFailoverCommands(program, {
    start: async (options) => {
      const startedAt = Date.now();
      const outcome = await runFailover(options, failoverIo(options.region));
      if (options.json === true)
        io.out(
          `${JSON.stringify({ ok: outcome.exitCode === EXIT_OK, command: options.planned === true ? 'switchover' : 'failover', ...outcome })}\n`,
        );
      else io.out(`${summarizeFailover(outcome, startedAt).join('\n')}\n`);
      if (outcome.exitCode !== EXIT_OK) throw new ExitRequest(outcome.exitCode);
    },
    approve: async (options) => {
      const result = await approveFailover(options, failoverIo(options.region));
      if (options.json === true)
        io.out(
          `${JSON.stringify({ ok: result.answer === 'approved' || result.answer === 'declined', command: 'failover approve', ...result })}\n`,
        );
      else io.out(`${describeApproveResult(result)}\n`);
      if (result.answer === 'none waiting' || result.answer === 'not answered')
        throw new ExitRequest(EXIT_FAILED);
    },
  });

  addReprotect(program, io, failoverIo);
  addBackups(program, io);
  addRestoreCommand(program, async (options) => {
    const region = options.region ?? io.env.AWS_REGION;
    const outcome = await runRestore(
      { ...options, ...(region === undefined ? {} : { region }) },
      io.restoreIo?.(region) ?? defaultRestoreIo(io.out, region),
    );
    if (options.json === true)
      io.out(`${JSON.stringify({ ok: outcome.exitCode === EXIT_OK, command: 'restore', ...outcome })}\n`);
    else io.out(`${summarizeRestore(outcome).join('\n')}\n`);
    if (outcome.exitCode !== EXIT_OK) throw new ExitRequest(outcome.exitCode);
  });

  addVerifyCommand(program, async (options) => {
    if (!(await verifyCommand(options, io))) throw new ExitRequest(EXIT_FAILED);
  });

  acceptAwsOptionsAfterTheCommand(program);
  return program;
}

/** `dr reprotect`, on the failover commands' clients and Parameter Store. */
function addReprotect(
  program: Command,
  io: CliIo,
  failoverIo: (region: string | undefined) => FailoverIo,
): void {
  addReprotectCommand(program, async (options) => {
    const region = options.region ?? io.env.AWS_REGION;
    const outcome = await runReprotect(
      options,
      io.reprotectIo?.(options.region) ?? defaultReprotectIo(failoverIo(region)),
    );
    if (options.json === true)
      io.out(`${JSON.stringify({ ok: outcome.exitCode === EXIT_OK, command: 'reprotect', ...outcome })}\n`);
    else io.out(`${summarizeReprotect(outcome)}\n`);
    if (outcome.exitCode !== EXIT_OK) throw new ExitRequest(outcome.exitCode);
  });
}

/** `dr backups` and `dr backups restore-test`, on the DR region's clients. */
function addBackups(program: Command, io: CliIo): void {
  const backupsIo = (region: string | undefined) =>
    io.backupsIo?.(region) ?? defaultBackupsIo(io.out, region ?? io.env.AWS_REGION);
  addBackupsCommands(program, {
    list: async (options) => {
      const region = options.region ?? io.env.AWS_REGION;
      const report = await listBackups(
        { ...options, ...(region === undefined ? {} : { region }) },
        backupsIo(region),
      );
      if (options.json === true) io.out(`${JSON.stringify({ ok: true, command: 'backups', ...report })}\n`);
      else io.out(`${describeBackups(report).join('\n')}\n`);
    },
    restoreTest: async (options) => {
      const outcome = await runRestoreTest(options, backupsIo(options.region));
      if (options.json === true)
        io.out(
          `${JSON.stringify({ ok: outcome.exitCode === EXIT_OK, command: 'backups restore-test', dump: options.dump === true, ...outcome })}\n`,
        );
      else io.out(`${summarizeRestoreTest(outcome, options.dump === true)}\n`);
      if (outcome.exitCode !== EXIT_OK) throw new ExitRequest(outcome.exitCode);
    },
  });
}

/** An AWS profile name as the AWS CLI accepts one: letters, digits and `-_.@+`, nothing a shell would expand. */
function profileName() {
  return (value: string) => {
    if (!/^[A-Za-z0-9_.@+-]{1,64}$/.test(value))
      throw new InvalidArgumentError('must be an AWS profile name (letters, digits and - _ . @ +)');
    return value;
  };
}

/** This toolkit's version (package.json), for `dr --version`. */
function packageVersion(): string {
  const file = join(__dirname, '..', '..', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * The AWS SDK's "not set up" errors, as a person at a shell needs them: what is missing and how to set it. The
 * SDK throws these before any request (no region: "Region is missing"; no credentials anywhere in its chain:
 * CredentialsProviderError "Could not load credentials from any providers").
 */
function awsSetupProblem(error: unknown): string | undefined {
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  if (message === 'Region is missing')
    return (
      'no AWS region: pass --region <region> (the orchestration region, where the workflows run) or set ' +
      'AWS_REGION (or a region in the AWS_PROFILE you use)'
    );
  if (name === 'CredentialsProviderError' || message?.startsWith('Could not load credentials') === true)
    return (
      'no AWS credentials: set AWS_PROFILE to a profile in ~/.aws/config (run aws sso login first for an SSO ' +
      'profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role is attached'
    );
  return undefined;
}

function failure(error: unknown): { exitCode: number; code: string; message: string } {
  if (error instanceof UsageError) return { exitCode: EXIT_USAGE, code: 'usage', message: error.message };
  const setup = awsSetupProblem(error);
  if (setup !== undefined) return { exitCode: EXIT_AWS_SETUP, code: 'aws-setup', message: setup };
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
  // --profile: the SDK's credential and region chains read AWS_PROFILE when a client first needs them, so it is
  // set before the command runs and put back after (runCli also runs inside tests).
  const profileBefore = process.env.AWS_PROFILE;
  program.hook('preAction', (_program, command) => {
    const own = command.opts<{ profile?: string; config?: string }>();
    const top = program.opts<{ profile?: string; config?: string }>();
    const profile = own.profile ?? top.profile;
    if (profile !== undefined) process.env.AWS_PROFILE = profile;
    // A config given after the command wins; `dr doctor` reads the one given before it too.
    const ownConfig = command.getOptionValueSource('config') === 'cli' ? own.config : undefined;
    const configFile = ownConfig ?? top.config;
    if (command.name() === 'doctor' && ownConfig === undefined && top.config !== undefined)
      command.setOptionValueWithSource('config', top.config, 'cli');
    applyConfigDefaults(command, () => findConfig(configFile));
  });
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
  } finally {
    if (profileBefore === undefined) delete process.env.AWS_PROFILE;
    else process.env.AWS_PROFILE = profileBefore;
  }
}
