import { RDSClient } from '@aws-sdk/client-rds';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import { measureFailover } from '../../lambdas/failover/measure';
import { planFailover } from '../../lambdas/failover/plan';
import { guardRetiredWriters } from '../../lambdas/failover/guard';
import { openPromoted } from '../../lambdas/failover/open-writer';
import type { ConnectionSettings } from '../../lambdas/shared/database';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { isRetired, openWriter, retireIfReachable, retireWriter } from '../../lambdas/failover/retire-writer';
import { DatabaseError } from '../../lambdas/shared/postgres-errors';
import {
  checkPromotable,
  dataLossWindow,
  lsnBytes,
  replicaPosition,
  waitForReplay,
  writerPosition,
} from '../../lambdas/failover/replication-position';
import { parameterStore } from '../support/parameter-store';
import { coldStart, databaseSecret } from '../support/lambda';
import { freeLoopbackPort, PostgresServer } from '../support/postgres';
import { execute } from '../support/replication';

const DRILL = 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-failover-drill';
const LIMITS = { maxBytesBehind: 16 * 1024 * 1024, maxSecondsSinceLastReplay: 60 };

describe('failover measurements against a real primary and streaming replica', () => {
  let primary: PostgresServer;
  let replica: PostgresServer;
  const clients: Client[] = [];

  beforeAll(async () => {
    primary = await PostgresServer.start({ name: 'failover-primary' });
    await execute(
      primary,
      'postgres',
      'CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, note text)',
    );
    replica = await PostgresServer.startStandby(primary, { name: 'failover-replica' });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await replica.destroy();
    await primary.destroy();
  });

  async function connect(server: PostgresServer, database = 'postgres', user?: string): Promise<Client> {
    const client = new Client({ ...server.clientConfig(database), ...(user === undefined ? {} : { user }) });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  }

  it('reads WAL positions as byte offsets', () => {
    expect(lsnBytes('0/0')).toBe(0n);
    expect(lsnBytes('16/B374D848') - lsnBytes('16/B374D800')).toBe(0x48n);
    expect(lsnBytes('1/0') - lsnBytes('0/FFFFFFFF')).toBe(1n);
    expect(() => lsnBytes('16-B3')).toThrow('not a WAL position: 16-B3');
  });

  it('measures the window by WAL position when the writer answers, and refuses a replica too far behind', async () => {
    const [p, r] = await Promise.all([connect(primary), connect(replica)]);
    await p.query("INSERT INTO orders (note) VALUES ('before')");
    const target = (await writerPosition(p)).currentLsn ?? '';
    await waitForReplay(r, target, { timeoutMs: 10_000, pollMs: 20 });
    expect(dataLossWindow(await writerPosition(p), await replicaPosition(r))).toMatchObject({
      measuredBy: 'lsn',
      bytesBehind: 0,
    });

    await r.query('SELECT pg_wal_replay_pause()');
    try {
      await p.query("INSERT INTO orders (note) SELECT repeat('x', 1000) FROM generate_series(1, 200)");
      const writer = await writerPosition(p);
      const position = await replicaPosition(r);
      const window = dataLossWindow(writer, position);
      expect(writer.writable).toBe(true);
      expect(window.measuredBy).toBe('lsn');
      expect(window.bytesBehind).toBeGreaterThan(200_000);
      expect(window.summary).toMatch(/^the replica is \d+ bytes of WAL behind the writer/);
      expect(() => {
        checkPromotable(position, window, { ...LIMITS, maxBytesBehind: 1024 }, false);
      }).toThrow(expect.objectContaining({ name: 'ReplicaTooFarBehind' }) as Error);
      // Within the limit, or forced: promotable.
      expect(() => {
        checkPromotable(position, window, LIMITS, false);
      }).not.toThrow();
      expect(() => {
        checkPromotable(position, window, { ...LIMITS, maxBytesBehind: 0 }, true);
      }).not.toThrow();
    } finally {
      await r.query('SELECT pg_wal_replay_resume()');
    }
  });

  it('bounds the window by the last replayed commit when the writer cannot be asked', async () => {
    const [p, r] = await Promise.all([connect(primary), connect(replica)]);
    await p.query("INSERT INTO orders (note) VALUES ('last')");
    await waitForReplay(r, (await writerPosition(p)).currentLsn ?? '', { timeoutMs: 10_000, pollMs: 20 });
    const position = await replicaPosition(r);
    const window = dataLossWindow(undefined, position);
    expect(window).toMatchObject({ measuredBy: 'replay-time', bytesBehind: null });
    expect(window.secondsSinceLastReplay).toBeGreaterThanOrEqual(0);
    expect(window.summary).toContain(`commits after ${position.lastReplayedCommitAt ?? ''}`);
    expect(() => {
      checkPromotable(position, { ...window, secondsSinceLastReplay: 120 }, LIMITS, false);
    }).toThrow(expect.objectContaining({ name: 'ReplicaTooFarBehind' }) as Error);
    // A server that is not a replica cannot be promoted, forced or not.
    expect(() => {
      checkPromotable({ ...position, inRecovery: false }, window, LIMITS, true);
    }).toThrow(expect.objectContaining({ name: 'NotAReplica' }) as Error);
  });

  it('waits, bounded, for the replica to replay a fenced writer’s final position', async () => {
    const [p, r] = await Promise.all([connect(primary), connect(replica)]);
    await r.query('SELECT pg_wal_replay_pause()');
    await p.query("INSERT INTO orders (note) VALUES ('final')");
    const target = (await writerPosition(p)).currentLsn ?? '';
    await expect(waitForReplay(r, target, { timeoutMs: 200, pollMs: 20 })).rejects.toMatchObject({
      name: 'ReplayTimeout',
    });
    const resumed = setTimeout(() => void r.query('SELECT pg_wal_replay_resume()'), 100);
    try {
      const reached = await waitForReplay(r, target, { timeoutMs: 10_000, pollMs: 20 });
      expect(lsnBytes(reached.replayLsn)).toBeGreaterThanOrEqual(lsnBytes(target));
      const { rows } = await (
        await connect(replica)
      ).query<{ n: number }>("SELECT count(*)::int AS n FROM orders WHERE note = 'final'");
      expect(rows).toEqual([{ n: 1 }]);
    } finally {
      clearTimeout(resumed);
      await r.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
    }
  });
  it('assesses a failover from the topology: who answers, and what promoting the replica would lose', async () => {
    const names = topologyParameterNames('pg-dr');
    const topology = {
      generation: 3,
      writer: { region: 'us-west-2', instanceIdentifier: 'pg-dr-primary', endpoint: 'writer.internal' },
      replica: {
        region: 'us-east-1',
        instanceIdentifier: 'pg-dr-replica',
        endpoint: 'replica.internal',
        secretId: 'pg-dr/replica-only',
      },
      retired: [],
      changedBy: 'first deploy',
    };
    parameterStore({ [names.document]: JSON.stringify(topology) });
    const settings = (server: PostgresServer): ConnectionSettings => ({
      host: '127.0.0.1',
      port: server.port,
      database: 'postgres',
      user: server.user,
      password: server.password,
      ...(server.tls === undefined ? {} : { ca: server.tls.caCert }),
    });
    mockClient(SFNClient).on(ListExecutionsCommand).resolves({ executions: [] });
    const clients = {
      ssm: new SSMClient({ region: 'us-east-1' }),
      sfn: new SFNClient({ region: 'us-east-1' }),
      rdsIn: (region: string) => new RDSClient({ region }),
    };
    const resolve = (ref: { host?: string }) =>
      Promise.resolve(settings(ref.host === 'writer.internal' ? primary : replica));
    const planRequest = {
      secretId: 'pg-dr/postgres-master',
      exclusiveWith: [DRILL],
      ownExecutionArn: 'arn:aws:states:us-east-1:111122223333:execution:pg-dr-region-failover:f-1',
      request: { approved: false, force: false, planned: false },
      regions: ['us-west-2', 'us-east-1'],
    };
    const request = { database: 'postgres', limits: LIMITS, force: false, writerConnectTimeoutMs: 2000 };
    const plan = await planFailover(clients, names, planRequest);
    // Each member names the secret that opens it: its own, or the master secret.
    expect(plan).toEqual({
      generation: 3,
      writer: { ...topology.writer, secretId: 'pg-dr/postgres-master' },
      replica: topology.replica,
      adopt: null,
      summary:
        'promote pg-dr-replica in us-east-1, the replica of pg-dr-primary, to the writer; pg-dr-primary is retired',
      request: planRequest.request,
    });

    const [p, r] = await Promise.all([connect(primary), connect(replica)]);
    await p.query("INSERT INTO orders (note) VALUES ('assessed')");
    await waitForReplay(r, (await writerPosition(p)).currentLsn ?? '', { timeoutMs: 10_000, pollMs: 20 });
    await expect(measureFailover(resolve, plan, request)).resolves.toMatchObject({
      writerReachable: true,
      writerWritable: true,
      window: { measuredBy: 'lsn', bytesBehind: 0 },
    });

    // The region is lost: the writer does not answer, and the window is bounded from the replica alone.
    await primary.stop();
    const lost = await measureFailover(resolve, plan, request);
    expect(lost).toMatchObject({
      writerReachable: false,
      window: { measuredBy: 'replay-time', bytesBehind: null },
    });
    expect(lost.writerProblem).toMatch(/^writer\.internal did not answer: /);
    await expect(
      measureFailover(resolve, plan, { ...request, limits: { ...LIMITS, maxSecondsSinceLastReplay: 0 } }),
    ).rejects.toMatchObject({ name: 'ReplicaTooFarBehind' });
    await expect(
      measureFailover(resolve, plan, {
        ...request,
        limits: { ...LIMITS, maxSecondsSinceLastReplay: 0 },
        force: true,
      }),
    ).resolves.toMatchObject({ writerReachable: false });
    // Measured again once a person approved the window: its age grew while they read; only bytes bound it.
    await expect(
      measureFailover(resolve, plan, {
        ...request,
        limits: { ...LIMITS, maxSecondsSinceLastReplay: 0 },
        approved: true,
      }),
    ).resolves.toMatchObject({ writerReachable: false });
    // A switchover needs the writer.
    await expect(measureFailover(resolve, plan, { ...request, planned: true })).rejects.toMatchObject({
      name: 'WriterUnreachable',
      message: expect.stringContaining(
        'a switchover needs the writer, and pg-dr-primary does not answer',
      ) as string,
    });
  });

  it('plans a failover from the topology only while nothing else runs, and only with a replica to promote', async () => {
    const names = topologyParameterNames('pg-dr');
    const first = {
      generation: 1,
      writer: { region: 'us-west-2', instanceIdentifier: 'pg-dr-primary', endpoint: 'writer.internal' },
      replica: { region: 'us-east-1', instanceIdentifier: 'pg-dr-replica', endpoint: 'replica.internal' },
      retired: [],
      changedBy: 'first deploy',
    };
    parameterStore({ [names.document]: JSON.stringify(first) });
    const sfn = mockClient(SFNClient);
    const own = 'arn:aws:states:us-east-1:111122223333:execution:pg-dr-region-failover:f-2';
    const clients = {
      ssm: new SSMClient({ region: 'us-east-1' }),
      sfn: new SFNClient({ region: 'us-east-1' }),
      rdsIn: (region: string) => new RDSClient({ region }),
    };
    const request = {
      secretId: 'pg-dr/postgres-master',
      exclusiveWith: [DRILL],
      ownExecutionArn: own,
      request: { approved: true, force: false, planned: false },
      regions: ['us-west-2', 'us-east-1'],
    };
    // Its own execution is not "another" one.
    sfn.on(ListExecutionsCommand).resolves({ executions: [{ executionArn: own, name: 'f-2' } as never] });
    await expect(planFailover(clients, names, request)).resolves.toMatchObject({ generation: 1 });

    // A drill running: the failover must not race it.
    sfn.on(ListExecutionsCommand, { stateMachineArn: DRILL }).resolves({
      executions: [
        { executionArn: `${DRILL.replace(':stateMachine:', ':execution:')}:weekly`, name: 'weekly' } as never,
      ],
    });
    await expect(planFailover(clients, names, request)).rejects.toMatchObject({
      name: 'WorkflowRunning',
      message: expect.stringContaining('running: pg-dr-failover-drill: weekly;') as string,
    });
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });

    // No replica in the topology (DR degraded): nothing to promote.
    parameterStore({ [names.document]: JSON.stringify({ ...first, replica: null }) });
    await expect(planFailover(clients, names, request)).rejects.toMatchObject({
      name: 'NotAReplica',
      message: expect.stringContaining('names no replica of pg-dr-primary') as string,
    });
  });
});

describe('retiring a former writer', () => {
  let server: PostgresServer;
  const clients: Client[] = [];

  beforeAll(async () => {
    server = await PostgresServer.start({ name: 'retired-writer' });
    // As on RDS: a master user that is no superuser, owns the application database and may signal sessions.
    await execute(
      server,
      'postgres',
      `CREATE ROLE master LOGIN PASSWORD '${server.password}' CREATEDB CREATEROLE`,
      'GRANT pg_signal_backend TO master',
      'CREATE ROLE app LOGIN PASSWORD ' + `'${server.password}'`,
    );
    await execute(server, 'postgres', 'CREATE DATABASE shop OWNER master');
    await execute(server, 'shop', 'CREATE TABLE t (id int)', 'GRANT ALL ON t TO app');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await server.destroy();
  });

  async function connect(database: string, user: string): Promise<Client> {
    const client = new Client({ ...server.clientConfig(database), user });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  }

  it('refuses every new connection to the application databases, ends the sessions, and is idempotent', async () => {
    const application = await connect('shop', 'app');
    await application.query('INSERT INTO t VALUES (1)');
    const master = await connect('postgres', 'master');
    expect(await isRetired(master)).toBe(false);

    const retired = await retireWriter(master);
    expect(retired).toMatchObject({ databases: ['shop'], skippedSessions: 0 });
    expect(retired.terminatedSessions).toBeGreaterThanOrEqual(1);
    // The application's session is gone, and it cannot come back.
    await expect(application.query('INSERT INTO t VALUES (2)')).rejects.toThrow();
    await expect(connect('shop', 'app')).rejects.toMatchObject({ code: '55000' });
    expect(await isRetired(master)).toBe(true);

    const again = await retireWriter(await connect('postgres', 'master'));
    expect(again.databases).toEqual(['shop']);
    expect(await isRetired(await connect('postgres', 'master'))).toBe(true);
  });

  it('guards every retired writer even when one cannot be tried, then fails the run naming it', async () => {
    const member = (instanceIdentifier: string) => ({
      region: 'us-west-2',
      instanceIdentifier,
      endpoint: `${instanceIdentifier}.example.internal`,
      secretId: 'pg-dr/master',
    });
    const settings: ConnectionSettings = {
      host: '127.0.0.1',
      port: server.port,
      database: 'postgres',
      user: 'master',
      password: server.password,
      ...(server.tls === undefined ? {} : { ca: server.tls.caCert }),
    };
    await execute(server, 'postgres', 'ALTER DATABASE shop WITH ALLOW_CONNECTIONS true');
    await expect(
      guardRetiredWriters(
        [member('deleted-secret'), member('returned')],
        (m) =>
          m.instanceIdentifier === 'returned'
            ? Promise.resolve(settings)
            : Promise.reject(
                Object.assign(new Error('secret not found'), { name: 'ResourceNotFoundException' }),
              ),
        2000,
      ),
    ).rejects.toMatchObject({
      name: 'RetireIncomplete',
      message: 'deleted-secret: ResourceNotFoundException: secret not found',
    });
    // The one after it was retired all the same.
    expect(await isRetired(await connect('postgres', 'master'))).toBe(true);
  });

  it('fails, naming it, when a database it may not alter would stay open', async () => {
    // Owned by another role: the master user may not change it.
    await execute(server, 'postgres', 'CREATE DATABASE ledger');
    await expect(retireWriter(await connect('postgres', 'master'))).rejects.toMatchObject({
      name: 'RetireIncomplete',
      message: expect.stringMatching(
        /^these databases still accept connections: ledger \(must be owner of database ledger\)/,
      ) as string,
    });
    expect(await isRetired(await connect('postgres', 'master'))).toBe(false);
  });
});

describe('failover step handler', () => {
  type Handler = (event: unknown) => Promise<Record<string, unknown>>;
  let server: PostgresServer;
  const saved = { ...process.env };

  beforeAll(async () => {
    server = await PostgresServer.start({ name: 'failover-handler' });
    await execute(server, 'postgres', 'CREATE DATABASE orders');
  });
  afterAll(async () => {
    process.env = { ...saved };
    await server.destroy();
  });

  it('retires a former writer that answers, and reports one that does not (its region is gone)', async () => {
    process.env.AWS_REGION = 'us-east-1';
    process.env.DB_CA_FILE = `${server.rootDir}/tls/ca.crt`;
    const { handler, secrets, GetSecretValue } = coldStart<Handler>(
      '../../lambdas/failover/database-handler',
    );
    secrets.on(GetSecretValue, { SecretId: 'pg-dr/master' }).resolves(databaseSecret(server));
    const member = (secretId: string) => ({
      region: 'us-west-2',
      instanceIdentifier: 'pg-dr-primary',
      endpoint: 'localhost',
      secretId,
    });
    await expect(handler({ mode: 'retire', member: member('pg-dr/master') })).resolves.toMatchObject({
      reachable: true,
      databases: ['orders'],
    });

    const gone = await freeLoopbackPort();
    secrets.on(GetSecretValue, { SecretId: 'pg-dr/gone' }).resolves({
      SecretString: JSON.stringify({ ...JSON.parse(databaseSecret(server).SecretString), port: gone }),
    });
    const unreachable = await handler({
      mode: 'retire',
      member: member('pg-dr/gone'),
      connectTimeoutMs: 1000,
    });
    expect(unreachable).toMatchObject({ reachable: false });
    expect(JSON.stringify(unreachable)).not.toContain(server.password);
  });

  it('refuses bad input before any call, and a plan without its topology location', async () => {
    const control = coldStart<Handler>('../../lambdas/failover/control-handler');
    const database = coldStart<Handler>('../../lambdas/failover/database-handler');
    const promote = { mode: 'promote', instanceIdentifier: 'pg-dr-replica', region: 'us-east-1' };
    await expect(
      control.handler({ ...promote, instanceIdentifier: 'Bad_Id', backupRetentionPeriod: 7 }),
    ).rejects.toMatchObject({ name: 'InvalidInput' });
    await expect(control.handler({ ...promote, backupRetentionPeriod: 0 })).rejects.toMatchObject({
      name: 'InvalidInput',
    });
    await expect(
      database.handler({
        mode: 'retire',
        member: {
          region: 'us-west-2',
          instanceIdentifier: 'pg-dr-primary',
          endpoint: 'localhost',
          secretId: 'postgresql://u:pw@h/db',
        },
      }),
    ).rejects.toMatchObject({ name: 'InvalidInput' });
    const plan = {
      mode: 'plan',
      secretId: 'pg-dr/master',
      exclusiveWith: [],
      ownExecutionArn: 'arn:aws:states:us-east-1:111122223333:execution:pg-dr-region-failover:f-1',
    };
    // The execution's input may say only approved and force: a typo is refused, never ignored.
    await expect(control.handler({ ...plan, request: { aproved: true } })).rejects.toMatchObject({
      name: 'InvalidInput',
    });
    delete process.env.TOPOLOGY_REGION;
    await expect(control.handler(plan)).rejects.toMatchObject({
      name: 'StepMisconfigured',
      message: 'missing topology location: TOPOLOGY_REGION, RESOURCE_PREFIX',
    });
    expect(database.secrets.calls()).toHaveLength(0);
  });
});

describe('a retired writer’s settings reach its physical replica', () => {
  let primary: PostgresServer;
  let replica: PostgresServer;
  const clients: Client[] = [];

  beforeAll(async () => {
    primary = await PostgresServer.start({ name: 'retire-primary' });
    await execute(primary, 'postgres', 'CREATE DATABASE shop');
    await execute(primary, 'shop', 'CREATE TABLE t (id int)');
    replica = await PostgresServer.startStandby(primary, { name: 'retire-replica' });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await replica.destroy();
    await primary.destroy();
  });

  async function connect(server: PostgresServer, database = 'postgres'): Promise<Client> {
    const client = new Client(server.clientConfig(database));
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  }

  it('so the promoted replica is opened: its databases take connections and writes again, the old writer stays retired', async () => {
    const p = await connect(primary);
    await retireWriter(p);
    const r = await connect(replica);
    await waitForReplay(r, (await writerPosition(p)).currentLsn ?? '', { timeoutMs: 10_000, pollMs: 20 });
    // Replayed: the replica refuses the application database too.
    expect(await isRetired(r)).toBe(true);
    const settings: ConnectionSettings = {
      host: '127.0.0.1',
      port: replica.port,
      database: 'postgres',
      user: replica.user,
      password: replica.password,
      ...(replica.tls === undefined ? {} : { ca: replica.tls.caCert }),
    };
    // Still a replica: not opened, and the step says why.
    await expect(openPromoted(settings)).rejects.toMatchObject({
      name: 'NotWritable',
      message: '127.0.0.1 is still in recovery: RDS reports it promoted, PostgreSQL does not (yet)',
    });
    await r.query('SELECT pg_promote(true, 30)');
    const promoted = await connect(replica);
    await expect(openPromoted(settings)).resolves.toMatchObject({ databases: ['shop'], writable: true });
    await expect(openWriter(promoted)).resolves.toEqual({ databases: ['shop'] });
    const application = await connect(replica, 'shop');
    await application.query('INSERT INTO t VALUES (1)');
    expect(await isRetired(promoted)).toBe(false);
    await expect(connect(primary, 'shop')).rejects.toMatchObject({ code: '55000' });
  });

  it('counts only a writer it cannot reach as gone: one that fails after answering is a live writer', async () => {
    const settings: ConnectionSettings = {
      host: '127.0.0.1',
      port: primary.port,
      database: 'postgres',
      user: primary.user,
      password: primary.password,
      ...(primary.tls === undefined ? {} : { ca: primary.tls.caCert }),
    };
    const timedOut = () =>
      Promise.reject(new DatabaseError('timeout', 'canceling statement due to statement timeout'));
    await expect(retireIfReachable(settings, 2000, timedOut)).rejects.toMatchObject({ kind: 'timeout' });
    await expect(
      retireIfReachable({ ...settings, port: await freeLoopbackPort() }, 1000),
    ).resolves.toMatchObject({ reachable: false });
  });
});
