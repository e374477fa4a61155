import {
  GetActivityTaskCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { Client } from 'pg';
import { localRdsEndpoint, resolveLocalRdsEndpoints } from '../../lib/local-aws/endpoint-dns';
import { runInWorld, type WorldExecution } from '../../lib/local-aws/workflow';
import { drNames } from '../../lib/names';
import { testConfig } from '../infra/test-config';
import { databaseSecret } from '../support/lambda';
import { PostgresServer } from '../support/postgres';
import { caughtUp, execute } from '../support/replication';
import { SSMClient } from '@aws-sdk/client-ssm';
import { changeTopology } from '../../lambdas/shared/topology-change';
import { MASTER_SECRET, RECORD, testWorld, TOPOLOGY, topologyOf } from '../support/world';
import { RESTORE_POINT_TAG, RESTORED_FROM_TAG } from '../../lambdas/shared/provisioning-tags';

const CONFIG = testConfig();
const NAMES = drNames(CONFIG);
const FILE = 'region-failover.asl.json';
const PRIMARY = CONFIG.database.primaryInstanceIdentifier;
const REPLICA = CONFIG.database.replicaInstanceIdentifier;
/** The instances' endpoints: DNS names the local world answers with the loopback servers behind them. */
const PRIMARY_HOST = localRdsEndpoint(PRIMARY, CONFIG.primaryRegion);
const REPLICA_HOST = localRdsEndpoint(REPLICA, CONFIG.secondaryRegion);
const NO_WAITS = {
  retryIntervals: {
    Plan: 0,
    Measure: 0,
    Replan: 0,
    Remeasure: 0,
    RetireFormerWriter: 0,
    Promote: 0,
    OpenWriter: 0,
    RecordFailover: 0,
    PointSecondary: 0,
    PointPrimary: 0,
  },
  waits: { WaitForPromotion: 0 },
};

type World = ReturnType<typeof testWorld>;

/** Polls for the approval task as dr failover approve does (bounded: 20 polls). */
async function eventuallyTask(sfn: SFNClient, activityArn: string) {
  for (let poll = 0; poll < 20; poll++) {
    const task = await sfn.send(new GetActivityTaskCommand({ activityArn, workerName: 'test' }));
    if (task.taskToken !== undefined && task.taskToken !== '') return task;
  }
  throw new Error('no approval task was scheduled');
}

function harness(servers: () => { primary: PostgresServer; replica: PostgresServer }) {
  /**
   * The world over this test's servers. The steps cache secrets (as Powertools does on Lambda), and each test's
   * servers have their own password: after the first test, the topology names a secret of the test's own for
   * both members (as it does after a cutover to a green opened by its own secret).
   */
  async function world(
    options: { promoteFails?: boolean } = {},
  ): Promise<World & { notified: Map<string, string> }> {
    const secretId = counter === 1 ? MASTER_SECRET : `pg-dr/failover-test-${counter}`;
    const w = testWorld({
      endpoints: { [PRIMARY]: PRIMARY_HOST, [REPLICA]: REPLICA_HOST },
      ports: { [PRIMARY]: servers().primary.port, [REPLICA]: servers().replica.port },
      secrets: { [secretId]: databaseSecret(servers().primary).SecretString },
      rds: { createMs: 0, modifyMs: 0, rebootMs: 0, promoteMs: 0 },
      onPromote: async () => {
        if (options.promoteFails === true) throw Object.assign(new Error('simulated'), { name: 'Boom' });
        await execute(servers().replica, 'postgres', 'SELECT pg_promote(true, 30)');
      },
    });
    // A poll with no task waits 2 s here (60 s on AWS), so a test that finds none ends soon.
    w.stepFunctions.activityPollMs = 2_000;
    if (secretId !== MASTER_SECRET)
      await changeTopology(new SSMClient({ region: 'us-east-1' }), TOPOLOGY, {
        expectedGeneration: 1,
        changedBy: 'test: members opened by their own secret',
        now: new Date(),
        next: (t) => ({
          writer: { ...t.writer, secretId },
          replica: t.replica === null ? null : { ...t.replica, secretId },
          retired: [],
        }),
      });
    return Object.assign(w, { notified: new Map<string, string>() });
  }

  function run(
    w: World & { notified: Map<string, string> },
    input: Record<string, unknown>,
    overrides: Partial<Parameters<typeof runInWorld>[0]> = {},
  ): Promise<WorldExecution> {
    return runInWorld({
      world: w,
      file: FILE,
      stateMachineName: NAMES.regionFailoverStateMachine,
      input,
      environment: { DB_CA_FILE: `${servers().primary.rootDir}/tls/ca.crt` },
      ...NO_WAITS,
      onNotify: (state, published) => w.notified.set(state, published.Message ?? ''),
      ...overrides,
    });
  }

  async function writes(server: PostgresServer): Promise<number> {
    const client = new Client(server.clientConfig('shop'));
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM orders')).rows[0]?.n ?? -1;
    } finally {
      await client.end();
    }
  }

  return { world, run, writes };
}

/**
 * The region failover in the local world: the synthesized app's records, topology, roles and state machine,
 * over a real primary and its real streaming standby (the replica RDS promotes: pg_promote()).
 */
let undoDns: () => void;
beforeAll(() => {
  undoDns = resolveLocalRdsEndpoints();
});
afterAll(() => {
  undoDns();
});
let counter = 0;

/** A primary with an application database, and its streaming standby (the replica RDS would promote). */
async function startPair(): Promise<{ primary: PostgresServer; replica: PostgresServer }> {
  counter += 1;
  const primary = await PostgresServer.start({ name: `rf-primary-${counter}` });
  await execute(primary, 'postgres', 'CREATE DATABASE shop');
  await execute(primary, 'shop', 'CREATE TABLE orders (id bigserial PRIMARY KEY, note text)');
  const replica = await PostgresServer.startStandby(primary, { name: `rf-replica-${counter}` });
  return { primary, replica };
}

describe('region failover, in the local world over a real primary and streaming standby', () => {
  let primary: PostgresServer;
  let replica: PostgresServer;

  beforeEach(async () => {
    ({ primary, replica } = await startPair());
  });
  afterEach(async () => {
    await replica.destroy();
    await primary.destroy();
  });

  const { world, run, writes } = harness(() => ({ primary, replica }));

  it('region lost, started approved (dr failover --promote): promotes the replica, opens it, records it, points both records at it, pauses the drill', async () => {
    await execute(primary, 'shop', "INSERT INTO orders (note) SELECT 'before' FROM generate_series(1, 50)");
    // The replica kept up (on a loaded machine its replay may trail the insert by seconds).
    await caughtUp(primary, replica, 'shop');
    // The region is lost: the writer is gone (kill -9 in the rehearsal; stopped here).
    await primary.stop();
    const w = await world();
    try {
      const result = await run(w, { approved: true });
      expect(result.status).toBe('SUCCEEDED');
      expect(result.path).not.toContain('AwaitApproval');
      // Retired before anything else, promoted in rounds, opened, recorded, then DNS.
      expect(result.path.filter((s) => !/^(Is|Count|Wait|Start)/.test(s))).toEqual([
        'Settings',
        'Plan',
        'Measure',
        'ReadDrillSchedule',
        'WasDrillScheduled',
        'PauseDrillSchedule',
        'MarkDrillPaused',
        'RetireFormerWriter',
        'WasWriterRetired',
        'Promote',
        'Promote',
        'OpenWriter',
        'RecordFailover',
        'PointSecondary',
        'PointPrimary',
        'WasRecorded',
        'DrillPaused',
        'WasOpened',
        'NotifyFailedOver',
        'FailedOver',
      ]);
      const replicaEndpoint = w.rds.instance(CONFIG.secondaryRegion, REPLICA)?.endpoint;
      expect(replicaEndpoint).toBe(REPLICA_HOST);
      expect(w.rds.instance(CONFIG.secondaryRegion, REPLICA)).toMatchObject({
        source: undefined,
        backupRetentionPeriod: CONFIG.database.backupRetentionDays,
      });
      // The promoted replica takes writes, and holds what the writer had committed and it had replayed.
      await execute(replica, 'shop', "INSERT INTO orders (note) VALUES ('after')");
      expect(await writes(replica)).toBe(51);
      // The topology follows the data; both records answer the new writer, whatever PRIMARY's check says later.
      expect(await topologyOf()).toMatchObject({
        generation: 2,
        writer: { instanceIdentifier: REPLICA, endpoint: REPLICA_HOST, region: CONFIG.secondaryRegion },
        replica: null,
        retired: [{ instanceIdentifier: PRIMARY, endpoint: PRIMARY_HOST }],
      });
      for (const role of ['primary', 'secondary'])
        expect(w.route53.recordSet(RECORD, `${RECORD}-${role}`)?.ResourceRecords).toEqual([
          { Value: REPLICA_HOST },
        ]);
      const schedule = w.events.rules.get(`${CONFIG.orchestrationRegion}/${NAMES.drillSchedule}`);
      expect(schedule?.state).toBe('DISABLED');
      // Marked as paused by this failover: the failback's re-protect resumes it (a person's pause it leaves).
      expect(schedule?.tags?.get('pg-dr:drill-paused-by')).toBe(result.executionArn.split(':').pop());
      expect(result.output).toMatchObject({
        status: 'failed-over',
        formerWriterRetired: { reachable: false },
        rpo: { measuredBy: 'replay-time' },
      });
      expect([...w.notified.keys()]).toEqual(['NotifyFailedOver']);

      expect(w.notified.get('NotifyFailedOver')).toMatch(
        /Data loss \(RPO\), measured before the promotion: the writer cannot be asked/,
      );
      expect(
        w.aws.calls.filter((c) => c.error === 'AccessDenied' || c.error === 'AccessDeniedException'),
      ).toEqual([]);
      // The region returns: the old primary starts again with its databases open. The retired-writer guard
      // (every 5 minutes) retires it before any client that connects by its endpoint can write to it.
      await primary.restart();
      const guard = () =>
        runInWorld({
          world: w,
          file: 'retired-writer-guard.asl.json',
          stateMachineName: NAMES.retiredWriterGuardStateMachine,
          input: {},
          environment: { DB_CA_FILE: `${primary.rootDir}/tls/ca.crt` },
          onNotify: (state, published) => w.notified.set(state, published.Message ?? ''),
        });
      const guarded = await guard();
      expect(guarded.status).toBe('SUCCEEDED');
      expect(guarded.path).toEqual([
        'ListRetired',
        'AnyRetired',
        'Guard',
        'RetiredAny',
        'NotifyReturnedWriterRetired',
        'Guarded',
      ]);
      expect(w.notified.get('NotifyReturnedWriterRetired')).toContain(`["${PRIMARY}"]`);
      const stale = new Client(primary.clientConfig('shop'));
      stale.on('error', () => undefined);
      await expect(stale.connect()).rejects.toMatchObject({ code: '55000' });
      // Already retired: the next run changes nothing and pages no one.
      w.notified.clear();
      expect((await guard()).path).toEqual(['ListRetired', 'AnyRetired', 'Guard', 'RetiredAny', 'Guarded']);
      expect(w.notified.size).toBe(0);
    } finally {
      w.close();
    }
  });

  it('resumes a failover that stopped after the promotion: started again, it retires the writer again, then opens, records and points DNS at the promoted replica', async () => {
    await execute(primary, 'shop', "INSERT INTO orders (note) SELECT 'before' FROM generate_series(1, 20)");
    await caughtUp(primary, replica, 'shop');
    const w = await world();
    try {
      // An earlier execution promoted the replica, then stopped (its Lambda timed out, or it was stopped):
      // nothing recorded, DNS untouched.
      await w.aws.call(
        'rds',
        'PromoteReadReplica',
        { DBInstanceIdentifier: REPLICA, BackupRetentionPeriod: CONFIG.database.backupRetentionDays },
        CONFIG.secondaryRegion,
      );
      // The former writer was not retired, and clients still wrote to it after the promotion.
      await execute(primary, 'shop', "INSERT INTO orders (note) SELECT 'lost' FROM generate_series(1, 5)");
      const before = await topologyOf();
      expect(before.writer.instanceIdentifier).toBe(PRIMARY);
      // A switchover cannot promise zero loss any more: it says to finish as a failover.
      const switchover = await run(w, { approved: true, planned: true });
      expect(switchover.status).toBe('FAILED');
      expect(w.notified.get('NotifyRefused')).toContain('Finish it as a failover (dr failover)');

      const result = await run(w, { approved: true });
      expect(result.error).toBeUndefined();
      expect(result.status).toBe('SUCCEEDED');
      expect(result.path.filter((s) => !/^(Is|Count|Wait|Start)/.test(s))).toEqual([
        'Settings',
        'Plan',
        'Measure',
        'ReadDrillSchedule',
        'WasDrillScheduled',
        'PauseDrillSchedule',
        'MarkDrillPaused',
        'RetireFormerWriter',
        'WasWriterRetired',
        'Promote',
        'OpenWriter',
        'RecordFailover',
        'PointSecondary',
        'PointPrimary',
        'WasRecorded',
        'DrillPaused',
        'WasOpened',
        'NotifyFailedOver',
        'FailedOver',
      ]);
      // The former writer (still answering here) was retired before anything else: never two writers.
      const stale = new Client(primary.clientConfig('shop'));
      stale.on('error', () => undefined);
      await expect(stale.connect()).rejects.toMatchObject({ code: '55000' });
      await execute(replica, 'shop', "INSERT INTO orders (note) VALUES ('after')");
      expect(await writes(replica)).toBe(21);
      expect(await topologyOf()).toMatchObject({
        generation: before.generation + 1,
        writer: { instanceIdentifier: REPLICA },
        replica: null,
        retired: [{ instanceIdentifier: PRIMARY }],
      });
      for (const role of ['primary', 'secondary'])
        expect(w.route53.recordSet(RECORD, `${RECORD}-${role}`)?.ResourceRecords).toEqual([
          { Value: REPLICA_HOST },
        ]);
      // The approval and the report say what finishing discards: what the former writer took since the promotion.
      expect(result.output).toMatchObject({ rpo: { measuredBy: 'lsn' } });
      expect((result.output as { rpo: { bytesBehind: number } }).rpo.bytesBehind).toBeGreaterThan(0);
      expect(w.notified.get('NotifyFailedOver')).toMatch(
        /was promoted already, and pg-dr-primary still takes writes/,
      );
    } finally {
      w.close();
    }
  });

  it('leaves a drill schedule a person had turned off as it was: not marked, so the failback does not turn it on', async () => {
    await execute(primary, 'shop', "INSERT INTO orders (note) VALUES ('before')");
    await caughtUp(primary, replica, 'shop');
    await primary.stop();
    const w = await world();
    try {
      const key = `${CONFIG.orchestrationRegion}/${NAMES.drillSchedule}`;
      await w.aws.call('events', 'DisableRule', { Name: NAMES.drillSchedule }, CONFIG.orchestrationRegion);
      const result = await run(w, { approved: true });
      expect(result.error).toBeUndefined();
      expect(result.status).toBe('SUCCEEDED');
      expect(result.path).toContain('WasDrillScheduled');
      expect(result.path).not.toContain('MarkDrillPaused');
      expect(w.events.rules.get(key)?.state).toBe('DISABLED');
      expect(w.events.rules.get(key)?.tags?.size).toBe(0);
    } finally {
      w.close();
    }
  });

  it('planned switchover (dr switchover): the writer retired, its last write replayed, then promoted: no acknowledged write lost', async () => {
    const w = await world();
    // An application writing to the writer the whole time, until the retirement ends its session.
    const app = new Client(primary.clientConfig('shop'));
    app.on('error', () => undefined);
    await app.connect();
    const acked: string[] = [];
    const load = { writing: true };
    const writes = (async () => {
      for (let n = 0; load.writing && n < 20_000; n++) {
        try {
          const { rows } = await app.query<{ id: string }>(
            "INSERT INTO orders (note) VALUES ('switchover') RETURNING id::text",
          );
          acked.push(rows[0]?.id ?? '');
        } catch {
          return;
        }
      }
    })();
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const result = await run(w, { approved: true, planned: true });
      load.writing = false;
      await writes;
      expect(result.status).toBe('SUCCEEDED');
      expect(result.path).toContain('CatchUp');
      expect(acked.length).toBeGreaterThan(10);
      const promoted = new Client(replica.clientConfig('shop'));
      await promoted.connect();
      const { rows } = await promoted.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::bigint[])',
        [acked],
      );
      await promoted.end();
      expect(rows[0]?.n).toBe(acked.length);
      expect(await topologyOf()).toMatchObject({
        writer: { instanceIdentifier: REPLICA },
        retired: [{ instanceIdentifier: PRIMARY }],
      });
    } finally {
      load.writing = false;
      await writes;
      await app.end().catch(() => undefined);
      w.close();
    }
  });

  it('writer still answering, approved by a person: pages, waits for dr failover approve, retires the writer, then promotes', async () => {
    const w = await world();
    try {
      const execution = run(w, {});
      // What dr failover approve does: take the approval task (its input is the plan and the window), answer it.
      const sfn = new SFNClient({ region: CONFIG.orchestrationRegion });
      const activityArn = w.ref('AWS::StepFunctions::Activity', 'RegionFailoverApproval');
      const task = await eventuallyTask(sfn, activityArn);
      const offered = JSON.parse(task.input ?? '{}') as {
        plan: { replica: { instanceIdentifier: string } };
        measured: { writerReachable: boolean; window: { measuredBy: string } };
      };
      expect(offered).toMatchObject({
        plan: { replica: { instanceIdentifier: REPLICA } },
        measured: { writerReachable: true, window: { measuredBy: 'lsn' } },
      });
      expect(w.notified.get('NotifyApprovalNeeded')).toMatch(/run: dr failover approve/);
      await sfn.send(
        new SendTaskSuccessCommand({
          taskToken: task.taskToken,
          output: JSON.stringify({ approvedBy: 'on-call' }),
        }),
      );
      const result = await execution;
      expect(result.status).toBe('SUCCEEDED');
      // Planned and measured again after the approval, then the writer retired before the promotion.
      expect(result.path.slice(0, 10)).toEqual([
        'Settings',
        'Plan',
        'Measure',
        'IsApproved',
        'NotifyApprovalNeeded',
        'AwaitApproval',
        'Replan',
        'SamePlan',
        'Remeasure',
        'ReadDrillSchedule',
      ]);
      expect(result.output).toMatchObject({ formerWriterRetired: { reachable: true, databases: ['shop'] } });
      // The retired writer refuses the application; the promoted one takes its writes.
      const refused = new Client(primary.clientConfig('shop'));
      refused.on('error', () => undefined);
      await expect(refused.connect()).rejects.toMatchObject({ code: '55000' });
      await execute(replica, 'shop', "INSERT INTO orders (note) VALUES ('after')");
      expect(await topologyOf()).toMatchObject({ writer: { instanceIdentifier: REPLICA }, generation: 3 });
    } finally {
      w.close();
    }
  });
});

describe('adopting a restored instance (dr failover --adopt), in the local world over real servers', () => {
  let primary: PostgresServer;
  let replica: PostgresServer;
  let restored: PostgresServer;
  const RESTORED = 'pg-dr-restored';
  const RESTORED_HOST = localRdsEndpoint(RESTORED, CONFIG.primaryRegion);
  const RESTORE_POINT = new Date(Date.now() - 3_600_000).toISOString();

  beforeEach(async () => {
    ({ primary, replica } = await startPair());
    // What dr restore made: the writer's data as of the restore point, with its master password as it was then.
    restored = await PostgresServer.start({ name: `rf-restored-${counter}`, password: primary.password });
    await execute(restored, 'postgres', 'CREATE DATABASE shop');
    await execute(restored, 'shop', 'CREATE TABLE orders (id bigserial PRIMARY KEY, note text)');
    await execute(
      restored,
      'shop',
      "INSERT INTO orders (note) SELECT 'restored' FROM generate_series(1, 10)",
    );
  });
  afterEach(async () => {
    await restored.destroy();
    await replica.destroy();
    await primary.destroy();
  });

  const { world, run, writes } = harness(() => ({ primary, replica }));

  /** The restored instance as RDS shows it, tagged as dr restore tags it (`tags` replace them). */
  function addRestored(w: World, tags?: { Key: string; Value: string }[]) {
    w.rds.addInstance({
      id: RESTORED,
      region: CONFIG.primaryRegion,
      endpoint: RESTORED_HOST,
      port: restored.port,
      tags: tags ?? [
        { Key: RESTORED_FROM_TAG, Value: PRIMARY },
        { Key: RESTORE_POINT_TAG, Value: RESTORE_POINT },
      ],
    });
  }

  it('data damaged on the writer and its replica: retires the writer, gives the restored instance the current password, records it as the writer and points both records at it', async () => {
    await execute(primary, 'shop', "INSERT INTO orders (note) SELECT 'damaged' FROM generate_series(1, 30)");
    const w = await world();
    try {
      // The master secret rotated since the restore point: the restored instance opens only by the previous version.
      const secretId = (await topologyOf()).writer.secretId ?? MASTER_SECRET;
      const rotated = `rotated-${counter}-Aa1`;
      await execute(primary, 'postgres', `ALTER ROLE ${primary.user} PASSWORD '${rotated}'`);
      await w.aws.call(
        'secretsmanager',
        'PutSecretValue',
        { SecretId: secretId, SecretString: databaseSecret(primary, 'postgres', rotated).SecretString },
        // The master secret lives in the primary region (replicated); a test's own secret in the orchestration one.
        secretId === MASTER_SECRET ? CONFIG.primaryRegion : CONFIG.orchestrationRegion,
      );
      addRestored(w);
      const result = await run(w, { approved: true, adopt: { instanceIdentifier: RESTORED } });
      expect(result.error).toBeUndefined();
      expect(result.status).toBe('SUCCEEDED');
      // No catch-up and no promotion round: the restored instance is standalone already.
      expect(result.path).not.toContain('CatchUp');
      expect(result.path).not.toContain('Promote');
      expect(result.path).toContain('IsAdoption');
      expect(w.aws.calls.filter((c) => c.operation === 'PromoteReadReplica')).toEqual([]);
      expect(result.path).toEqual(
        expect.arrayContaining(['RetireFormerWriter', 'OpenWriter', 'RecordFailover']),
      );
      // The former writer answered: retired before the restored instance was opened.
      const stale = new Client({ ...primary.clientConfig('shop'), password: rotated });
      stale.on('error', () => undefined);
      await expect(stale.connect()).rejects.toMatchObject({ code: '55000' });
      // The restored instance takes writes, by the secret's current password (the previous one no longer opens it).
      const adopted = new Client({ ...restored.clientConfig('shop'), password: rotated });
      await adopted.connect();
      await adopted.query("INSERT INTO orders (note) VALUES ('after')");
      await adopted.end();
      expect(await writes(restored).catch((e: unknown) => (e as Error).message)).toMatch(
        /password authentication failed/,
      );
      expect(await topologyOf()).toMatchObject({
        writer: {
          instanceIdentifier: RESTORED,
          region: CONFIG.primaryRegion,
          endpoint: RESTORED_HOST,
          port: restored.port,
          ...(secretId === MASTER_SECRET ? {} : { secretId }),
        },
        replica: null,
        retired: [{ instanceIdentifier: PRIMARY }],
      });
      for (const role of ['primary', 'secondary'])
        expect(w.route53.recordSet(RECORD, `${RECORD}-${role}`)?.ResourceRecords).toEqual([
          { Value: RESTORED_HOST },
        ]);
      expect(result.output).toMatchObject({
        status: 'failed-over',
        writer: { instanceIdentifier: RESTORED },
        adopted: { restoredFrom: PRIMARY, restorePoint: RESTORE_POINT, formerReplica: REPLICA },
        rpo: { measuredBy: 'restore-point', lastReplayedCommitAt: RESTORE_POINT },
      });
      expect(w.notified.get('NotifyFailedOver')).toContain(
        `Done: adopt ${RESTORED} in ${CONFIG.primaryRegion} (restored from ${PRIMARY}`,
      );
      expect(w.notified.get('NotifyFailedOver')).toContain(`${PRIMARY} still takes writes`);
      expect(
        w.aws.calls.filter((c) => c.error === 'AccessDenied' || c.error === 'AccessDeniedException'),
      ).toEqual([]);
    } finally {
      w.close();
    }
  });

  it('the writer lost with its region, approved by a person: the approval offers the adoption and its loss, planned and measured again, then adopted', async () => {
    await primary.stop();
    const w = await world();
    try {
      addRestored(w);
      const execution = run(w, { adopt: { instanceIdentifier: RESTORED } });
      const sfn = new SFNClient({ region: CONFIG.orchestrationRegion });
      const task = await eventuallyTask(sfn, w.ref('AWS::StepFunctions::Activity', 'RegionFailoverApproval'));
      // What dr failover approve shows: the restored instance in the replica's place, and what it lacks.
      expect(JSON.parse(task.input ?? '{}')).toMatchObject({
        plan: {
          replica: { instanceIdentifier: RESTORED, endpoint: RESTORED_HOST },
          adopt: { restoredFrom: PRIMARY, restorePoint: RESTORE_POINT, formerReplica: REPLICA },
        },
        measured: {
          writerReachable: false,
          alreadyPromoted: true,
          secretVersion: 'AWSCURRENT',
          window: { measuredBy: 'restore-point', lastReplayedCommitAt: RESTORE_POINT },
        },
      });
      expect(w.notified.get('NotifyApprovalNeeded')).toContain(
        `Plan: adopt ${RESTORED} in ${CONFIG.primaryRegion} (restored from ${PRIMARY}, restore point ${RESTORE_POINT}) as the writer`,
      );
      await sfn.send(
        new SendTaskSuccessCommand({
          taskToken: task.taskToken,
          output: JSON.stringify({ approvedBy: 'on-call' }),
        }),
      );
      const result = await execution;
      expect(result.error).toBeUndefined();
      expect(result.status).toBe('SUCCEEDED');
      expect(result.path).toEqual(
        expect.arrayContaining(['AwaitApproval', 'Replan', 'SamePlan', 'Remeasure', 'OpenWriter']),
      );
      expect(result.path).not.toContain('Promote');
      // The lost writer is recorded retired (the guard retires it when its region returns).
      expect(result.output).toMatchObject({ formerWriterRetired: { reachable: false } });
      expect(await topologyOf()).toMatchObject({
        writer: { instanceIdentifier: RESTORED },
        replica: null,
        retired: [{ instanceIdentifier: PRIMARY }],
      });
      await execute(restored, 'shop', "INSERT INTO orders (note) VALUES ('after')");
      expect(await writes(restored)).toBe(11);
    } finally {
      w.close();
    }
  });

  it('refuses, changing nothing, an instance dr restore did not make, a topology member, and a switchover or force', async () => {
    const w = await world();
    const before = await topologyOf();
    try {
      const refused = async (input: Record<string, unknown>, message: RegExp) => {
        w.notified.clear();
        const result = await run(w, input);
        expect(result.status).toBe('FAILED');
        expect(w.notified.get('NotifyRefused')).toMatch(message);
      };
      await refused(
        { approved: true, adopt: { instanceIdentifier: RESTORED } },
        /no instance pg-dr-restored in/,
      );
      addRestored(w, [{ Key: RESTORE_POINT_TAG, Value: RESTORE_POINT }]);
      await refused(
        { approved: true, adopt: { instanceIdentifier: RESTORED } },
        /has no pg-dr:restored-from tag: only an instance restored by dr restore is adopted/,
      );
      await refused(
        { approved: true, adopt: { instanceIdentifier: REPLICA } },
        /pg-dr-replica is the replica of the topology/,
      );
      await refused(
        { approved: true, planned: true, adopt: { instanceIdentifier: RESTORED } },
        /adopt is neither planned nor forced/,
      );
      await refused(
        { approved: true, force: true, adopt: { instanceIdentifier: RESTORED } },
        /adopt is neither planned nor forced/,
      );
      expect(await topologyOf()).toEqual(before);
      // The writer kept serving throughout.
      await execute(primary, 'shop', "INSERT INTO orders (note) VALUES ('still the writer')");
    } finally {
      w.close();
    }
  });
});

/** Refusals: nothing may change. One pair of servers, never promoted, serves them all. */
describe('region failover refusals, in the local world (nothing changes)', () => {
  let primary: PostgresServer;
  let replica: PostgresServer;
  beforeAll(async () => {
    ({ primary, replica } = await startPair());
  });
  afterAll(async () => {
    await replica.destroy();
    await primary.destroy();
  });
  const { world, run } = harness(() => ({ primary, replica }));

  /** Nothing was changed: topology, records, drill schedule and the promotion all as before. */
  async function expectNothingChanged(w: Awaited<ReturnType<typeof world>>, generation: number) {
    expect((await topologyOf()).generation).toBe(generation);
    expect(w.rds.instance(CONFIG.secondaryRegion, REPLICA)?.source).toBeDefined();
    expect(w.route53.recordSet(RECORD, `${RECORD}-primary`)?.ResourceRecords).toEqual([
      { Value: PRIMARY_HOST },
    ]);
    expect(w.events.rules.get(`${CONFIG.orchestrationRegion}/${NAMES.drillSchedule}`)?.state).toBe('ENABLED');
    expect(w.aws.calls.filter((c) => c.operation === 'PromoteReadReplica')).toEqual([]);
  }

  it('refuses a replica too far behind a writer that answers, unless forced', async () => {
    const w = await world();
    const paused = new Client(replica.clientConfig('postgres'));
    paused.on('error', () => undefined);
    await paused.connect();
    try {
      await paused.query('SELECT pg_wal_replay_pause()');
      // More WAL than the configured limit (16 MiB) that the replica has not replayed.
      await execute(
        primary,
        'shop',
        "INSERT INTO orders (note) SELECT repeat('x', 1000) FROM generate_series(1, 25000)",
      );
      const refused = await run(w, { approved: true });
      expect(refused.status).toBe('FAILED');
      expect(refused.path).toEqual(['Settings', 'Plan', 'Measure', 'NotifyRefused', 'Refused']);
      expect(w.notified.get('NotifyRefused')).toMatch(
        /refused before anything changed: \{"Error":"ReplicaTooFarBehind","Cause":"the replica is \d+ bytes of WAL behind the writer/,
      );
      await expectNothingChanged(w, 2);

      // Forced: measured the same, and carried on (stopped here before it retires anything).
      const forced = await run(w, { approved: true, force: true }, { abortAt: 'RetireFormerWriter' });
      expect(forced.status).toBe('ABORTED');
      expect(forced.path).toEqual([
        'Settings',
        'Plan',
        'Measure',
        'IsApproved',
        'ReadDrillSchedule',
        'WasDrillScheduled',
        'PauseDrillSchedule',
        'MarkDrillPaused',
        'RetireFormerWriter',
      ]);
    } finally {
      await paused.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
      await paused.end();
      w.close();
    }
  });

  it('refuses input it does not know (a typo must not pass for a default)', async () => {
    const w = await world();
    try {
      const result = await run(w, { aproved: true });
      expect(result.status).toBe('FAILED');
      expect(w.notified.get('NotifyRefused')).toMatch(/InvalidInput/);
      await expectNothingChanged(w, 2);
    } finally {
      w.close();
    }
  });

  it('refuses while the drill or a migration runs', async () => {
    const w = await world();
    try {
      for (const machine of [NAMES.drillStateMachine, NAMES.blueGreenStateMachine]) {
        const other = w.stepFunctions.begin(w.stateMachineArn(machine), `running-${machine}`, {});
        const result = await run(w, { approved: true });
        expect(result.path).toEqual(['Settings', 'Plan', 'NotifyRefused', 'Refused']);
        expect(w.notified.get('NotifyRefused')).toContain(
          `{"Error":"WorkflowRunning","Cause":"running: ${machine}: running-${machine};`,
        );
        w.stepFunctions.finish(other, 'SUCCEEDED', { output: {} });
      }
      await expectNothingChanged(w, 2);
    } finally {
      w.close();
    }
  });

  it('ends unchanged when nobody approves within the hour, or the approval is declined', async () => {
    const w = await world();
    try {
      const timedOut = await run(
        w,
        {},
        {
          handlers: {
            AwaitApproval: () => {
              throw Object.assign(new Error('the approval task timed out'), { name: 'States.Timeout' });
            },
          },
        },
      );
      expect(timedOut.status).toBe('FAILED');
      expect(timedOut.error?.name).toBe('FailoverNotApproved');
      expect(timedOut.path.slice(-3)).toEqual(['AwaitApproval', 'NotifyApprovalTimedOut', 'NotApproved']);
      expect(w.notified.get('NotifyApprovalTimedOut')).toMatch(/Nothing was changed/);

      const sfn = new SFNClient({ region: CONFIG.orchestrationRegion });
      const declined = run(w, {});
      const task = await eventuallyTask(sfn, w.ref('AWS::StepFunctions::Activity', 'RegionFailoverApproval'));
      await sfn.send(
        new SendTaskFailureCommand({
          taskToken: task.taskToken,
          error: 'Declined',
          cause: 'declined by on-call',
        }),
      );
      const result = await declined;
      expect(result.path.slice(-3)).toEqual(['AwaitApproval', 'NotifyDeclined', 'NotApproved']);
      expect(w.notified.get('NotifyDeclined')).toMatch(
        /declined or its approval failed: \{"Error":"Declined","Cause":"declined by on-call"\}/,
      );
      await expectNothingChanged(w, 2);
    } finally {
      w.close();
    }
  });

  it('does not promote when the writer answered the measurement but not the retirement (it may be alive behind a partition)', async () => {
    const w = await world();
    try {
      const result = await run(
        w,
        { approved: true },
        { handlers: { RetireFormerWriter: () => ({ reachable: false, problem: 'timeout expired' }) } },
      );
      expect(result.path.slice(-4)).toEqual([
        'WasWriterRetired',
        'WriterVanished',
        'NotifyRetireFailed',
        'FailoverFailed',
      ]);
      expect(w.notified.get('NotifyRetireFailed')).toContain('could make two writers');
      expect(w.aws.calls.filter((c) => c.operation === 'PromoteReadReplica')).toEqual([]);
      expect((await topologyOf()).writer.instanceIdentifier).toBe(PRIMARY);
    } finally {
      w.close();
    }
  });

  it('refuses an approval given for a topology that changed while the person read it', async () => {
    const w = await world();
    try {
      const result = await run(
        w,
        {},
        {
          handlers: {
            // The topology moves on (another change) while the approval waits; then the person approves.
            // (Written straight into Parameter Store, as an operator would: outside every role.)
            AwaitApproval: () => {
              const document = JSON.parse(w.ssm.value('us-east-1', TOPOLOGY.document) ?? '{}') as {
                generation: number;
              };
              const next = { ...document, generation: document.generation + 1, changedBy: 'test: a change' };
              w.ssm.put('us-east-1', TOPOLOGY.document, JSON.stringify(next), true);
              return { approvedBy: 'on-call' };
            },
          },
        },
      );
      expect(result.path.slice(-5)).toEqual([
        'Replan',
        'SamePlan',
        'PlanChanged',
        'NotifyRefused',
        'Refused',
      ]);
      expect(w.notified.get('NotifyRefused')).toContain(
        'the topology changed while the failover waited for approval',
      );
      expect(w.aws.calls.filter((c) => c.operation === 'PromoteReadReplica')).toEqual([]);
    } finally {
      w.close();
    }
  });

  it('abandons a switchover whose replica does not catch up: the writer is opened again, nothing promoted', async () => {
    const w = await world();
    try {
      const result = await run(
        w,
        { approved: true, planned: true },
        {
          handlers: {
            CatchUp: () => {
              throw Object.assign(new Error('the replica replayed up to 0/3000000, not 0/3000060'), {
                name: 'ReplayTimeout',
              });
            },
          },
        },
      );
      expect(result.status).toBe('FAILED');
      expect(result.path.slice(-5)).toEqual([
        'CatchUp',
        'MayPromoteBehind',
        'ReopenWriter',
        'NotifySwitchoverAbandoned',
        'SwitchoverAbandoned',
      ]);
      expect(w.notified.get('NotifySwitchoverAbandoned')).toMatch(/takes writes again/);
      // The writer takes writes again; nothing was promoted, DNS and the topology are as they were.
      await execute(primary, 'shop', "INSERT INTO orders (note) VALUES ('still the writer')");
      expect((await topologyOf()).writer.instanceIdentifier).toBe(PRIMARY);
      expect(w.aws.calls.filter((c) => c.operation === 'PromoteReadReplica')).toEqual([]);
      expect(w.route53.recordSet(RECORD, `${RECORD}-primary`)?.ResourceRecords).toEqual([
        { Value: PRIMARY_HOST },
      ]);
    } finally {
      w.close();
    }
  });

  it('pages and leaves DNS and the topology alone when the promotion fails (the region already lost)', async () => {
    await primary.stop();
    const w = await world();
    try {
      const instance = w.rds.instance(CONFIG.secondaryRegion, REPLICA);
      // A status RDS does not leave by itself.
      if (instance !== undefined)
        Object.assign(instance, { status: 'incompatible-parameters', busyUntil: Infinity });
      const result = await run(w, { approved: true });
      expect(result.status).toBe('FAILED');
      expect(result.path.slice(-3)).toEqual(['Promote', 'NotifyPromotionFailed', 'FailoverFailed']);
      expect(w.notified.get('NotifyPromotionFailed')).toMatch(
        /could not promote pg-dr-replica in us-east-1: \{"Error":"PromotionFailed","Cause":"pg-dr-replica is incompatible-parameters/,
      );
      expect((await topologyOf()).writer.instanceIdentifier).toBe(PRIMARY);
      expect(w.route53.recordSet(RECORD, `${RECORD}-primary`)?.ResourceRecords).toEqual([
        { Value: PRIMARY_HOST },
      ]);
    } finally {
      w.close();
    }
  });

  it('refuses a switchover when the writer does not answer (that is a failover)', async () => {
    const w = await world();
    try {
      const result = await run(w, { approved: true, planned: true });
      expect(result.path).toEqual(['Settings', 'Plan', 'Measure', 'NotifyRefused', 'Refused']);
      expect(w.notified.get('NotifyRefused')).toMatch(
        /\{"Error":"WriterUnreachable","Cause":"a switchover needs the writer, and pg-dr-primary does not answer/,
      );
    } finally {
      w.close();
    }
  });
});
