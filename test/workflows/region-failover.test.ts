import { Client } from 'pg';
import { localRdsEndpoint, resolveLocalRdsEndpoints } from '../../lib/local-aws/endpoint-dns';
import { runInWorld, type WorldExecution } from '../../lib/local-aws/workflow';
import { drNames } from '../../lib/names';
import { testConfig } from '../infra/test-config';
import { databaseSecret } from '../support/lambda';
import { PostgresServer } from '../support/postgres';
import { execute } from '../support/replication';
import { MASTER_SECRET, RECORD, testWorld, topologyOf } from '../support/world';

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

/**
 * The region failover in the local world: the synthesized app's records, topology, roles and state machine,
 * over a real primary and its real streaming standby (the replica RDS promotes: pg_promote()).
 */
describe('region failover, in the local world over a real primary and streaming standby', () => {
  let primary: PostgresServer;
  let replica: PostgresServer;
  let counter = 0;
  let undoDns: () => void;

  beforeAll(() => {
    undoDns = resolveLocalRdsEndpoints();
  });
  afterAll(() => {
    undoDns();
  });
  beforeEach(async () => {
    counter += 1;
    primary = await PostgresServer.start({ name: `rf-primary-${counter}` });
    await execute(primary, 'postgres', 'CREATE DATABASE shop');
    await execute(primary, 'shop', 'CREATE TABLE orders (id bigserial PRIMARY KEY, note text)');
    replica = await PostgresServer.startStandby(primary, { name: `rf-replica-${counter}` });
  });
  afterEach(async () => {
    await replica.destroy();
    await primary.destroy();
  });

  function world(options: { promoteFails?: boolean } = {}): World & { notified: Map<string, string> } {
    const w = testWorld({
      endpoints: { [PRIMARY]: PRIMARY_HOST, [REPLICA]: REPLICA_HOST },
      ports: { [PRIMARY]: primary.port, [REPLICA]: replica.port },
      secrets: { [MASTER_SECRET]: databaseSecret(primary).SecretString },
      rds: { createMs: 0, modifyMs: 0, rebootMs: 0, promoteMs: 0 },
      onPromote: async () => {
        if (options.promoteFails === true) throw Object.assign(new Error('simulated'), { name: 'Boom' });
        await execute(replica, 'postgres', 'SELECT pg_promote(true, 30)');
      },
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
      environment: { DB_CA_FILE: `${primary.rootDir}/tls/ca.crt` },
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

  it('region lost, started approved (dr failover --promote): promotes the replica, opens it, records it, points both records at it, pauses the drill', async () => {
    await execute(primary, 'shop', "INSERT INTO orders (note) SELECT 'before' FROM generate_series(1, 50)");
    // The region is lost: the writer is gone (kill -9 in the rehearsal; stopped here).
    await primary.stop();
    const w = world();
    try {
      const result = await run(w, { approved: true });
      expect(result.status).toBe('SUCCEEDED');
      expect(result.path).not.toContain('AwaitApproval');
      // Retired before anything else, promoted in rounds, opened, recorded, then DNS.
      expect(result.path.filter((s) => !/^(Is|Count|Wait|Start)/.test(s))).toEqual([
        'Settings',
        'Plan',
        'Measure',
        'PauseDrillSchedule',
        'RetireFormerWriter',
        'Promote',
        'Promote',
        'OpenWriter',
        'RecordFailover',
        'PointSecondary',
        'PointPrimary',
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
      expect(w.events.rules.get(`${CONFIG.orchestrationRegion}/${NAMES.drillSchedule}`)?.state).toBe(
        'DISABLED',
      );
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
    } finally {
      w.close();
    }
  });
});
