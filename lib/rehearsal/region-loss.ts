/**
 * The rehearsal's region loss, on a deployment of its own (the same synthesized app, fresh databases): a primary
 * with its streaming standby, the application writing through the production record the whole time. The
 * primary is killed (kill -9: the region is gone), the observers' verdict reaches Route 53, and the region
 * failover, started approved (`dr failover --promote`, as on-call would after the page), promotes the real
 * standby (pg_promote) through the simulated RDS. Then the old primary returns, and the retired-writer guard
 * retires it; a redeploy (the simulated CloudFormation) leaves the record on the promoted writer.
 *
 * Measured, not assumed: the RTO (the kill until the application's next acknowledged write, through the record),
 * the RPO (acknowledged writes missing on the promoted server), and the writes the returned primary accepted.
 * Not in the RTO: the observers' detection (the drill measures DNS failover) and a person's approval.
 */
import { Client } from 'pg';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import type { ConnectionSettings } from '../../lambdas/shared/database';
import { localRdsEndpoint, resolveLocalRdsEndpoints } from '../local-aws/endpoint-dns';
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

export interface RegionLossFigures {
  /** The kill until the application's next acknowledged write through the record. */
  readonly rtoSeconds: number | null;
  readonly lostWrites: number;
  readonly ackedWrites: number;
  readonly returnedWritesAccepted: number;
  /** The record's answer after a redeploy (it must be the promoted writer), and what the redeploy changed. */
  readonly redeploy: { readonly answer: readonly string[]; readonly plan: StackUpdatePlan };
  readonly failover: WorldExecution;
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
  readonly primary: PostgresServer;
  readonly replica: PostgresServer;
  readonly primaryEndpoint: string;
  readonly replicaEndpoint: string;
  /** An application writing and reading through the production record, started. */
  readonly app: LoadGenerator;
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
    onPromote: async () => {
      await execute(replica, 'postgres', 'SELECT pg_promote(true, 30)');
    },
  });
  for (const role of ['primary', 'secondary'])
    Object.assign(world.route53.recordSet(ctx.recordName, `${ctx.recordName}-${role}`) ?? {}, {
      TTL: ctx.recordTtlSeconds,
    });
  const undoAws = world.aws.install();
  const undoDns = resolveLocalRdsEndpoints();
  const app = new LoadGenerator({
    name: label,
    recordName: ctx.recordName,
    resolve: world.route53.resolver(),
    endpoints: new Map([
      [primaryEndpoint, settingsOf(primary, primaryEndpoint)],
      [replicaEndpoint, settingsOf(replica, replicaEndpoint)],
    ]),
    intervalMs: 20,
    timeoutMs: 1000,
  });
  app.start();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return {
    world,
    names: drNames(config),
    primary,
    replica,
    primaryEndpoint,
    replicaEndpoint,
    app,
    close: async () => {
      await app.stop();
      undoDns();
      undoAws();
    },
  };
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

export async function rehearseRegionLoss(ctx: RegionLossContext): Promise<RegionLossFigures> {
  const { say } = ctx;
  say('region loss: a fresh deployment, a primary and its streaming standby in the other region');
  const d = await deployPair(ctx, 'region');
  const { world, names, primary, replica, primaryEndpoint, app } = d;
  try {
    say('region loss: kill -9 the primary; its observers call it unhealthy');
    const killedAt = Date.now();
    await primary.kill();
    const config = parseConfig(ctx.configInput);
    const primaryObservers = [...world.route53.checks.values()].filter((c) =>
      c.alarm?.name.startsWith(`${config.resourcePrefix}-primary-db-unreachable`),
    );
    for (const check of primaryObservers) world.route53.observe(check.id, 'unhealthy');

    say('region failover: started approved (dr failover --promote), as on-call would after the page');
    const failover = await failoverRun(d, { approved: true });
    ctx.record('region failover', failover);
    // The application's next acknowledged write after the kill: writes succeed again.
    const settle = Date.now() + (ctx.recordTtlSeconds + 5) * 1000;
    let writableAt: number | null = null;
    for (let round = 0; round < 200 && writableAt === null && Date.now() < settle; round++) {
      writableAt = app.samples.find((s) => s.op === 'write' && s.ok && s.at > killedAt)?.at ?? null;
      if (writableAt === null) await new Promise((resolve) => setTimeout(resolve, 50));
    }

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
    await app.stop();
    // Writes the application had acknowledged by the returned primary (it connects by what the record says).
    const returnedWritesAccepted = app.samples.filter(
      (s) => s.op === 'write' && s.ok && s.host === primaryEndpoint && s.at >= returnedAt,
    ).length;

    say('redeploy (the simulated CloudFormation): the record must still answer the promoted writer');
    // The same app deployed again (the test of the blue-green workflow also deploys a changed record, which
    // CloudFormation writes again from the topology's targets).
    const plan = world.redeploy();
    const answer = world.route53.answer(ctx.recordName)?.values ?? [];
    return {
      rtoSeconds: writableAt === null ? null : Math.round((writableAt - killedAt) / 100) / 10,
      lostWrites: await missingOn(replica, app.ackedWrites),
      ackedWrites: app.ackedWrites.length,
      returnedWritesAccepted,
      redeploy: { answer, plan },
      failover,
      guard,
      killedAt,
      writableAt,
      samples: app.samples,
      promotedEndpoint: d.replicaEndpoint,
    };
  } finally {
    await d.close();
  }
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
 * A planned switchover (`dr switchover`) on a deployment of its own, the application writing through the
 * record: no acknowledged write may be lost; the write pause is measured.
 */
export async function rehearseSwitchover(ctx: RegionLossContext): Promise<SwitchoverFigures> {
  ctx.say('switchover: a fresh deployment, the application writing; dr switchover to the other region');
  const d = await deployPair(ctx, 'switchover');
  try {
    const startedAt = Date.now();
    const run = await failoverRun(d, { approved: true, planned: true });
    ctx.record('switchover', run);
    await new Promise((resolve) => setTimeout(resolve, ctx.recordTtlSeconds * 1000 + 1000));
    await d.app.stop();
    return {
      lostWrites: await missingOn(d.replica, d.app.ackedWrites),
      ackedWrites: d.app.ackedWrites.length,
      longestWritePauseMs: longestWritePause(d.app.samples, startedAt, Date.now()),
      run,
      startedAt,
      samples: d.app.samples,
    };
  } finally {
    await d.close();
  }
}
