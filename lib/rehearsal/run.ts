import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import type { DrillReport } from '../../lambdas/drill/report';
import type { ConnectionSettings } from '../../lambdas/shared/database';
import { PostgresServer } from '../local-postgres/server';
import {
  loadDefinition,
  localSubstitutions,
  publishStates,
  runLocally,
  type LocalExecution,
} from './local-workflow';
import { LoadGenerator, longestWritePause, type LoadSample } from './load';
import { installSimulatedAws, Route53Simulator, S3Simulator } from './simulators';

type Step = (event: never) => unknown;

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
  readonly unit: 's' | 'ms' | 'writes';
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
  /** Requests per second, per application, for the timeline. */
  readonly timeline: readonly { second: number; app: string; ok: number; failed: number }[];
  readonly marks: readonly { label: string; second: number }[];
  /** Embedded-metric records the handlers published (what CloudWatch would have received). */
  readonly metricsCaptured: number;
  /** What the DR application sent while its answer was the read replica. */
  readonly drSamplesOnReplica: readonly LoadSample[];
  readonly serversStopped: boolean;
  /** The PostgreSQL servers the rehearsal ran (still running with keepServers). */
  readonly servers: readonly { readonly name: string; readonly port: number }[];
  readonly workDir: string;
}

const ACCOUNT = '111122223333';
/** Simulated time for a record change to reach INSYNC, and how often the DNS flip polls for it. */
const INSYNC_DELAY_MS = 500;
const FLIP_POLL_MS = 1000;
/** The database side of the cutover (fence, catch-up, sequence sync): the bench:cutover budget. */
const CUTOVER_DATABASE_PAUSE_MS = 2000;
const ZONE = 'Z0REHEARSAL00001';
const DR_RECORD = 'db.rehearsal.internal';
const APP_RECORD = 'app-db.rehearsal.internal';
const CHECKS = {
  primaryRecord: '11111111-1111-4111-8111-111111111111',
  primaryDb: '22222222-2222-4222-8222-222222222222',
  secondaryDb: '33333333-3333-4333-8333-333333333333',
  blueRecord: '44444444-4444-4444-8444-444444444444',
  blueDrDb: '55555555-5555-4555-8555-555555555555',
};
const BUCKETS = {
  source: `pg-dr-backups-${ACCOUNT}-us-west-2`,
  replica: `pg-dr-backups-${ACCOUNT}-us-east-1`,
};
const smArn = (name: string) => `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:${name}`;

function secretOf(server: PostgresServer, database: string): string {
  return JSON.stringify({
    engine: 'postgres',
    username: server.user,
    password: server.password,
    host: server.host,
    port: server.port,
    dbname: database,
  });
}

async function sql(server: PostgresServer, database: string, ...statements: string[]): Promise<void> {
  const client = new Client(server.clientConfig(database));
  client.on('error', () => undefined);
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
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

/**
 * The whole system on one machine: a DR pair (primary + streaming replica) and a migration pair (blue +
 * logically replicating green), AWS simulated in-process, the real ASL files run with the real handlers while
 * two applications read and write through the DNS names. Measures everything against the budgets.
 */
export async function runRehearsal(options: RehearsalOptions): Promise<RehearsalResult> {
  const startedAt = Date.now();
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'pg-dr-rehearsal-'));
  mkdirSync(workDir, { recursive: true });
  // Ctrl-C exits the process: the servers stop in their own exit handler, the temporary folder here.
  const temporary = options.workDir === undefined && !options.keepServers;
  const removeWorkDir = () => {
    if (temporary) rmSync(workDir, { recursive: true, force: true });
  };
  process.once('exit', removeWorkDir);
  const since = (at: number) => Math.round((at - startedAt) / 100) / 10;
  const say = (line: string) => {
    options.progress(`[${since(Date.now()).toFixed(1).padStart(5)} s] ${line}`);
  };
  const servers: PostgresServer[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  const state = { serversStopped: false };

  try {
    say('starting PostgreSQL: primary, blue (wal_level=logical), green');
    const room = {
      max_replication_slots: '10',
      max_wal_senders: '10',
      max_logical_replication_workers: '10',
    };
    const port = (offset: number) =>
      options.portBase === undefined ? {} : { port: options.portBase + offset };
    const [primary, blue, green] = await Promise.all([
      PostgresServer.start({ name: 'rehearsal-primary', ...port(0) }),
      PostgresServer.start({
        name: 'rehearsal-blue',
        settings: { wal_level: 'logical', ...room },
        ...port(2),
      }),
      PostgresServer.start({ name: 'rehearsal-green', settings: room, ...port(3) }),
    ]);
    servers.push(primary, blue, green);

    const migrations = await readMigrationsFolder(resolve(options.migrationsDir));
    const applied = migrations.slice(0, Math.max(0, migrations.length - 1));
    say(`seeding: ${applied.length} of ${migrations.length} migrations applied, accounts and orders`);
    for (const server of [primary, blue, green]) {
      await sql(server, 'postgres', 'CREATE DATABASE app');
      const client = new Client(server.clientConfig('app'));
      await client.connect();
      await applyPendingMigrations(client, applied);
      await client.end();
    }
    for (const server of [primary, blue]) {
      await sql(
        server,
        'app',
        "INSERT INTO account (email) SELECT 'customer' || g || '@example.org' FROM generate_series(1, 200) AS g",
        'INSERT INTO "order" (account_id, total_cents) SELECT 1 + (g % 200), g FROM generate_series(1, 2000) AS g',
      );
    }
    say('replica: streaming standby of the primary');
    const replica = await PostgresServer.startStandby(primary, { name: 'rehearsal-replica', ...port(1) });
    servers.push(replica);
    say('green: logical subscription to blue');
    await sql(blue, 'app', 'CREATE PUBLICATION dr_blue_green FOR TABLE account, "order"');
    const conninfo = `host=${blue.host} port=${blue.port} user=${blue.user} password=${blue.password} dbname=app sslmode=verify-full sslrootcert=${green.rootDir}/tls/ca.crt`;
    await sql(
      green,
      'app',
      `CREATE SUBSCRIPTION dr_blue_green CONNECTION '${conninfo}' PUBLICATION dr_blue_green`,
    );
    for (let i = 0; i < 200; i++) {
      const client = new Client(green.clientConfig('app'));
      await client.connect();
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM "order"');
      await client.end();
      if (rows[0]?.n === 2000) break;
      await new Promise((r) => setTimeout(r, 50));
    }

    // SIMULATED AWS.
    const route53 = new Route53Simulator(ZONE, {
      switchDelayMs: options.route53SwitchDelayMs,
      insyncDelayMs: 500,
    });
    route53.addCheck({ id: CHECKS.primaryDb, type: 'CLOUDWATCH_METRIC', healthy: true, children: [] });
    route53.addCheck({ id: CHECKS.secondaryDb, type: 'CLOUDWATCH_METRIC', healthy: true, children: [] });
    route53.addCheck({
      id: CHECKS.primaryRecord,
      type: 'CALCULATED',
      healthy: true,
      children: [CHECKS.primaryDb],
    });
    route53.addCheck({ id: CHECKS.blueRecord, type: 'CLOUDWATCH_METRIC', healthy: true, children: [] });
    route53.addCheck({ id: CHECKS.blueDrDb, type: 'CLOUDWATCH_METRIC', healthy: true, children: [] });
    // The DR record names connectable loopback hosts: the drill connects to what it answers.
    route53.addFailoverRecord(
      DR_RECORD,
      options.recordTtlSeconds,
      { value: '127.0.0.1', healthCheckId: CHECKS.primaryRecord },
      { value: 'localhost', healthCheckId: CHECKS.secondaryDb },
    );
    route53.addFailoverRecord(
      APP_RECORD,
      options.recordTtlSeconds,
      { value: 'blue.rehearsal.internal', healthCheckId: CHECKS.blueRecord },
      { value: 'blue-dr.rehearsal.internal', healthCheckId: CHECKS.blueDrDb },
    );
    const s3 = new S3Simulator(
      { [BUCKETS.source]: BUCKETS.replica },
      { replicationDelayMs: options.s3ReplicationDelayMs },
    );
    const secrets = new Map([
      ['pg-dr/postgres-master', secretOf(primary, 'app')],
      ['pg-dr/blue', secretOf(blue, 'app')],
      ['pg-dr/green', secretOf(green, 'app')],
    ]);
    cleanups.push(installSimulatedAws({ route53, s3, secrets }));
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'rehearsal',
      AWS_SECRET_ACCESS_KEY: 'rehearsal',
      DB_CA_FILE: join(primary.rootDir, 'tls', 'ca.crt'),
      MIGRATIONS_DIR: resolve(options.migrationsDir),
      DRILL_HEALTH_CHECK_IDS: CHECKS.primaryRecord,
    });

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
        recordName: APP_RECORD,
        resolve: route53.resolver(),
        endpoints: new Map([
          ['blue.rehearsal.internal', settingsOf(blue, '127.0.0.1', 'app')],
          ['green.rehearsal.internal', settingsOf(green, '127.0.0.1', 'app')],
        ]),
        intervalMs: 20,
        timeoutMs: 1000,
      }),
      dr: new LoadGenerator({
        name: 'dr',
        recordName: DR_RECORD,
        resolve: route53.resolver(),
        endpoints: new Map([
          ['127.0.0.1', settingsOf(primary, '127.0.0.1', 'app')],
          ['localhost', settingsOf(replica, 'localhost', 'app')],
        ]),
        intervalMs: 50,
        timeoutMs: 1000,
      }),
    };
    const output = captureLambdaOutput(workDir);
    cleanups.push(output.restore);
    say(`applications: reading and writing through ${APP_RECORD} and ${DR_RECORD}`);
    apps.migration.start();
    apps.dr.start();
    cleanups.push(async () => {
      await Promise.all([apps.migration.stop(), apps.dr.stop()]);
    });

    // The real handlers, loaded after the simulators are in place.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const load = (path: string, name = 'handler') => (require(path) as Record<string, Step>)[name] as Step;
    const blueGreen: Record<string, Step> = {
      ValidateInput: load('../../lambdas/workflow-input/handler'),
      CheckBlue: load('../../lambdas/connectivity-check/handler'),
      CheckGreen: load('../../lambdas/connectivity-check/handler'),
      PlanMigrations: load('../../lambdas/migrations/handlers', 'planHandler'),
      Migrate: load('../../lambdas/migrations/handlers', 'applyHandler'),
      Verify: load('../../lambdas/verify/handler'),
      SmokeTest: load('../../lambdas/smoke-test/handler'),
      FinalSmokeTest: load('../../lambdas/smoke-test/handler'),
      PrepareCutover: load('../../lambdas/cutover/handler'),
      FenceBlueAndCatchUp: load('../../lambdas/cutover/handler'),
      AbortCutover: load('../../lambdas/cutover/handler'),
      AbortCutoverAfterRollback: load('../../lambdas/cutover/handler'),
      FinishCutover: load('../../lambdas/cutover/handler'),
      FlipDns: load('../../lambdas/dns-flip/handler'),
      FlipDnsUnsynchronized: load('../../lambdas/dns-flip/handler'),
      RollbackDns: load('../../lambdas/dns-flip/handler'),
    };
    const drillSteps = {
      preflight: load('../../lambdas/drill/steps/preflight'),
      database: load('../../lambdas/drill/steps/database'),
      healthCheck: load('../../lambdas/drill/steps/health-check'),
      observe: load('../../lambdas/drill/steps/observe-dns'),
      s3: load('../../lambdas/drill/steps/s3-probe'),
      report: load('../../lambdas/drill/steps/report'),
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
    const notifications: { workflow: string; state: string; subject: string }[] = [];
    const notify = (workflow: string, state: string) =>
      ((input: { Subject: string }) => {
        notifications.push({ workflow, state, subject: input.Subject });
        return {};
      }) as Step;
    const notifyStates = (workflow: string, states: string[]) =>
      Object.fromEntries(states.map((s) => [s, notify(workflow, s)]));
    const blueGreenHandlers = {
      ...blueGreen,
      ...notifyStates('blue-green', publishStates('blue-green-migration.asl.json')),
    };
    const blueGreenDefinition = loadDefinition(
      'blue-green-migration.asl.json',
      localSubstitutions('blue-green-migration.asl.json', ACCOUNT),
    );
    const steps: StepTiming[] = [];
    const workflows: Record<string, { status: string; error?: string }> = {};
    const histories: string[] = [];
    cleanups.push(() => {
      writeFileSync(join(workDir, 'executions.jsonl'), `${histories.join('\n')}\n`);
    });
    const record = (workflow: string, run: LocalExecution) => {
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

    const migrationInput = {
      blue: { secretId: 'pg-dr/blue' },
      green: { secretId: 'pg-dr/green' },
      blueEndpoint: 'blue.rehearsal.internal',
      greenEndpoint: 'green.rehearsal.internal',
      dns: {
        hostedZoneId: ZONE,
        recordName: APP_RECORD,
        setIdentifier: `${APP_RECORD}-primary`,
        secondarySetIdentifier: `${APP_RECORD}-secondary`,
      },
      smokeTestUrl: healthUrl,
      subscription: 'dr_blue_green',
      catchUpTimeoutMs: 10_000,
    };
    await new Promise((r) => setTimeout(r, 1000));
    say('blue-green migration: dry run');
    record(
      'blue-green dry run',
      await runLocally(blueGreenDefinition, { ...migrationInput, dryRun: true }, blueGreenHandlers),
    );
    say('blue-green migration: migrate green, zero-loss cutover, flip');
    const migration = await runLocally(
      blueGreenDefinition,
      { ...migrationInput, dryRun: false },
      blueGreenHandlers,
    );
    record('blue-green migration', migration);
    await new Promise((r) => setTimeout(r, options.recordTtlSeconds * 1000 + 1000));

    say('failover drill');
    const drillDefinition = loadDefinition(
      'failover-drill.asl.json',
      localSubstitutions('failover-drill.asl.json', ACCOUNT),
    );
    const primaryRef = {
      secretId: 'pg-dr/postgres-master',
      host: '127.0.0.1',
      port: primary.port,
      database: 'app',
    };
    const drillInput = {
      primary: primaryRef,
      replica: { secretId: 'pg-dr/postgres-master', host: 'localhost', port: replica.port, database: 'app' },
      dns: {
        hostedZoneId: ZONE,
        recordName: DR_RECORD,
        primaryTarget: '127.0.0.1',
        secondaryTarget: 'localhost',
      },
      healthChecks: {
        invert: CHECKS.primaryRecord,
        watch: [
          { healthCheckId: CHECKS.primaryDb, label: 'primary database' },
          { healthCheckId: CHECKS.secondaryDb, label: 'secondary database' },
        ],
      },
      backups: {
        sourceBucket: BUCKETS.source,
        sourceRegion: 'us-west-2',
        replicaBucket: BUCKETS.replica,
        replicaRegion: 'us-east-1',
      },
      budgets: { serviceDisruptionSeconds: 90, dnsFailoverSeconds: 60, s3ReplicationSeconds: 60 },
      limits: {
        maxReplicaLagSeconds: 30,
        failbackTimeoutSeconds: 60,
        heartbeatTimeoutSeconds: 30,
        s3TimeoutSeconds: 60,
        pollMs: 200,
      },
      exclusiveWith: [smArn('pg-dr-failover-drill'), smArn('pg-dr-blue-green-migration')],
      migrationDryRun: {
        ...migrationInput,
        dryRun: true,
        blue: primaryRef,
        green: primaryRef,
        blueEndpoint: '',
        greenEndpoint: '',
        smokeTestUrl: undefined,
        subscription: 'dr_drill_dry_run',
      },
    };
    delete (drillInput.migrationDryRun as { smokeTestUrl?: string }).smokeTestUrl;
    const drill = await runLocally(drillDefinition, drillInput, {
      Preflight: drillSteps.preflight,
      PreflightDatabases: drillSteps.database,
      InvertHealthCheck: drillSteps.healthCheck,
      ObserveFailover: drillSteps.observe,
      VerifySecondaryReads: drillSteps.database,
      RestoreHealthCheck: drillSteps.healthCheck,
      ObserveFailback: drillSteps.observe,
      VerifyPrimaryWrites: drillSteps.database,
      ProbeS3: drillSteps.s3,
      ProbeHeartbeat: drillSteps.database,
      Report: drillSteps.report,
      RestoreAfterFailure: drillSteps.healthCheck,
      ReportFailure: drillSteps.report,
      // startExecution.sync: the blue-green ASL itself, run the same way.
      MigrationDryRun: async (task: { Input: unknown }) => {
        const run = await runLocally(blueGreenDefinition, task.Input, blueGreenHandlers);
        if (run.status !== 'SUCCEEDED')
          throw Object.assign(new Error(run.error?.message ?? 'dry run failed'), {
            name: 'States.TaskFailed',
          });
        return { Status: 'SUCCEEDED', ExecutionArn: `${smArn('pg-dr-blue-green-migration')}:drill-dry-run` };
      },
      ...notifyStates('failover drill', publishStates('failover-drill.asl.json')),
    });
    record('failover drill', drill);
    await new Promise((r) => setTimeout(r, 500));
    await Promise.all([apps.migration.stop(), apps.dr.stop()]);

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

    const ok =
      budgets.every((b) => b.met) &&
      migration.status === 'SUCCEEDED' &&
      drill.status === 'SUCCEEDED' &&
      workflows['blue-green dry run']?.status === 'SUCCEEDED';
    return {
      ok,
      startedAt,
      durationSeconds: since(Date.now()),
      budgets,
      steps,
      workflows,
      ...(drillReport === undefined ? {} : { drillReport }),
      cutover: { lostWrites, ackedWrites: ids.length, longestWritePauseMs: pause },
      timeline: [...timeline('migration', apps.migration.samples), ...timeline('dr', apps.dr.samples)],
      marks,
      metricsCaptured: output.metrics.length,
      drSamplesOnReplica: apps.dr.samples.filter((sample) => sample.host === 'localhost'),
      servers: servers.map((s) => ({ name: s.name, port: s.port })),
      serversStopped: await (async () => {
        for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
        if (options.keepServers) {
          const details = servers.map((s) => ({ name: s.name, ...s.clientConfig('app') }));
          writeFileSync(join(workDir, 'servers.json'), `${JSON.stringify(details, null, 2)}\n`, {
            mode: 0o600,
          });
          return false;
        }
        await Promise.all(servers.map((s) => s.destroy()));
        state.serversStopped = true;
        return true;
      })(),
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
