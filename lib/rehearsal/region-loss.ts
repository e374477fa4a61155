/**
 * The rehearsal's region loss and the way home, on a deployment of its own (the same synthesized app, fresh
 * databases): a primary with its streaming standby, the application writing through the production record.
 * 1. Region loss: the primary is killed (kill -9: the region is gone), the observers' verdict reaches Route 53,
 *    and the region failover, started approved (`dr failover --promote`, as on-call would after the page),
 *    promotes the real standby (pg_promote) through the simulated RDS.
 * 2. The old primary returns; the retired-writer guard retires it.
 * 3. Re-protect: the DR rebuild, with the input `dr reprotect` gives it, creates a replica of the promoted
 *    writer in the home region, a real streaming standby of it.
 * 4. Failback (`dr switchover`): back to the home region, zero loss, the write pause measured.
 * After each role change a redeploy (the simulated CloudFormation) must leave the record on the current writer
 * and replace no instance.
 *
 * Measured, not assumed: the RTO (the kill until the application's next acknowledged write, through the record),
 * the RPO (acknowledged writes missing on the promoted server), the writes the returned primary accepted, and
 * the failback's lost writes and longest write pause. Not in the RTO: the observers' detection (the drill
 * measures DNS failover) and a person's approval.
 */
import { Client } from 'pg';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import type { ConnectionSettings } from '../../lambdas/shared/database';
import { localRdsEndpoint, resolveLocalRdsEndpoints } from '../local-aws/endpoint-dns';
import type { SimulatedInstance } from '../local-aws/rds';
import { localWorld } from '../local-aws/from-app';
import type { StackUpdatePlan } from '../local-aws/stack-update';
import { runInWorld, type WorldExecution } from '../local-aws/workflow';
import { execute } from '../local-postgres/replication';
import { PostgresServer } from '../local-postgres/server';
import { drNames } from '../names';
import { parseConfig } from '../config';
import { LoadGenerator, longestWritePause, type LoadSample } from './load';

export interface RegionLossContext {
  readonly say: (line: string) => void;
  /** Every server started here is added, so the rehearsal stops it whatever happens. */
  readonly servers: PostgresServer[];
  readonly configInput: Record<string, unknown>;
  readonly migrationsDir: string;
  readonly masterSecret: string;
  /** The password the rehearsal's servers share (the steps cache the master secret by name). */
  readonly password: string;
  readonly recordName: string;
  readonly recordTtlSeconds: number;
  readonly route53: { readonly switchDelayMs: number; readonly insyncDelayMs: number };
  readonly dieWithOwner: boolean;
  readonly record: (workflow: string, run: WorldExecution) => void;
}

/** A redeploy after a role change: the record's answer, what it must be, and what the redeploy changed. */
export interface RedeployCheck {
  readonly after: string;
  readonly answer: readonly string[];
  readonly writer: string;
  readonly plan: StackUpdatePlan;
  /** The record answers the current writer, and no database instance was replaced or changed. */
  readonly ok: boolean;
}

export interface RegionLossFigures {
  /** The kill until the application's next acknowledged write through the record. */
  readonly rtoSeconds: number | null;
  readonly lostWrites: number;
  readonly ackedWrites: number;
  readonly returnedWritesAccepted: number;
  /** One per role change: the failover, the re-protect, the failback. */
  readonly redeploys: readonly RedeployCheck[];
  readonly failover: WorldExecution;
  readonly reprotect: WorldExecution;
  readonly failback: SwitchoverFigures;
  readonly guard: WorldExecution;
  readonly killedAt: number;
  readonly writableAt: number | null;
  readonly samples: readonly LoadSample[];
  readonly promotedEndpoint: string;
}

const settingsOf = (server: PostgresServer, host: string): ConnectionSettings => ({
  host,
  port: server.port,
  database: 'app',
  user: server.user,
  password: server.password,
  ...(server.tls === undefined ? {} : { ca: server.tls.caCert }),
});

async function seed(server: PostgresServer, migrationsDir: string): Promise<void> {
  await execute(server, 'postgres', 'CREATE DATABASE app');
  const client = new Client(server.clientConfig('app'));
  await client.connect();
  try {
    await applyPendingMigrations(client, await readMigrationsFolder(migrationsDir));
  } finally {
    await client.end();
  }
  await execute(
    server,
    'app',
    "INSERT INTO account (email) SELECT 'customer' || g || '@example.org' FROM generate_series(1, 50) AS g",
  );
}

/** A deployment of its own: the app in a fresh local world over a primary and its streaming standby. */
interface PairDeployment {
  readonly world: ReturnType<typeof localWorld>;
  readonly names: ReturnType<typeof drNames>;
  readonly config: ReturnType<typeof parseConfig>;
  readonly primary: PostgresServer;
  readonly replica: PostgresServer;
  readonly primaryEndpoint: string;
  readonly replicaEndpoint: string;
  /** The real server behind each RDS instance identifier (a re-protect adds one). */
  readonly serverOf: Map<string, PostgresServer>;
  /** How the application connects to each endpoint the record may name (a re-protect adds one). */
  readonly endpoints: Map<string, ConnectionSettings>;
  /** An application writing and reading through the production record, started. */
  app: LoadGenerator;
  /** Stops the application and starts a new one (a new phase, measured on its own). */
  readonly restartApp: (label: string) => Promise<void>;
  readonly close: () => Promise<void>;
}

async function deployPair(ctx: RegionLossContext, label: string): Promise<PairDeployment> {
  const config = parseConfig(ctx.configInput);
  const primaryId = config.database.primaryInstanceIdentifier;
  const replicaId = config.database.replicaInstanceIdentifier;
  const primaryEndpoint = localRdsEndpoint(primaryId, config.primaryRegion);
  const replicaEndpoint = localRdsEndpoint(replicaId, config.secondaryRegion);
  const primary = await PostgresServer.start({
    name: `rehearsal-${label}-primary`,
    password: ctx.password,
    dieWithOwner: ctx.dieWithOwner,
  });
  ctx.servers.push(primary);
  await seed(primary, ctx.migrationsDir);
  const replica = await PostgresServer.startStandby(primary, { name: `rehearsal-${label}-replica` });
  ctx.servers.push(replica);
  const serverOf = new Map([
    [primaryId, primary],
    [replicaId, replica],
  ]);
  const endpoints = new Map([
    [primaryEndpoint, settingsOf(primary, primaryEndpoint)],
    [replicaEndpoint, settingsOf(replica, replicaEndpoint)],
  ]);
  /** A new replica (the re-protect): a real streaming standby of its source, behind its endpoint. */
  const createStandby = async (instance: SimulatedInstance) => {
    const sourceId = /:db:(.+)$/.exec(instance.source ?? '')?.[1] ?? '';
    const source = serverOf.get(sourceId);
    if (source === undefined) throw new Error(`no server behind ${sourceId}, the source of ${instance.id}`);
    const standby = await PostgresServer.startStandby(source, { name: `rehearsal-${label}-${instance.id}` });
    ctx.servers.push(standby);
    serverOf.set(instance.id, standby);
    instance.endpoint = localRdsEndpoint(instance.id, instance.region);
    instance.port = standby.port;
    endpoints.set(instance.endpoint, settingsOf(standby, instance.endpoint));
  };
  const world = localWorld({
    config: ctx.configInput,
    endpoints: { [primaryId]: primaryEndpoint, [replicaId]: replicaEndpoint },
    ports: { [primaryId]: primary.port, [replicaId]: replica.port },
    secrets: {
      [ctx.masterSecret]: JSON.stringify({
        engine: 'postgres',
        username: primary.user,
        password: primary.password,
        host: primaryEndpoint,
        port: primary.port,
        dbname: 'app',
      }),
    },
    route53: ctx.route53,
    // RDS takes minutes to promote; here the standby is promoted at once and reported modifying for 2 s.
    rds: { createMs: 0, modifyMs: 0, rebootMs: 0, promoteMs: 2000 },
    onPromote: async (_region, id) => {
      const server = serverOf.get(id);
      if (server === undefined) throw new Error(`no server behind ${id} to promote`);
      await execute(server, 'postgres', 'SELECT pg_promote(true, 30)');
    },
    onCreateReplica: createStandby,
  });
  for (const role of ['primary', 'secondary'])
    Object.assign(world.route53.recordSet(ctx.recordName, `${ctx.recordName}-${role}`) ?? {}, {
      TTL: ctx.recordTtlSeconds,
    });
  const undoAws = world.aws.install();
  const undoDns = resolveLocalRdsEndpoints();
  const startApp = (name: string) => {
    const app = new LoadGenerator({
      name,
      recordName: ctx.recordName,
      resolve: world.route53.resolver(),
      endpoints,
      intervalMs: 20,
      timeoutMs: 1000,
    });
    app.start();
    return app;
  };
  const deployment: PairDeployment = {
    world,
    names: drNames(config),
    config,
    primary,
    replica,
    primaryEndpoint,
    replicaEndpoint,
    serverOf,
    endpoints,
    app: startApp(label),
    restartApp: async (name) => {
      await deployment.app.stop();
      deployment.app = startApp(name);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    },
    close: async () => {
      await deployment.app.stop();
      undoDns();
      undoAws();
    },
  };
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return deployment;
}

/** Acknowledged writes of the application missing on the server that serves now. */
async function missingOn(server: PostgresServer, acked: readonly string[]): Promise<number> {
  const check = new Client(server.clientConfig('app'));
  await check.connect();
  try {
    const { rows } = await check.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM "order" WHERE id = ANY($1::bigint[])',
      [acked],
    );
    return acked.length - (rows[0]?.n ?? 0);
  } finally {
    await check.end();
  }
}

/** The region failover as on-call starts it after the page: approved (`dr failover --promote`). */
const failoverRun = (d: PairDeployment, input: Record<string, unknown>) =>
  runInWorld({
    world: d.world,
    file: 'region-failover.asl.json',
    stateMachineName: d.names.regionFailoverStateMachine,
    input,
    waits: { WaitForPromotion: 500 },
    retryIntervals: { Plan: 0, Measure: 0, RetireFormerWriter: 0, CatchUp: 0, OpenWriter: 0 },
  });

/**
 * `cdk deploy` again (the simulated CloudFormation) after a role change: the record must answer the writer the
 * topology names, and no database instance may be replaced or changed.
 */
function redeployAfter(
  d: PairDeployment,
  ctx: RegionLossContext,
  after: string,
  writer: string,
): RedeployCheck {
  const plan = d.world.redeploy();
  const answer = d.world.route53.answer(ctx.recordName)?.values ?? [];
  const instancesTouched = plan.updated.filter((c) => c.type === 'AWS::RDS::DBInstance').length;
  return { after, answer, writer, plan, ok: answer.join() === writer && instancesTouched === 0 };
}

/** The kill until the application's next acknowledged write, through the record (bounded by the TTL). */
async function nextWriteAfter(
  app: LoadGenerator,
  killedAt: number,
  ttlSeconds: number,
): Promise<number | null> {
  const settle = Date.now() + (ttlSeconds + 5) * 1000;
  let writableAt: number | null = null;
  for (let round = 0; round < 200 && writableAt === null && Date.now() < settle; round++) {
    writableAt = app.samples.find((s) => s.op === 'write' && s.ok && s.at > killedAt)?.at ?? null;
    if (writableAt === null) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return writableAt;
}

export async function rehearseRegionLoss(ctx: RegionLossContext): Promise<RegionLossFigures> {
  const { say } = ctx;
  say('region loss: a fresh deployment, a primary and its streaming standby in the other region');
  const d = await deployPair(ctx, 'region');
  const { world, names, primary, replica, primaryEndpoint, config } = d;
  try {
    say('region loss: kill -9 the primary; its observers call it unhealthy');
    const killedAt = Date.now();
    await primary.kill();
    const primaryObservers = [...world.route53.checks.values()].filter((c) =>
      c.alarm?.name.startsWith(`${config.resourcePrefix}-primary-db-unreachable`),
    );
    for (const check of primaryObservers) world.route53.observe(check.id, 'unhealthy');

    say('region failover: started approved (dr failover --promote), as on-call would after the page');
    const failover = await failoverRun(d, { approved: true });
    ctx.record('region failover', failover);
    const writableAt = await nextWriteAfter(d.app, killedAt, ctx.recordTtlSeconds);

    say(
      'the old primary returns; the retired-writer guard runs (every 5 minutes), the application keeps writing',
    );
    await primary.restart();
    const returnedAt = Date.now();
    for (const check of primaryObservers) world.route53.observe(check.id, 'healthy');
    const guard = await runInWorld({
      world,
      file: 'retired-writer-guard.asl.json',
      stateMachineName: names.retiredWriterGuardStateMachine,
      input: {},
    });
    ctx.record('retired-writer guard', guard);
    // The record answers PRIMARY again, now the promoted writer: nothing reaches the returned primary.
    await new Promise((resolve) => setTimeout(resolve, ctx.recordTtlSeconds * 1000 + 1000));
    const lossApp = d.app;
    await lossApp.stop();
    // Writes the application had acknowledged by the returned primary (it connects by what the record says).
    const returnedWritesAccepted = lossApp.samples.filter(
      (s) => s.op === 'write' && s.ok && s.host === primaryEndpoint && s.at >= returnedAt,
    ).length;
    // Counted now: the failback retires this server (its databases then refuse connections).
    const lostWrites = await missingOn(replica, lossApp.ackedWrites);
    const redeploys = [redeployAfter(d, ctx, 'the region failover', d.replicaEndpoint)];
    say(`redeploy after the failover: the record answers ${redeploys[0]?.answer.join() ?? '?'}`);

    const reprotect = await reprotectRun(d, ctx);
    // Here the re-protect copies the writer's files while it is briefly stopped (RDS builds a replica from a
    // snapshot without that): the application starts again after it, and the failback is measured from there.
    await d.restartApp('failback');
    const failback = await failbackRun(d, ctx, redeploys);
    return {
      rtoSeconds: writableAt === null ? null : Math.round((writableAt - killedAt) / 100) / 10,
      lostWrites,
      ackedWrites: lossApp.ackedWrites.length,
      returnedWritesAccepted,
      redeploys,
      failover,
      guard,
      reprotect,
      failback,
      killedAt,
      writableAt,
      samples: lossApp.samples,
      promotedEndpoint: d.replicaEndpoint,
    };
  } finally {
    await d.close();
  }
}

/** Re-protect: the DR rebuild, as `dr reprotect` starts it, gives the promoted writer a home-region replica. */
async function reprotectRun(d: PairDeployment, ctx: RegionLossContext): Promise<WorldExecution> {
  const writer = d.config.database.replicaInstanceIdentifier;
  const home = `${d.config.resourcePrefix}-replica-g2`;
  ctx.say(
    `re-protect (the DR rebuild dr reprotect starts): ${home}, a standby of ${writer}, in the home region`,
  );
  const run = await runInWorld({
    world: d.world,
    file: 'dr-rebuild.asl.json',
    stateMachineName: d.names.drRebuildStateMachine,
    input: {
      sourceInstanceIdentifier: writer,
      replicaInstanceIdentifier: home,
      dns: {
        hostedZoneId: d.config.hostedZoneId,
        recordName: ctx.recordName,
        secondarySetIdentifier: `${ctx.recordName}-secondary`,
      },
    },
    waits: { WaitForRds: 200 },
    retryIntervals: { Advance: 0, RepointSecondary: 0, RecordReplica: 0 },
  });
  ctx.record('re-protect', run);
  return run;
}

export interface SwitchoverFigures {
  readonly lostWrites: number;
  readonly ackedWrites: number;
  readonly longestWritePauseMs: number;
  readonly run: WorldExecution;
  readonly startedAt: number;
  readonly samples: readonly LoadSample[];
}

/**
 * Failback (`dr switchover`) to the home region's new replica, the application writing through the record:
 * no acknowledged write may be lost; the write pause is measured. A redeploy follows the re-protect and the
 * failback.
 */
async function failbackRun(
  d: PairDeployment,
  ctx: RegionLossContext,
  redeploys: RedeployCheck[],
): Promise<SwitchoverFigures> {
  const home = `${d.config.resourcePrefix}-replica-g2`;
  const homeEndpoint = localRdsEndpoint(home, d.config.primaryRegion);
  redeploys.push(redeployAfter(d, ctx, 're-protect', d.replicaEndpoint));
  ctx.say('failback (dr switchover): back to the home region, the application writing');
  const startedAt = Date.now();
  const run = await failoverRun(d, { approved: true, planned: true });
  ctx.record('failback switchover', run);
  await new Promise((resolve) => setTimeout(resolve, ctx.recordTtlSeconds * 1000 + 1000));
  await d.app.stop();
  redeploys.push(redeployAfter(d, ctx, 'the failback', homeEndpoint));
  const standby = d.serverOf.get(home);
  return {
    lostWrites:
      standby === undefined ? d.app.ackedWrites.length : await missingOn(standby, d.app.ackedWrites),
    ackedWrites: d.app.ackedWrites.length,
    longestWritePauseMs: longestWritePause(d.app.samples, startedAt, Date.now()),
    run,
    startedAt,
    samples: d.app.samples,
  };
}
