import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { backupRestoreBudgets, type BackupRestoreFigures, rehearseBackupRestore } from './backup-restore';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import type { DrillReport } from '../../lambdas/drill/report';
import type { ConnectionSettings } from '../../lambdas/shared/database';
import { execute } from '../local-postgres/replication';
import { localPassword, PostgresServer } from '../local-postgres/server';
import { localRdsEndpoint, resolveLocalRdsEndpoints } from '../local-aws/endpoint-dns';
import { newInstanceOn } from '../local-aws/new-instance';
import { makeOwnedFolder, markKept, sweepAbandonedFolders } from '../local-postgres/ownership';
import { promises as dnsPromises } from 'node:dns';
import { localWorld } from '../local-aws/from-app';
import { asPrincipal } from '../local-aws/world';
import { runInWorld, scheduledDrillInput, type WorldExecution } from '../local-aws/workflow';
import { drNames } from '../names';
import { parseConfig } from '../config';
import { LoadGenerator, longestWritePause, type LoadSample } from './load';
import { rehearseRegionLoss, type RegionLossFigures, type SwitchoverFigures } from './region-loss';

export interface RehearsalOptions {
  /** Where servers and reports live; a fresh temp folder by default. */
  readonly workDir?: string;
  readonly migrationsDir: string;
  /** Leave the servers running afterwards (their connection details are printed). */
  readonly keepServers: boolean;
  /** Progress lines for the terminal. */
  readonly progress: (line: string) => void;
  /** Route 53's simulated delay in acting on a health-check change, and the records' TTL. */
  readonly route53SwitchDelayMs: number;
  readonly recordTtlSeconds: number;
  readonly s3ReplicationDelayMs: number;
  /** Ports primary, replica, blue, green get: base, base + 1, base + 2, base + 3 (default: free ones). */
  readonly portBase?: number;
}

export interface Budget {
  readonly name: string;
  readonly value: number | null;
  readonly unit: 's' | 'ms' | 'writes' | 'checks';
  readonly budget: number;
  readonly met: boolean;
}

export interface StepTiming {
  readonly workflow: string;
  readonly state: string;
  /** Seconds since the rehearsal started. */
  readonly at: number;
}

export interface RehearsalResult {
  readonly ok: boolean;
  readonly startedAt: number;
  readonly durationSeconds: number;
  readonly budgets: readonly Budget[];
  readonly steps: readonly StepTiming[];
  readonly workflows: Record<string, { status: string; error?: string }>;
  readonly drillReport?: DrillReport;
  readonly cutover: { lostWrites: number; ackedWrites: number; longestWritePauseMs: number };
  /** The rollback: writes acknowledged until it finished, and how many of them blue lacked (0). */
  readonly rollback: { lostWrites: number; ackedWrites: number };
  /**
   * The region loss: RTO and RPO measured, writes the returned primary took, and the record after a redeploy
   * following each role change (the failover, the re-protect, the failback).
   */
  readonly regionLoss: {
    readonly rtoSeconds: number | null;
    readonly lostWrites: number;
    readonly ackedWrites: number;
    readonly returnedWritesAccepted: number;
    readonly redeploys: readonly {
      readonly after: string;
      readonly answer: readonly string[];
      readonly writer: string;
      /** RDS instances the redeploy would update or replace: none. */
      readonly instancesTouched: number;
    }[];
  };
  /** "Restore from backup": a logical dump taken under writes, restored and checked against its manifest. */
  readonly backupRestore: BackupRestoreFigures;
  /** The failback switchover: acknowledged writes lost (0) and the longest write pause the application saw. */
  readonly switchover: {
    readonly lostWrites: number;
    readonly ackedWrites: number;
    readonly longestWritePauseMs: number;
  };
  /** Requests per second, per application, for the timeline. */
  readonly timeline: readonly { second: number; app: string; ok: number; failed: number }[];
  readonly marks: readonly { label: string; second: number }[];
  /** Embedded-metric records the handlers published (what CloudWatch would have received). */
  readonly metricsCaptured: number;
  /** Simulated AWS calls, and how many were authorized against the calling step's synthesized role. */
  readonly awsCalls: { readonly total: number; readonly authorized: number; readonly denied: number };
  /** What the DR application sent while its answer was the read replica. */
  readonly drSamplesOnReplica: readonly LoadSample[];
  readonly serversStopped: boolean;
  /** The PostgreSQL servers the rehearsal ran (still running with keepServers). */
  readonly servers: readonly { readonly name: string; readonly port: number; readonly folder: string }[];
  readonly workDir: string;
}

const ACCOUNT = '111122223333';
/** Simulated time for a record change to reach INSYNC, and how often the DNS flip polls for it. */
const INSYNC_DELAY_MS = 500;
const FLIP_POLL_MS = 1000;
/** The database side of the cutover (fence, catch-up, sequence sync): the bench:cutover budget. */
const CUTOVER_DATABASE_PAUSE_MS = 2000;
const ZONE = 'Z0REHEARSAL00001';
const ZONE_NAME = 'rehearsal.internal';
/** The production record (the migration flips it from the primary to green) and the drill's own record. */
const RECORD = `db.${ZONE_NAME}`;
const DRILL_RECORD = `db-drill.${ZONE_NAME}`;
const MASTER_SECRET = 'pg-dr/postgres-master';
/** Green, as the provisioning creates it: its identifier, the region it is made in (blue's), its RDS endpoint. */
const GREEN_INSTANCE = 'pg-dr-green-rehearsal';
const GREEN_REGION = 'us-west-2';
const GREEN_ENDPOINT = localRdsEndpoint(GREEN_INSTANCE, GREEN_REGION);
/**
 * The primary's RDS endpoint: a DNS name, as every record target must be, that the local world resolves to the
 * primary's server (the rehearsal config keeps the default instance identifier).
 */
const PRIMARY_ENDPOINT = localRdsEndpoint('pg-dr-primary', GREEN_REGION);
/** The dedicated replication user's password (the secret the stack generates, here given). */
const REPLICATION_PASSWORD = localPassword();

/** The DR configuration the rehearsal deploys (synthesized as cdk.json's would be), in the rehearsal's zone. */
export function rehearsalConfig(migrationsDir: string): Record<string, unknown> {
  return {
    account: ACCOUNT,
    primaryRegion: 'us-west-2',
    secondaryRegion: 'us-east-1',
    hostedZoneId: ZONE,
    hostedZoneName: ZONE_NAME,
    recordName: RECORD,
    onCall: { email: 'on-call@example.org' },
    migrationsDirectory: resolve(migrationsDir),
    database: { secretName: MASTER_SECRET },
  };
}

function secretOf(server: PostgresServer, host: string, database: string): string {
  return JSON.stringify({
    engine: 'postgres',
    username: server.user,
    password: server.password,
    host,
    port: server.port,
    dbname: database,
  });
}

const settingsOf = (server: PostgresServer, host: string, database: string): ConnectionSettings => ({
  host,
  port: server.port,
  database,
  user: server.user,
  password: server.password,
  ...(server.tls === undefined ? {} : { ca: server.tls.caCert }),
});

/** Captures Powertools' JSON logs and EMF metrics (what CloudWatch would receive) into files. */
function captureLambdaOutput(dir: string): { restore: () => void; metrics: Record<string, unknown>[] } {
  const metrics: Record<string, unknown>[] = [];
  const logLines: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    for (const line of text.split('\n').filter((l) => l.trim() !== '')) {
      if (line.includes('"_aws"')) metrics.push(JSON.parse(line) as Record<string, unknown>);
      else logLines.push(line);
    }
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  };
  return {
    metrics,
    restore: () => {
      process.stdout.write = original;
      writeFileSync(join(dir, 'lambda-logs.jsonl'), `${logLines.join('\n')}\n`);
      writeFileSync(
        join(dir, 'cloudwatch-metrics.jsonl'),
        `${metrics.map((m) => JSON.stringify(m)).join('\n')}\n`,
      );
    },
  };
}

/** What every phase of a rehearsal shares: its options, clock, progress, servers and cleanups. */
interface RehearsalRun {
  readonly options: RehearsalOptions;
  readonly startedAt: number;
  readonly workDir: string;
  /** Seconds since the start, to a tenth. */
  readonly since: (at: number) => number;
  readonly say: (line: string) => void;
  readonly servers: PostgresServer[];
  /** Undone in reverse order when the rehearsal ends, whichever way. */
  readonly cleanups: (() => Promise<void> | void)[];
}

interface Databases {
  readonly primary: PostgresServer;
  readonly green: PostgresServer;
  readonly replica: PostgresServer;
}

/**
 * Real PostgreSQL plays the databases: a primary (wal_level=logical) seeded with all migrations but the last,
 * with its streaming replica; and an empty server that the green provisioning's CreateDBInstance gets as green
 * (wal_level=logical too: blue follows it by the way back after the cutover).
 */
async function startDatabases(run: RehearsalRun): Promise<Databases> {
  const { options, say, servers } = run;
  say('starting PostgreSQL: primary (wal_level=logical), and an empty server for green');
  const room = {
    max_replication_slots: '10',
    max_wal_senders: '10',
    max_logical_replication_workers: '10',
  };
  const port = (offset: number) =>
    options.portBase === undefined ? {} : { port: options.portBase + offset };
  // Kept servers must outlive this process; the others die with it, even by kill -9.
  const dieWithOwner = !options.keepServers;
  const [primary, green] = await Promise.all([
    PostgresServer.start({
      name: 'rehearsal-primary',
      settings: { wal_level: 'logical', ...room },
      dieWithOwner,
      ...port(0),
    }),
    PostgresServer.start({
      name: 'rehearsal-green',
      settings: { wal_level: 'logical', ...room },
      dieWithOwner,
      ...port(2),
    }),
  ]);
  servers.push(primary, green);

  const migrations = await readMigrationsFolder(resolve(options.migrationsDir));
  const applied = migrations.slice(0, Math.max(0, migrations.length - 1));
  say(
    `seeding the primary: ${applied.length} of ${migrations.length} migrations applied, accounts and orders`,
  );
  await execute(primary, 'postgres', 'CREATE DATABASE app');
  const client = new Client(primary.clientConfig('app'));
  await client.connect();
  await applyPendingMigrations(client, applied);
  await client.end();
  await execute(
    primary,
    'app',
    "INSERT INTO account (email) SELECT 'customer' || g || '@example.org' FROM generate_series(1, 200) AS g",
    'INSERT INTO "order" (account_id, total_cents) SELECT 1 + (g % 200), g FROM generate_series(1, 2000) AS g',
  );
  say('replica: streaming standby of the primary (the cross-region replica)');
  const replica = await PostgresServer.startStandby(primary, { name: 'rehearsal-replica', ...port(1) });
  servers.push(replica);
  return { primary, green, replica };
}

/**
 * The simulated AWS, seeded from the CDK app synthesized with the rehearsal's configuration; every AWS call
 * is authorized against the calling step's role. DNS resolves through its Route 53, with TTL caches.
 */
function startSimulatedAws(run: RehearsalRun, { primary, green, replica }: Databases) {
  const { options, say, cleanups } = run;
  // SIMULATED AWS, seeded from the synthesized app, IAM enforced from its roles.
  say('synthesizing the CDK app: simulated AWS from its templates, IAM from its roles');
  const configInput = rehearsalConfig(options.migrationsDir);
  const config = parseConfig(configInput);
  const names = drNames(config);
  const replicationSecretName = config.database.replicationSecretName;
  // RDS endpoints (green's) resolve to the loopback servers, as the VPC resolver answers them.
  cleanups.push(resolveLocalRdsEndpoints());
  const world = localWorld({
    config: configInput,
    endpoints: {
      [config.database.primaryInstanceIdentifier]: PRIMARY_ENDPOINT,
      [config.database.replicaInstanceIdentifier]: 'localhost',
    },
    // RDS's Endpoint.Port of each: the topology records them, and the drill and probes connect there.
    ports: {
      [config.database.primaryInstanceIdentifier]: primary.port,
      [config.database.replicaInstanceIdentifier]: replica.port,
    },
    secrets: {
      [MASTER_SECRET]: secretOf(primary, '127.0.0.1', 'app'),
      [replicationSecretName]: JSON.stringify({ username: 'dr_replication', password: REPLICATION_PASSWORD }),
    },
    onCreateInstance: newInstanceOn(green),
    route53: { switchDelayMs: options.route53SwitchDelayMs, insyncDelayMs: INSYNC_DELAY_MS },
    s3ReplicationDelayMs: options.s3ReplicationDelayMs,
  });
  // The rehearsal's records live shorter than production allows (5 s at least), to keep it short.
  for (const name of [RECORD, DRILL_RECORD])
    for (const role of ['primary', 'secondary'])
      Object.assign(world.route53.recordSet(name, `${name}-${role}`) ?? {}, {
        TTL: options.recordTtlSeconds,
      });
  cleanups.push(world.aws.install());
  // The drill's VPC resolver (and the applications') resolve through the simulated Route 53, with TTL caches.
  const originalResolveCname = dnsPromises.resolveCname.bind(dnsPromises);
  (dnsPromises as { resolveCname: (name: string) => Promise<string[]> }).resolveCname =
    world.route53.resolver();
  cleanups.push(() => {
    (dnsPromises as { resolveCname: (name: string) => Promise<string[]> }).resolveCname =
      originalResolveCname;
  });
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'rehearsal',
    AWS_SECRET_ACCESS_KEY: 'rehearsal',
    DB_CA_FILE: join(primary.rootDir, 'tls', 'ca.crt'),
    MIGRATIONS_DIR: resolve(options.migrationsDir),
    DRILL_HEALTH_CHECK_IDS: world.ref('AWS::Route53::HealthCheck', 'FailoverDnsDrillRecordHealth'),
  });
  return { world, config, names };
}

type World = ReturnType<typeof localWorld>;

/**
 * The applications: a health endpoint for the smoke tests, and two clients reading and writing through the
 * records (the production record, which the migration cuts over to green; the drill record, which the drill
 * fails over to the replica). The Lambdas' output is captured to the work folder from here on.
 */
async function startApplications(run: RehearsalRun, world: World, { primary, green, replica }: Databases) {
  const { say, cleanups, workDir } = run;
  // The application's health endpoint, for the smoke tests.
  const health: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
  });
  await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        health.closeAllConnections();
        health.close(() => {
          r();
        });
      }),
  );
  const healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;

  const apps = {
    migration: new LoadGenerator({
      name: 'migration',
      recordName: RECORD,
      resolve: world.route53.resolver(),
      endpoints: new Map([
        [PRIMARY_ENDPOINT, settingsOf(primary, '127.0.0.1', 'app')],
        [GREEN_ENDPOINT, settingsOf(green, '127.0.0.1', 'app')],
      ]),
      intervalMs: 20,
      timeoutMs: 1000,
    }),
    dr: new LoadGenerator({
      name: 'dr',
      recordName: DRILL_RECORD,
      resolve: world.route53.resolver(),
      endpoints: new Map([
        [PRIMARY_ENDPOINT, settingsOf(primary, '127.0.0.1', 'app')],
        ['localhost', settingsOf(replica, 'localhost', 'app')],
      ]),
      intervalMs: 50,
      timeoutMs: 1000,
    }),
  };
  const output = captureLambdaOutput(workDir);
  cleanups.push(output.restore);
  say(`applications: reading and writing through ${RECORD} and ${DRILL_RECORD}`);
  apps.migration.start();
  apps.dr.start();
  cleanups.push(async () => {
    await Promise.all([apps.migration.stop(), apps.dr.stop()]);
  });
  return { apps, healthUrl, output };
}

/**
 * The drill, with exactly the schedule's input (the EventBridge rule's target), drilling what the topology
 * names (the local servers, at the ports the world's instances were given), polling faster than production so
 * the rehearsal stays short. Its migration dry run
 * (startExecution.sync) starts the blue-green workflow as the drill's role and runs it to its end.
 */
async function runDrill(
  world: World,
  names: ReturnType<typeof drNames>,
  config: ReturnType<typeof parseConfig>,
  blueGreenRun: (
    input: unknown,
    execution?: Parameters<typeof runInWorld>[0]['execution'],
  ) => Promise<WorldExecution>,
): Promise<WorldExecution> {
  const drillInput = scheduledDrillInput(world, `${config.orchestrationRegion}/${names.drillSchedule}`, {
    limits: {
      maxReplicaLagSeconds: 30,
      failbackTimeoutSeconds: 60,
      heartbeatTimeoutSeconds: 30,
      s3TimeoutSeconds: 60,
      pollMs: 200,
    },
  });
  const region = config.orchestrationRegion;
  return runInWorld({
    world,
    file: 'failover-drill.asl.json',
    stateMachineName: names.drillStateMachine,
    input: drillInput,
    handlers: {
      // Every Lambda task runs the handler of the function its Resource names in the synthesized app.
      // startExecution.sync, as the drill's role: start the migration workflow, then run it to its end.
      MigrationDryRun: async (task: { StateMachineArn: string; Input: unknown }) => {
        const started = (await world.aws.call(
          'states',
          'StartExecution',
          { stateMachineArn: task.StateMachineArn, input: JSON.stringify(task.Input) },
          region,
        )) as { executionArn: string };
        const nested = world.stepFunctions.executions.get(started.executionArn);
        const run = await asPrincipal(undefined, () => blueGreenRun(task.Input, nested));
        if (run.status !== 'SUCCEEDED')
          throw Object.assign(new Error(run.error?.message ?? 'dry run failed'), {
            name: 'States.TaskFailed',
          });
        return { Status: 'SUCCEEDED', ExecutionArn: started.executionArn };
      },
    },
  });
}

/**
 * The three workflow runs, as deployed: a blue-green dry run; the failover drill with exactly the schedule's
 * input (which starts a migration dry run of its own); then the blue-green migration with its zero-loss
 * cutover. Each run's history goes to the work folder.
 */
async function runWorkflows(
  run: RehearsalRun,
  world: World,
  names: ReturnType<typeof drNames>,
  config: ReturnType<typeof parseConfig>,
  { apps, healthUrl }: Awaited<ReturnType<typeof startApplications>>,
  primary: PostgresServer,
) {
  const { options, say, since, cleanups, workDir } = run;
  const steps: StepTiming[] = [];
  const workflows: Record<string, { status: string; error?: string }> = {};
  const histories: string[] = [];
  cleanups.push(() => {
    writeFileSync(join(workDir, 'executions.jsonl'), `${histories.join('\n')}\n`);
  });
  const record = (workflow: string, run: WorldExecution) => {
    histories.push(JSON.stringify({ workflow, status: run.status, history: run.history }));
    for (const e of run.entered) steps.push({ workflow, state: e.state, at: since(e.at) });
    workflows[workflow] = {
      status: run.status,
      ...(run.error === undefined ? {} : { error: `${run.error.name}: ${run.error.message}` }),
    };
    say(
      `${workflow}: ${run.status}${run.error === undefined ? '' : ` (${run.error.name}: ${run.error.message})`}`,
    );
    for (const e of run.entered)
      options.progress(`          ${since(e.at).toFixed(1).padStart(6)} s  ${e.state}`);
  };
  const blueGreenRun = (input: unknown, execution?: Parameters<typeof runInWorld>[0]['execution']) =>
    runInWorld({
      world,
      file: 'blue-green-migration.asl.json',
      stateMachineName: names.blueGreenStateMachine,
      input,
      ...(execution === undefined ? {} : { execution }),
    });

  const dns = {
    hostedZoneId: ZONE,
    recordName: RECORD,
    setIdentifier: `${RECORD}-primary`,
    secondarySetIdentifier: `${RECORD}-secondary`,
  };
  const wayBack = { replicationSecretId: config.database.replicationSecretName };
  const greenSecret = `${config.blueGreen.secretNamePrefix}${GREEN_INSTANCE}`;
  await new Promise((r) => setTimeout(r, 1000));

  say('failover drill, with the schedule input');
  const drill = await runDrill(world, names, config, blueGreenRun);
  record('failover drill', drill);
  // The drill record names the primary, which the cutover fences: the DR application's part ends here.
  await new Promise((r) => setTimeout(r, options.recordTtlSeconds * 1000 + 500));
  await apps.dr.stop();

  say(
    'green provisioning: check blue, create green, replay migrations, initial copy under load; then the migration',
  );
  const { provisioning, migration } = await provisionGreen(world, names, config, blueGreenRun, {
    dns,
    healthUrl,
    wayBack,
  });
  record('green provisioning', provisioning);
  if (migration !== undefined) record('blue-green migration', migration);
  await new Promise((r) => setTimeout(r, options.recordTtlSeconds * 1000 + 500));

  say('rollback: back to the primary, which followed green by the way back, under load');
  const rollback = await blueGreenRun({
    dryRun: false,
    rollback: true,
    blue: { secretId: greenSecret },
    green: { secretId: MASTER_SECRET },
    blueEndpoint: GREEN_ENDPOINT,
    greenEndpoint: PRIMARY_ENDPOINT,
    greenInstanceIdentifier: config.database.primaryInstanceIdentifier,
    // Green, now left following the primary: its retirement is scheduled for when the window closes.
    blueInstanceIdentifier: GREEN_INSTANCE,
    dns,
    smokeTestUrl: healthUrl,
    subscription: 'dr_way_back',
    catchUpTimeoutMs: 10_000,
    wayBack,
  });
  record('rollback', rollback);
  await new Promise((r) => setTimeout(r, options.recordTtlSeconds * 1000 + 500));
  // Rollback: every write acknowledged so far (on the primary, or on green and carried back) is on the primary.
  const rolledBack = await missingOn(primary, apps.migration.ackedWrites);

  say('roll forward again: to green, which followed the primary by the way back, under load');
  const rollForward = await blueGreenRun({
    dryRun: false,
    blue: { secretId: MASTER_SECRET },
    green: { secretId: greenSecret },
    blueEndpoint: PRIMARY_ENDPOINT,
    greenEndpoint: GREEN_ENDPOINT,
    greenInstanceIdentifier: GREEN_INSTANCE,
    dns,
    smokeTestUrl: healthUrl,
    subscription: 'dr_way_back',
    catchUpTimeoutMs: 10_000,
    // The primary follows green again; its retirement is scheduled, and ended at once below.
    blueInstanceIdentifier: config.database.primaryInstanceIdentifier,
    wayBack,
  });
  record('roll forward', rollForward);
  await new Promise((r) => setTimeout(r, options.recordTtlSeconds * 1000 + 500));
  await apps.migration.stop();

  say('dr migrate finish: the way back ends now; the primary, which the stack created, is kept');
  record('blue retirement', await finishWayBack(world, names, rollForward.executionArn));
  return {
    steps,
    workflows,
    drill,
    migration: migration ?? provisioning,
    record,
    rollback: { lostWrites: rolledBack.missing, ackedWrites: rolledBack.acknowledged },
  };
}

/**
 * Green provisioning as `dr migrate --provision-green --way-back` starts it: its nested migration
 * (startExecution.sync:2) runs as the provisioning's role, to its end.
 */
async function provisionGreen(
  world: World,
  names: ReturnType<typeof drNames>,
  config: ReturnType<typeof parseConfig>,
  blueGreenRun: (
    input: unknown,
    execution?: Parameters<typeof runInWorld>[0]['execution'],
  ) => Promise<WorldExecution>,
  given: { dns: Record<string, string>; healthUrl: string; wayBack: { replicationSecretId: string } },
): Promise<{ provisioning: WorldExecution; migration: WorldExecution | undefined }> {
  const { dns, healthUrl, wayBack } = given;
  let migration: WorldExecution | undefined;
  const provisioning = await runInWorld({
    world,
    file: 'green-provisioning.asl.json',
    stateMachineName: names.greenProvisioningStateMachine,
    input: {
      blueInstanceIdentifier: config.database.primaryInstanceIdentifier,
      greenInstanceIdentifier: GREEN_INSTANCE,
      greenReplicaInstanceIdentifier: `${GREEN_INSTANCE}-dr`,
      database: 'app',
      replicationSecretId: config.database.replicationSecretName,
      migration: {
        dryRun: false,
        blue: { secretId: MASTER_SECRET },
        blueEndpoint: PRIMARY_ENDPOINT,
        dns,
        smokeTestUrl: healthUrl,
        subscription: 'dr_blue_green',
        catchUpTimeoutMs: 10_000,
        wayBack,
      },
    },
    // A round a minute in AWS; here the copy of a small database is done in a second or two.
    waits: { WaitForGreen: 100, WaitForSync: 250 },
    handlers: {
      // startExecution.sync:2, as the provisioning's role: start the migration, run it to its end.
      Migrate: async (task: { StateMachineArn: string; Name: string; Input: unknown }) => {
        const started = (await world.aws.call(
          'states',
          'StartExecution',
          { stateMachineArn: task.StateMachineArn, name: task.Name, input: JSON.stringify(task.Input) },
          config.orchestrationRegion,
        )) as { executionArn: string };
        const nested = world.stepFunctions.executions.get(started.executionArn);
        migration = await asPrincipal(undefined, () => blueGreenRun(task.Input, nested));
        if (migration.status !== 'SUCCEEDED')
          throw Object.assign(new Error(migration.error?.message ?? 'migration failed'), {
            name: 'States.TaskFailed',
          });
        return { Status: 'SUCCEEDED', ExecutionArn: started.executionArn, Output: migration.output };
      },
    },
  });
  return { provisioning, migration };
}

/**
 * `dr migrate finish` as it acts: the retirement the migration scheduled (named after it) is stopped and started
 * again without a window (`now`), then run to its end: the way back ends on the real servers.
 */
async function finishWayBack(
  world: World,
  names: ReturnType<typeof drNames>,
  migrationArn: string,
): Promise<WorldExecution> {
  const machine = world.stateMachineArn(names.blueRetirementStateMachine);
  const name = migrationArn.split(':').at(-1) ?? '';
  const waiting = [...world.stepFunctions.executions.values()].find(
    (e) => e.stateMachineArn === machine && e.name === name && e.status === 'RUNNING',
  );
  if (waiting === undefined) throw new Error(`no blue retirement ${name} is waiting`);
  const region = machine.split(':')[3] ?? 'us-east-1';
  await world.aws.call(
    'states',
    'StopExecution',
    { executionArn: waiting.executionArn, cause: 'dr migrate finish' },
    region,
  );
  const input = { ...(JSON.parse(waiting.input) as Record<string, unknown>), now: true };
  const started = (await world.aws.call(
    'states',
    'StartExecution',
    { stateMachineArn: machine, name: `${name.slice(0, 66)}-finish-now`, input: JSON.stringify(input) },
    region,
  )) as { executionArn: string };
  return runInWorld({
    world,
    file: 'blue-retirement.asl.json',
    stateMachineName: names.blueRetirementStateMachine,
    input,
    execution: world.stepFunctions.executions.get(started.executionArn),
    waits: { WaitForRds: 100 },
  });
}

/** How many of the acknowledged writes (order ids) a database lacks. */
async function missingOn(
  server: PostgresServer,
  acknowledged: readonly string[],
): Promise<{ missing: number; acknowledged: number }> {
  const ids = [...acknowledged];
  const check = new Client(server.clientConfig('app'));
  await check.connect();
  try {
    const { rows } = await check.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM "order" WHERE id = ANY($1::bigint[])',
      [ids],
    );
    return { missing: ids.length - (rows[0]?.n ?? 0), acknowledged: ids.length };
  } finally {
    await check.end();
  }
}

/** What the run showed, against the budgets: lost writes, the write pause, the drill's figures. */
async function measure(
  run: RehearsalRun,
  green: PostgresServer,
  apps: Awaited<ReturnType<typeof startApplications>>['apps'],
  { drill, migration, rollback }: Awaited<ReturnType<typeof runWorkflows>>,
) {
  const { options, since, startedAt } = run;
  // Lost writes: every write the application saw acknowledged must be on green, which now serves.
  const ids = apps.migration.ackedWrites;
  const check = new Client(green.clientConfig('app'));
  await check.connect();
  const { rows } = await check.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM "order" WHERE id = ANY($1::bigint[])',
    [ids],
  );
  await check.end();
  const lostWrites = ids.length - (rows[0]?.n ?? 0);
  const flip = migration.entered.find((e) => e.state === 'PrepareCutover')?.at ?? startedAt;
  const finished = migration.entered.find((e) => e.state === 'FinishCutover')?.at ?? Date.now();
  const pause = longestWritePause(
    apps.migration.samples,
    flip,
    finished + options.recordTtlSeconds * 1000 + 2000,
  );
  const drillReport = (drill.output as { report?: DrillReport } | undefined)?.report;
  const f = drillReport?.figures;
  const budget = (
    name: string,
    value: number | null | undefined,
    limit: number,
    unit: Budget['unit'],
  ): Budget => ({
    name,
    value: value ?? null,
    unit,
    budget: limit,
    met: value !== null && value !== undefined && value <= limit,
  });
  const budgets = [
    budget('Cutover: acknowledged writes lost', lostWrites, 0, 'writes'),
    // Writes acknowledged on green after the cutover, carried back by the way back, and on blue after it.
    budget('Rollback: acknowledged writes lost', rollback.lostWrites, 0, 'writes'),
    // Clients keep writing to fenced blue until the flip is INSYNC and their cached answer expires.
    budget(
      'Cutover: longest write pause',
      pause,
      CUTOVER_DATABASE_PAUSE_MS + INSYNC_DELAY_MS + FLIP_POLL_MS + options.recordTtlSeconds * 1000,
      'ms',
    ),
    budget('Drill: DNS failover', f?.dnsFailoverSeconds, 60, 's'),
    budget('Drill: service disruption', f?.serviceDisruptionSeconds, 90, 's'),
    budget('Drill: DNS failback', f?.dnsFailbackSeconds, 60, 's'),
    budget('Drill: S3 replication', f?.s3ReplicationSeconds, 60, 's'),
    budget('Drill: database replication (data-loss window)', f?.databaseReplicationSeconds, 30, 's'),
  ];

  const marks = [
    { label: 'cutover: fence', second: since(flip) },
    {
      label: 'cutover: DNS flip',
      second: since(migration.entered.find((e) => e.state === 'FlipDns')?.at ?? flip),
    },
    {
      label: 'drill: health check inverted',
      second: since(drill.entered.find((e) => e.state === 'ObserveFailover')?.at ?? startedAt),
    },
    {
      label: 'drill: restored',
      second: since(drill.entered.find((e) => e.state === 'ObserveFailback')?.at ?? startedAt),
    },
  ];
  const timeline = (app: string, samples: readonly LoadSample[]) => {
    const buckets = new Map<number, { ok: number; failed: number }>();
    for (const s of samples) {
      const second = Math.floor((s.at - startedAt) / 1000);
      const b = buckets.get(second) ?? { ok: 0, failed: 0 };
      if (s.ok) b.ok += 1;
      else b.failed += 1;
      buckets.set(second, b);
    }
    return [...buckets.entries()].sort(([a], [b]) => a - b).map(([second, b]) => ({ second, app, ...b }));
  };
  return { lostWrites, ackedWrites: ids.length, pause, drillReport, budgets, marks, timeline };
}

/**
 * The recovery scenarios, each on a deployment of its own: the region loss, the return, re-protect and
 * failback; then the restore from backup.
 */
async function rehearseRecovery(
  run: RehearsalRun,
  dbs: Databases,
  record: (workflow: string, execution: WorldExecution) => void,
): Promise<{ region: RegionLossFigures; switchover: SwitchoverFigures; backup: BackupRestoreFigures }> {
  // The failback is the switchover the figures name: back home, zero loss, the write pause measured.
  const { options, servers } = run;
  const pairContext = {
    say: run.say,
    servers,
    configInput: rehearsalConfig(options.migrationsDir),
    migrationsDir: resolve(options.migrationsDir),
    masterSecret: MASTER_SECRET,
    password: dbs.primary.password,
    recordName: RECORD,
    recordTtlSeconds: options.recordTtlSeconds,
    route53: { switchDelayMs: options.route53SwitchDelayMs, insyncDelayMs: INSYNC_DELAY_MS },
    dieWithOwner: !options.keepServers,
    record,
  };
  const region = await rehearseRegionLoss(pairContext);
  const backup = await rehearseBackupRestore({
    say: run.say,
    servers,
    workDir: run.workDir,
    migrationsDir: resolve(options.migrationsDir),
    dieWithOwner: !options.keepServers,
  });
  return { region, switchover: region.failback, backup };
}

/**
 * The region loss against its budgets. RTO: the kill until writes succeed again, here without the observers'
 * detection or a person's approval (the rehearsal's promotion is seconds; RDS's takes minutes). RPO: acknowledged
 * writes the promoted server lacks; replication is asynchronous, so a kill -9 may lose what the standby had not
 * received yet: the budget is one second of this application's writes (25 a second). The returned primary
 * must take none. The failback switchover must lose nothing.
 */
function regionLossBudgets(region: RegionLossFigures, switchover: SwitchoverFigures): Budget[] {
  const budget = (name: string, value: number | null, limit: number, unit: Budget['unit']): Budget => ({
    name,
    value,
    unit,
    budget: limit,
    met: value !== null && value <= limit,
  });
  return [
    budget('Region failover: RTO', region.rtoSeconds, 30, 's'),
    budget('Region failover: acknowledged writes lost (RPO)', region.lostWrites, 25, 'writes'),
    budget('Returned primary: writes accepted', region.returnedWritesAccepted, 0, 'writes'),
    budget('Switchover: acknowledged writes lost', switchover.lostWrites, 0, 'writes'),
    // From the retirement until DNS answers the promoted writer: the simulated promotion (2 s; RDS's takes
    // minutes), both record changes reaching INSYNC, and the TTL.
    budget('Switchover: longest write pause', switchover.longestWritePauseMs, 15_000, 'ms'),
  ];
}

/** Undoes the cleanups, then stops the servers, or leaves them running with --keep-servers. */
async function stopServers(run: RehearsalRun, state: { serversStopped: boolean }): Promise<boolean> {
  const { options, servers, cleanups, workDir } = run;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  if (options.keepServers) {
    const details = servers.map((s) => ({ name: s.name, folder: s.rootDir, ...s.clientConfig('app') }));
    writeFileSync(join(workDir, 'servers.json'), `${JSON.stringify(details, null, 2)}\n`, {
      mode: 0o600,
    });
    for (const server of servers) server.release();
    if (options.workDir === undefined) markKept(workDir);
    return false;
  }
  await Promise.all(servers.map((s) => s.destroy()));
  state.serversStopped = true;
  return true;
}

/**
 * The whole system on one machine, as deployed: the CDK app is synthesized with the rehearsal's configuration
 * and its templates seed the simulated AWS (zone, health checks, failover records, buckets, secrets, state
 * machines); every AWS call a step makes is authorized against that step's role. Real PostgreSQL plays the
 * databases: a primary with its streaming replica, and green subscribed to the primary for a blue-green
 * migration. The real ASL files run with the real handlers while two applications read and write through the
 * records: the production record (the migration cuts it over to green) and the drill record (the drill fails it
 * over to the replica). Measures everything against the budgets.
 */
export async function runRehearsal(options: RehearsalOptions): Promise<RehearsalResult> {
  const startedAt = Date.now();
  // What a killed run (kill -9) left: its servers are stopped and its folders removed before starting anew.
  const leftovers = await sweepAbandonedFolders();
  const workDir = options.workDir ?? makeOwnedFolder('pg-dr-rehearsal-');
  mkdirSync(workDir, { recursive: true });
  // Ctrl-C exits the process: the servers stop in their own exit handler, the temporary folder here.
  const temporary = options.workDir === undefined && !options.keepServers;
  const removeWorkDir = () => {
    if (temporary) rmSync(workDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
  };
  process.once('exit', removeWorkDir);
  const since = (at: number) => Math.round((at - startedAt) / 100) / 10;
  const say = (line: string) => {
    options.progress(`[${since(Date.now()).toFixed(1).padStart(5)} s] ${line}`);
  };
  const servers: PostgresServer[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  const state = { serversStopped: false };
  for (const { folder, stoppedPostmaster } of leftovers.removed)
    say(
      `removed ${folder}, left by a killed run${stoppedPostmaster === undefined ? '' : ` (stopped its server, pid ${stoppedPostmaster})`}`,
    );
  for (const { folder, reason } of leftovers.failed)
    say(`could not remove ${folder}, left by a killed run: ${reason}`);

  const run: RehearsalRun = { options, startedAt, workDir, since, say, servers, cleanups };
  try {
    const dbs = await startDatabases(run);
    const { world, config, names } = startSimulatedAws(run, dbs);
    const applications = await startApplications(run, world, dbs);
    const flows = await runWorkflows(run, world, names, config, applications, dbs.primary);
    const { apps, output } = applications;
    const { lostWrites, ackedWrites, pause, drillReport, budgets, marks, timeline } = await measure(
      run,
      dbs.green,
      apps,
      flows,
    );
    const { steps, workflows, drill, migration } = flows;
    const { region, switchover, backup } = await rehearseRecovery(run, dbs, flows.record);
    budgets.push(...regionLossBudgets(region, switchover), ...backupRestoreBudgets(backup));
    marks.push(
      { label: 'region loss: primary killed', second: since(region.killedAt) },
      ...(region.writableAt === null
        ? []
        : [{ label: 'region failover: writes again', second: since(region.writableAt) }]),
      { label: 'failback switchover', second: since(switchover.startedAt) },
    );
    const ok =
      budgets.every((b) => b.met) &&
      migration.status === 'SUCCEEDED' &&
      drill.status === 'SUCCEEDED' &&
      workflows['green provisioning']?.status === 'SUCCEEDED' &&
      workflows.rollback?.status === 'SUCCEEDED' &&
      workflows['roll forward']?.status === 'SUCCEEDED' &&
      region.failover.status === 'SUCCEEDED' &&
      region.guard.status === 'SUCCEEDED' &&
      region.reprotect.status === 'SUCCEEDED' &&
      switchover.run.status === 'SUCCEEDED' &&
      region.redeploys.length === 3 &&
      region.redeploys.every((r) => r.ok);
    return {
      ok,
      startedAt,
      durationSeconds: since(Date.now()),
      budgets,
      steps,
      workflows,
      ...(drillReport === undefined ? {} : { drillReport }),
      cutover: { lostWrites, ackedWrites, longestWritePauseMs: pause },
      rollback: flows.rollback,
      timeline: [
        ...timeline('migration', apps.migration.samples),
        ...timeline('dr', apps.dr.samples),
        ...timeline('region', region.samples),
        ...timeline('switchover', switchover.samples),
      ],
      regionLoss: {
        rtoSeconds: region.rtoSeconds,
        lostWrites: region.lostWrites,
        ackedWrites: region.ackedWrites,
        returnedWritesAccepted: region.returnedWritesAccepted,
        redeploys: region.redeploys.map((r) => ({
          after: r.after,
          answer: r.answer,
          writer: r.writer,
          instancesTouched: r.plan.updated.filter((c) => c.type === 'AWS::RDS::DBInstance').length,
        })),
      },
      backupRestore: backup,
      switchover: {
        lostWrites: switchover.lostWrites,
        ackedWrites: switchover.ackedWrites,
        longestWritePauseMs: switchover.longestWritePauseMs,
      },
      marks,
      metricsCaptured: output.metrics.length,
      awsCalls: {
        total: world.aws.calls.length,
        authorized: world.aws.calls.filter((c) => c.principal !== undefined).length,
        denied: world.aws.calls.filter((c) => /AccessDenied|AuthorizationError/.test(c.error ?? '')).length,
      },
      drSamplesOnReplica: apps.dr.samples.filter((sample) => sample.host === 'localhost'),
      servers: servers.map((s) => ({ name: s.name, port: s.port, folder: s.rootDir })),
      serversStopped: await stopServers(run, state),
      workDir,
    };
  } finally {
    for (const cleanup of cleanups.splice(0).reverse())
      await Promise.resolve(cleanup()).catch(() => undefined);
    if (!options.keepServers && !state.serversStopped)
      await Promise.all(servers.map((s) => s.destroy().catch(() => undefined)));
    process.removeListener('exit', removeWorkDir);
    removeWorkDir();
  }
}
