/**
 * `dr backups` says what a restore from backup would have: the writer's newest restorable point in the DR region
 * and in the writer's other region (and how old each is), the last restore tests and their outcome, any throwaway instance a test
 * left, the newest logical dump in each region's backup bucket, and the last dump restore tests with what
 * their reports say. `dr backups restore-test` starts the restore test now (statemachines/restore-test.asl.json,
 * or with --dump statemachines/dump-restore-test.asl.json) and follows it.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { dumpCheckReportKey, readDumpCheckReport } from '../../lambdas/backups/dump-check-report';
import { dumpAgeSeconds, newestDump } from '../../lambdas/backups/dump-listing';
import { runToken } from '../../lambdas/backups/dump-run';
import { jsonOf } from '../../lambdas/shared/json-text';
import { DUMP_PREFIX } from '../../lambdas/shared/patterns';
import { awsRegion } from '../../lambdas/shared/schemas';
import { backupAge, RestoreTestError, type BackupAge } from '../../lambdas/restore-test/backups';
import { restoreTestInstances } from '../../lambdas/restore-test/restore';
import { sleep } from '../../lambdas/shared/sleep';
import { readTopology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import {
  DUMP_LOCATIONS_OUTPUT,
  DUMP_RESTORE_TEST_OUTPUT,
  RESTORE_TEST_OUTPUT,
  ROUTE53_METRICS_REGION,
  type DumpLocations,
} from '../names';
import { defaultFromConfig, FROM_CONFIG } from './config-defaults';
import {
  addFollowOptions,
  derivedExecutionName,
  followExecution,
  startAndFollow,
  type ExecutionOutcome,
  type FollowIo,
} from './follow-execution';
import {
  executionName as executionNameOption,
  regionName,
  resourcePrefix,
  stackName,
  wholeNumber,
} from './option-values';
import { stackOutput } from './stack-output';
import { UsageError } from './usage-error';

export interface BackupsIo extends FollowIo {
  /** CloudFormation, RDS and Step Functions of the DR region. */
  readonly cloudFormation: Pick<CloudFormationClient, 'send'>;
  readonly rds: Pick<RDSClient, 'send'>;
  /** RDS in another region: the writer's backups kept there. */
  readonly rdsIn: (region: string) => Pick<RDSClient, 'send'>;
  /** Parameter Store where the topology lives (the failover DNS stack's region). */
  readonly ssm: Pick<SSMClient, 'send'>;
  /** S3 in a region: each region's backup bucket, for the dumps and the dump restore tests' reports. */
  readonly s3: (region: string) => Pick<S3Client, 'send'>;
}

export interface BackupsOptions {
  stack: string;
  region?: string;
  resourcePrefix: string;
  limit: number;
  json?: boolean;
}

export interface RestoreTestOptions extends Omit<BackupsOptions, 'limit'> {
  /** The dump restore test instead of the restore test of the physical backups. */
  dump?: boolean;
  executionName?: string;
  pollInterval: number;
  timeout: number;
}

export interface BackupsActions {
  readonly list: (options: BackupsOptions) => Promise<void>;
  readonly restoreTest: (options: RestoreTestOptions) => Promise<void>;
}

/** The options both commands take: where the DR region's stack is, and the prefix that names things. */
function withDrRegion(command: Command): Command {
  command
    .option(
      '--stack <name>',
      'the DR region stack, whose output names the restore test (default: from the config, else this)',
      stackName(),
      'pg-dr-secondary',
    )
    .option(
      '--region <region>',
      "the DR region (default: the config's secondaryRegion; else AWS_REGION or the profile's)",
      regionName(),
    )
    .option(
      '--resource-prefix <prefix>',
      "the app's dr.resourcePrefix: names the topology and the throwaway instances (default: from the config, else this)",
      resourcePrefix(),
      'pg-dr',
    )
    .option('--json', 'print one machine-readable JSON result');
  defaultFromConfig(command, 'stack', FROM_CONFIG.secondaryStack);
  defaultFromConfig(command, 'region', FROM_CONFIG.secondaryRegion);
  return defaultFromConfig(command, 'resourcePrefix', FROM_CONFIG.resourcePrefix);
}

/** Adds `dr backups` and `dr backups restore-test`. */
export function addBackupsCommands(program: Command, actions: BackupsActions): void {
  const backups = withDrRegion(
    program
      .command('backups')
      .enablePositionalOptions()
      .description(
        'What a restore from backup would have: the writer’s newest restorable point in the DR region and in ' +
          'its other region, and their age, the last restore tests, any throwaway instance a test left, the newest logical ' +
          'dump in each region and the last dump restore tests (docs/backups.md).',
      ),
  )
    .addOption(
      new Option('--limit <n>', 'how many restore tests of each kind to list')
        .argParser(wholeNumber('--limit', 100))
        .default(5),
    )
    .action(actions.list);
  withDrRegion(
    addFollowOptions(
      backups
        .command('restore-test')
        .description(
          'Run the restore test now and follow it: the writer’s latest backup in the DR region restored into a ' +
            'throwaway instance, checked, measured and deleted (about as long as RDS takes to restore it). ' +
            'With --dump, the dump restore test: the newest dump in the DR region’s bucket restored by a ' +
            'Fargate task into a throwaway server and checked against its manifest.',
        ),
    ),
  )
    .option('--dump', 'run the dump restore test instead of the restore test of the physical backups')
    .option(
      '--execution-name <name>',
      'execution name (default: restore-test-<minute>-<digest>)',
      executionNameOption(),
    )
    .action(actions.restoreTest);
}

export interface RestoreTestRun {
  readonly name: string;
  readonly status: string;
  readonly startDate: string;
  readonly stopDate?: string;
}

/** The newest logical dump in one region's backup bucket, none, or why it could not be read. */
export type DumpsInRegion = { readonly region: string; readonly bucket: string } & (
  | {
      readonly newest: {
        readonly manifestKey: string;
        readonly sourceInstance: string;
        readonly startedAt: string;
        readonly ageSeconds: number;
      } | null;
    }
  | { readonly error: string }
);

export interface BackupsReport {
  readonly region: string;
  readonly writer: string;
  /** The writer's newest restorable point in each region, the DR region first; or why there is none. */
  readonly backups: readonly ({ readonly region: string } & (BackupAge | { readonly error: string }))[];
  readonly restoreTests: readonly RestoreTestRun[];
  readonly throwawayInstances: readonly { readonly instanceIdentifier: string; readonly status: string }[];
  /** Each region's newest dump; an error alone when the stack does not say where they are. */
  readonly dumps: readonly DumpsInRegion[] | { readonly error: string };
  /** The last dump restore tests; an error alone when the stack does not name the workflow. */
  readonly dumpRestoreTests: readonly DumpRestoreTestRun[] | { readonly error: string };
}

/** What a finished dump restore test's report says; null while it runs or when it left none. */
export type DumpRestoreReportSummary =
  | {
      readonly ok: boolean;
      readonly reportKey: string;
      readonly dumpKey?: string;
      readonly restoreSeconds?: number;
      /** The checks that failed, by name. */
      readonly failedChecks: readonly string[];
      /** What kept the checks from running (NoDumpToRestore, a tool, the server). */
      readonly error?: string;
    }
  | { readonly reportKey: string; readonly unreadable: string };

export interface DumpRestoreTestRun extends RestoreTestRun {
  readonly report: DumpRestoreReportSummary | null;
}

/** The DR region stack's DUMP_LOCATIONS_OUTPUT, as the stack writes it (names.ts, dumpLocations). */
const dumpLocationsSchema = z.object({
  prefix: z.string().regex(DUMP_PREFIX),
  buckets: z
    .array(z.object({ region: awsRegion, bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/) }))
    .min(1)
    .max(2),
});

/** Where the stack says the dumps are; an older stack, or an output this dr cannot read, as an error. */
async function dumpLocationsOf(
  options: BackupsOptions,
  io: BackupsIo,
): Promise<DumpLocations | { readonly error: string }> {
  let text: string;
  try {
    text = await stackOutput(
      io.cloudFormation,
      options.stack,
      DUMP_LOCATIONS_OUTPUT,
      ': deploy this version',
    );
  } catch (error) {
    if (error instanceof UsageError) return { error: error.message };
    throw error;
  }
  return (
    jsonOf(dumpLocationsSchema, text) ?? {
      error: `stack ${options.stack}'s ${DUMP_LOCATIONS_OUTPUT} output is not what this dr reads`,
    }
  );
}

/** The newest dump of each region's bucket; a bucket that cannot be read is reported, not thrown. */
async function newestDumps(
  locations: DumpLocations | { readonly error: string },
  io: BackupsIo,
): Promise<readonly DumpsInRegion[] | { readonly error: string }> {
  if ('error' in locations) return locations;
  const now = new Date(io.now());
  return Promise.all(
    locations.buckets.map(async ({ region, bucket }): Promise<DumpsInRegion> => {
      try {
        const newest = await newestDump(io.s3(region), bucket, locations.prefix);
        return {
          region,
          bucket,
          newest:
            newest === undefined
              ? null
              : {
                  manifestKey: newest.manifestKey,
                  sourceInstance: newest.sourceInstance,
                  startedAt: newest.startedAt.toISOString(),
                  ageSeconds: dumpAgeSeconds(newest, now) ?? 0,
                },
        };
      } catch (error) {
        const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        return { region, bucket, error: `cannot list s3://${bucket}/${locations.prefix} (${detail})` };
      }
    }),
  );
}

const errorText = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** What the report a finished run left says (its key follows from the execution, dumpCheckReportKey). */
async function dumpRestoreReport(
  io: BackupsIo,
  bucket: { readonly region: string; readonly bucket: string },
  execution: { readonly name: string; readonly startDate: Date },
): Promise<DumpRestoreReportSummary | null> {
  const reportKey = dumpCheckReportKey(execution.startDate, runToken(execution.name));
  try {
    const report = await readDumpCheckReport(io.s3(bucket.region), bucket.bucket, reportKey);
    if (report === undefined) return null;
    return {
      ok: report.ok,
      reportKey,
      ...(report.dumpKey === undefined ? {} : { dumpKey: report.dumpKey }),
      ...(report.restoreSeconds === undefined ? {} : { restoreSeconds: report.restoreSeconds }),
      failedChecks: report.checks.filter((c) => !c.passed).map((c) => c.name),
      ...(report.error === undefined
        ? {}
        : { error: `${report.error.name}: ${report.error.message.slice(0, 300)}` }),
    };
  } catch (error) {
    return { reportKey, unreadable: errorText(error) };
  }
}

/**
 * The last dump restore tests (its workflow's executions), each with what its report in the DR region's bucket
 * says. A stack without the workflow, or without the dump locations, is reported, not thrown.
 */
async function dumpRestoreTests(
  options: BackupsOptions & { readonly region: string },
  io: BackupsIo,
  locations: DumpLocations | { readonly error: string },
): Promise<readonly DumpRestoreTestRun[] | { readonly error: string }> {
  if ('error' in locations) return locations;
  const drBucket = locations.buckets.find((b) => b.region === options.region);
  if (drBucket === undefined)
    return { error: `stack ${options.stack} keeps no backup bucket in ${options.region}` };
  let stateMachineArn: string;
  try {
    stateMachineArn = await stackOutput(
      io.cloudFormation,
      options.stack,
      DUMP_RESTORE_TEST_OUTPUT,
      ': deploy this version',
    );
  } catch (error) {
    if (error instanceof UsageError) return { error: error.message };
    throw error;
  }
  const { executions } = await io.sfn.send(
    new ListExecutionsCommand({ stateMachineArn, maxResults: options.limit }),
  );
  return Promise.all(
    (executions ?? []).map(async (e): Promise<DumpRestoreTestRun> => {
      const { name, startDate } = e;
      const finished = e.status !== 'RUNNING' && name !== undefined && startDate !== undefined;
      return {
        ...executionRun(e),
        report: finished ? await dumpRestoreReport(io, drBucket, { name, startDate }) : null,
      };
    }),
  );
}

function executionRun(e: {
  name?: string;
  status?: string;
  startDate?: Date;
  stopDate?: Date;
}): RestoreTestRun {
  return {
    name: e.name ?? '?',
    status: e.status ?? '?',
    startDate: e.startDate?.toISOString() ?? '?',
    ...(e.stopDate === undefined ? {} : { stopDate: e.stopDate.toISOString() }),
  };
}

/** Reads what `dr backups` reports; a writer without backups in the region is reported, not thrown. */
export async function listBackups(options: BackupsOptions, io: BackupsIo): Promise<BackupsReport> {
  const region = options.region;
  if (region === undefined)
    throw new UsageError(
      'no DR region: pass --region <secondaryRegion>, or run where cdk.json (--config) names it',
    );
  const topology = await readTopology(io.ssm, topologyParameterNames(options.resourcePrefix));
  const writer = topology.writer.instanceIdentifier;
  const stateMachineArn = await stackOutput(
    io.cloudFormation,
    options.stack,
    RESTORE_TEST_OUTPUT,
    ': deploy the app (or check --stack, --region: the DR region)',
  );
  const locations = await dumpLocationsOf(options, io);
  // The DR region, then the app's other region (from the stack's dump locations; else the topology's, which
  // after a failover not yet re-protected names this region alone).
  const regions = [
    ...new Set([
      region,
      ...('error' in locations ? [] : locations.buckets.map((b) => b.region)),
      topology.writer.region,
      ...(topology.replica === null ? [] : [topology.replica.region]),
    ]),
  ];
  const [backups, runs, throwaway, dumps, dumpTests] = await Promise.all([
    Promise.all(
      regions.map(async (r) => ({
        region: r,
        ...(await backupAge(r === region ? io.rds : io.rdsIn(r), topology.writer, r, io.now()).catch(
          (error: unknown) => {
            if (error instanceof RestoreTestError) return { error: error.message };
            throw error;
          },
        )),
      })),
    ),
    io.sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: options.limit })),
    restoreTestInstances(io.rds, options.resourcePrefix),
    newestDumps(locations, io),
    dumpRestoreTests({ ...options, region }, io, locations),
  ]);
  return {
    region,
    writer,
    backups,
    restoreTests: (runs.executions ?? []).map(executionRun),
    throwawayInstances: throwaway.map((i) => ({
      instanceIdentifier: i.DBInstanceIdentifier ?? '?',
      status: i.DBInstanceStatus ?? '?',
    })),
    dumps,
    dumpRestoreTests: dumpTests,
  };
}

const minutes = (seconds: number): string =>
  seconds < 90
    ? `${Math.round(seconds)} s`
    : seconds < 5400
      ? `${Math.round(seconds / 60)} min`
      : `${(seconds / 3600).toFixed(1)} h`;

/** The report as lines for a person. */
export function describeBackups(report: BackupsReport): string[] {
  return [
    `Backups of the writer ${report.writer} (automated backups; the restore test proves those in ${report.region}):`,
    ...report.backups.map((b) =>
      'error' in b
        ? `  ${b.region}  none: ${b.error}`
        : `  ${b.region}  newest restorable point ${b.latestRestorableTime} (${minutes(b.seconds)} ago), ${b.replicated ? 'replicated from the writer’s region' : 'the writer’s own (it is in this region)'}`,
    ),
    'Restore tests (newest first):',
    ...(report.restoreTests.length === 0
      ? ['  none yet (dr backups restore-test runs one)']
      : report.restoreTests.map(
          (t) =>
            `  ${t.name}  ${t.status}  started ${t.startDate}${t.stopDate === undefined ? '' : `, ended ${t.stopDate}`}`,
        )),
    ...(report.throwawayInstances.length === 0
      ? []
      : [
          'Throwaway instances (the next test deletes any a stopped test left):',
          ...report.throwawayInstances.map((i) => `  ${i.instanceIdentifier}  ${i.status}`),
        ]),
    'Logical dumps (the newest in each region’s backup bucket):',
    ...('error' in report.dumps
      ? [`  unknown: ${report.dumps.error}`]
      : report.dumps.map((d) =>
          'error' in d
            ? `  ${d.region}  ${d.error}`
            : d.newest === null
              ? `  ${d.region}  none in s3://${d.bucket}`
              : `  ${d.region}  ${d.newest.startedAt} (${minutes(d.newest.ageSeconds)} ago), of ${d.newest.sourceInstance}: s3://${d.bucket}/${d.newest.manifestKey}`,
        )),
    'Dump restore tests (newest first):',
    ...('error' in report.dumpRestoreTests
      ? [`  unknown: ${report.dumpRestoreTests.error}`]
      : report.dumpRestoreTests.length === 0
        ? ['  none yet (dr backups restore-test --dump runs one)']
        : report.dumpRestoreTests.map(
            (t) =>
              `  ${t.name}  ${t.status}  started ${t.startDate}${t.stopDate === undefined ? '' : `, ended ${t.stopDate}`}${describeDumpReport(t)}`,
          )),
  ];
}

/** A dump restore test's report, after its execution's line. */
function describeDumpReport(run: DumpRestoreTestRun): string {
  const report = run.report;
  if (report === null) return run.status === 'RUNNING' ? '' : ': no report (the check never ran to its end)';
  if ('unreadable' in report) return `: report ${report.reportKey} unreadable (${report.unreadable})`;
  const took = report.restoreSeconds === undefined ? '' : `, restored in ${minutes(report.restoreSeconds)}`;
  const dump = report.dumpKey === undefined ? '' : ` (${report.dumpKey})`;
  if (report.ok) return `: every check passed${took}${dump}`;
  if (report.error !== undefined) return `: could not check${dump}: ${report.error}`;
  return `: checks failed: ${report.failedChecks.join(', ')}${took}${dump}`;
}

/** The two restore tests `dr backups restore-test` runs: its output, execution names and words. */
const RESTORE_TESTS = {
  physical: {
    output: RESTORE_TEST_OUTPUT,
    namePrefix: 'restore-test',
    title: 'Restore test',
    what: 'It restores the writer’s latest backup in the DR region into a throwaway instance; RDS may take an hour or more.\n',
  },
  dump: {
    output: DUMP_RESTORE_TEST_OUTPUT,
    namePrefix: 'dump-restore-test',
    title: 'Dump restore test',
    what: 'A Fargate task restores the newest dump in the DR region’s bucket into a throwaway server and checks it against its manifest.\n',
  },
} as const;

/** Starts the restore test and follows it; one already running is followed instead of starting a second. */
export async function runRestoreTest(options: RestoreTestOptions, io: BackupsIo): Promise<ExecutionOutcome> {
  const test = RESTORE_TESTS[options.dump === true ? 'dump' : 'physical'];
  const stateMachineArn = await stackOutput(
    io.cloudFormation,
    options.stack,
    test.output,
    ': deploy the app (or check --stack, --region: the DR region)',
  );
  const { executions } = await io.sfn.send(
    new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 1 }),
  );
  const running = executions?.[0];
  if (running?.executionArn !== undefined) {
    io.out(`${test.title} ${running.name ?? '?'} is running: following it\n`);
    return followExecution(io, running.executionArn, io.now(), options);
  }
  const name = options.executionName ?? derivedExecutionName(test.namePrefix, {}, io.now());
  return startAndFollow(
    io,
    {
      stateMachineArn,
      name,
      input: {},
      started: (arn) => `${test.title} ${name} started: ${arn}\n${test.what}`,
    },
    options,
  );
}

/**
 * The closing line: how it ended, or that it goes on and how to follow it again. The restore time is in the
 * restore test's `conclusion`, or in the dump restore test's output, which is its report.
 */
export function summarizeRestoreTest(outcome: ExecutionOutcome, dump = false): string {
  const test = RESTORE_TESTS[dump ? 'dump' : 'physical'];
  if (outcome.error === 'FollowTimeout')
    return `Still running (${outcome.executionArn}): run dr backups restore-test${dump ? ' --dump' : ''} again to follow it.`;
  const output = outcome.output as
    { conclusion?: { restoreSeconds?: number | null }; restoreSeconds?: number } | undefined;
  const conclusion = dump ? output : output?.conclusion;
  const took =
    typeof conclusion?.restoreSeconds === 'number'
      ? ` The restore took ${minutes(conclusion.restoreSeconds)}.`
      : '';
  const failed =
    outcome.error === undefined
      ? ''
      : ` Failed: ${outcome.error}${outcome.cause === undefined ? '' : `: ${outcome.cause}`}`;
  return `${test.title} ${outcome.status}.${took}${failed}`;
}

/** Real clients: the DR region's, and Parameter Store beside the failover records. */
export function defaultBackupsIo(out: (text: string) => void, region: string | undefined): BackupsIo {
  const config = region === undefined ? {} : { region };
  return {
    out,
    sfn: new SFNClient(config),
    cloudFormation: new CloudFormationClient(config),
    rds: new RDSClient(config),
    rdsIn: (rdsRegion) => new RDSClient({ region: rdsRegion }),
    ssm: new SSMClient({ region: ROUTE53_METRICS_REGION }),
    s3: (bucketRegion) => new S3Client({ region: bucketRegion }),
    now: Date.now,
    sleep,
  };
}
