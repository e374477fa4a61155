import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import { probeDatabaseReplication } from '../../lambdas/drill/heartbeat';
import { probeS3Replication } from '../../lambdas/drill/s3-replication';
import { fakeClock } from '../support/fake-clock';
import { PostgresServer } from '../support/postgres';

describe('database replication probe against a real streaming replica', () => {
  let primary: PostgresServer;
  let replica: PostgresServer;
  const clients: Client[] = [];

  beforeAll(async () => {
    primary = await PostgresServer.start({ name: 'drill-primary' });
    replica = await PostgresServer.startStandby(primary, { name: 'drill-replica' });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await replica.destroy();
    await primary.destroy();
  });

  async function connect(server: PostgresServer): Promise<Client> {
    const client = new Client(server.clientConfig());
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  }

  it('times a heartbeat from the primary to the replica, the first time too (table not yet replayed)', async () => {
    const [p, r] = await Promise.all([connect(primary), connect(replica)]);
    const first = await probeDatabaseReplication(p, r, { timeoutMs: 10_000, pollMs: 10 });
    const second = await probeDatabaseReplication(p, r, { timeoutMs: 10_000, pollMs: 10 });
    for (const probe of [first, second]) expect(probe.replicatedAfterMs).toEqual(expect.any(Number));
    expect(first.token).not.toBe(second.token);
  });

  it('gives up, bounded, when the replica stops replaying', async () => {
    const [p, r] = await Promise.all([connect(primary), connect(replica)]);
    await r.query('SELECT pg_wal_replay_pause()');
    try {
      await expect(probeDatabaseReplication(p, r, { timeoutMs: 300, pollMs: 20 })).rejects.toMatchObject({
        name: 'HeartbeatNotReplicated',
      });
    } finally {
      await r.query('SELECT pg_wal_replay_resume()');
    }
  });
});

describe('S3 replication probe', () => {
  const clients = {
    source: new S3Client({ region: 'us-west-2' }),
    replica: new S3Client({ region: 'us-east-1' }),
  };
  const source = mockClient(clients.source);
  const replica = mockClient(clients.replica);
  const buckets = {
    source: 'pg-dr-backups-111122223333-us-west-2',
    replica: 'pg-dr-backups-111122223333-us-east-1',
  };

  // What @aws-sdk/client-s3 raises for a HEAD answered 404.
  const notFound = () =>
    Object.assign(new Error('UnknownError'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });

  beforeEach(() => {
    source.reset();
    replica.reset();
    source.on(PutObjectCommand).resolves({});
  });

  it('puts a probe object and times its arrival in the replica bucket', async () => {
    replica.on(HeadObjectCommand).rejectsOnce(notFound()).rejectsOnce(notFound()).resolves({});
    const result = await probeS3Replication(
      clients,
      buckets,
      { timeoutMs: 60_000, pollMs: 2000 },
      fakeClock(Date.parse('2026-11-29T02:00:00Z')),
    );
    expect(result.replicatedAfterMs).toBe(4000);
    const put = source.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put?.Bucket).toBe(buckets.source);
    expect(put?.Key).toMatch(/^dr-drill\/probe-2026-11-29T02:00:00.000Z-[0-9a-f-]{36}$/);
    expect(
      replica
        .commandCalls(HeadObjectCommand)
        .every((c) => c.args[0].input.Bucket === buckets.replica && c.args[0].input.Key === put?.Key),
    ).toBe(true);
  });

  it('reports a probe object that never arrives, bounded', async () => {
    replica.on(HeadObjectCommand).rejects(notFound());
    await expect(
      probeS3Replication(
        clients,
        buckets,
        { timeoutMs: 10_000, pollMs: 2000 },
        fakeClock(Date.parse('2026-11-29T02:00:00Z')),
      ),
    ).rejects.toMatchObject({
      name: 'S3ObjectNotReplicated',
      message: expect.stringContaining(
        'had not reached pg-dr-backups-111122223333-us-east-1 after 10 s',
      ) as unknown,
    });
  });

  it('does not mistake an access error for a missing object, and says what the role needs', async () => {
    // What @aws-sdk/client-s3 raises for a HEAD answered 403: no body, so no code, only the status.
    replica
      .on(HeadObjectCommand)
      .rejects(
        Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: { httpStatusCode: 403 } }),
      );
    await expect(
      probeS3Replication(
        clients,
        buckets,
        { timeoutMs: 10_000, pollMs: 2000 },
        fakeClock(Date.parse('2026-11-29T02:00:00Z')),
      ),
    ).rejects.toMatchObject({
      name: 'S3ProbeRefused',
      message: expect.stringContaining('s3:ListBucket on the bucket') as unknown,
    });
  });
});
