import { chmodSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { tempRoot } from '../../lib/local-postgres/ownership';
import { PostgresServer } from './postgres';
import { removePrivateTemp, segmentLeft } from './processes';

describe('PostgresServer (test support)', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await PostgresServer.start({ name: 'support' });
  });
  afterAll(async () => {
    await server.destroy();
  });

  it('serves verified TLS connections on loopback and refuses plaintext', async () => {
    const client = new Client(server.clientConfig());
    await client.connect();
    const { rows } = await client.query<{ ssl: boolean }>(
      'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    await client.end();
    expect(rows[0]?.ssl).toBe(true);

    const plain = new Client({ ...server.clientConfig(), ssl: false });
    await expect(plain.connect()).rejects.toThrow(/no pg_hba.conf entry|no encryption/);
  });

  it('each server has its own superuser password, though every cluster is a copy of one template', async () => {
    const other = await PostgresServer.start({ name: 'support-other', password: "it's a \\ 'quoted' pw" });
    try {
      const own = new Client(other.clientConfig());
      await own.connect();
      await own.end();
      const borrowed = new Client({ ...other.clientConfig(), password: server.password });
      await expect(borrowed.connect()).rejects.toMatchObject({ code: '28P01' });
    } finally {
      await other.destroy();
    }
  });

  it('keeps its dynamic shared memory in its own folder, so a killed server leaves none in /dev/shm', async () => {
    const client = new Client(server.clientConfig());
    await client.connect();
    const { rows } = await client.query<{ dynamic_shared_memory_type: string }>(
      'SHOW dynamic_shared_memory_type',
    );
    await client.end();
    expect(rows).toEqual([{ dynamic_shared_memory_type: 'mmap' }]);
    // The postmaster's control segment, as a file beside the data it belongs to.
    expect(readdirSync(join(server.dataDir, 'pg_dynshmem')).some((f) => f.startsWith('mmap.'))).toBe(true);
  });

  it('survives SIGKILL and restarts on the same port with committed data', async () => {
    const client = new Client(server.clientConfig());
    await client.connect();
    await client.query('CREATE TABLE survived (id int)');
    await client.query('INSERT INTO survived VALUES (42)');
    await client.end();

    const segment = server.sharedMemoryId();
    expect(segment).toMatch(/^\d+$/);
    await server.kill();
    expect(server.running).toBe(false);
    // Its System V segment is gone too: thousands left by killed servers would exhaust the kernel's ids.
    // (Removed, or marked for removal while a killed backend still detaches.)
    expect(segmentLeft(segment)).toBe(false);
    await expect(
      new Client({ ...server.clientConfig(), connectionTimeoutMillis: 2000 }).connect(),
    ).rejects.toThrow(/ECONNREFUSED/);

    await server.restart();
    const again = new Client(server.clientConfig());
    await again.connect();
    const { rows } = await again.query<{ id: number }>('SELECT id FROM survived');
    await again.end();
    expect(rows).toEqual([{ id: 42 }]);
  });

  it('removePrivateTemp kills a server left in a test’s own folder and removes its System V segment too', async () => {
    const previous = process.env.PG_DR_TEMP_ROOT;
    const folder = mkdtempSync(join(tempRoot(), 'pg-dr-private-'));
    chmodSync(folder, 0o755);
    process.env.PG_DR_TEMP_ROOT = folder;
    let left: PostgresServer | undefined;
    try {
      left = await PostgresServer.start({ name: 'left-behind' });
    } finally {
      if (previous === undefined) delete process.env.PG_DR_TEMP_ROOT;
      else process.env.PG_DR_TEMP_ROOT = previous;
    }
    const segment = left.sharedMemoryId();
    expect(segmentLeft(segment)).toBe(true);
    await removePrivateTemp(folder);
    expect(existsSync(folder)).toBe(false);
    expect(segmentLeft(segment)).toBe(false);
    await left.destroy();
  });

  it('makes a streaming standby that replays the primary over verified TLS', async () => {
    const primary = await PostgresServer.start({ name: 'dr-primary' });
    const standby = await PostgresServer.startStandby(primary);
    const writer = new Client(primary.clientConfig());
    const reader = new Client(standby.clientConfig());
    for (const client of [writer, reader]) client.on('error', () => undefined);
    try {
      await writer.connect();
      await writer.query('CREATE TABLE heartbeat (at timestamptz)');
      await writer.query('INSERT INTO heartbeat VALUES (now())');

      await reader.connect();
      let seen = 0;
      const deadline = Date.now() + 10_000;
      while (seen === 0 && Date.now() < deadline) {
        // The table itself may not have replayed yet: count rows only once it exists.
        const { rows: tables } = await reader.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_class WHERE relname = 'heartbeat'",
        );
        if ((tables[0]?.n ?? 0) > 0) {
          const { rows } = await reader.query<{ n: number }>('SELECT count(*)::int AS n FROM heartbeat');
          seen = rows[0]?.n ?? 0;
        }
        if (seen === 0) await new Promise((r) => setTimeout(r, 50));
      }
      const { rows: recovery } = await reader.query<{ in_recovery: boolean }>(
        'SELECT pg_is_in_recovery() AS in_recovery',
      );
      expect(seen).toBe(1);
      expect(recovery[0]?.in_recovery).toBe(true);
      // The row arrived, so the standby is streaming: over TLS.
      const { rows: senders } = await writer.query<{ ssl: boolean }>(
        'SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s ON s.pid = r.pid',
      );
      expect(senders).toEqual([{ ssl: true }]);
    } finally {
      await Promise.all([writer.end().catch(() => undefined), reader.end().catch(() => undefined)]);
      await standby.destroy();
      await primary.destroy();
    }
  });
});
