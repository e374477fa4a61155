import { Client } from 'pg';
import { PostgresServer } from './postgres';

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

  it('survives SIGKILL and restarts on the same port with committed data', async () => {
    const client = new Client(server.clientConfig());
    await client.connect();
    await client.query('CREATE TABLE survived (id int)');
    await client.query('INSERT INTO survived VALUES (42)');
    await client.end();

    await server.kill();
    expect(server.running).toBe(false);
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
});
