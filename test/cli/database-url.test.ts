import { Client } from 'pg';
import { DatabaseError } from '../../lambdas/shared/postgres-errors';
import { clientConfig, isLoopbackHost, type ConnectionSettings } from '../../lambdas/shared/database';
import { settingsFromUrl, UsageError } from '../../lib/cli/database-url';
import { runCli, type CliIo } from '../../lib/cli/program';

/**
 * What `dr migrations` accepts in a database URL, checked before any connection: a malformed URL, a bad schema
 * parameter or plain text to a remote host is a usage error (exit 2) that names the part and echoes nothing.
 */
describe('--database-url', () => {
  const connects: string[] = [];
  // Recorded and refused like an unreachable server: nothing leaves the machine.
  const connect = jest.spyOn(Client.prototype, 'connect').mockImplementation(function (this: Client): never {
    connects.push(`${this.host}:${String(this.port)}`);
    throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  });
  afterAll(() => {
    connect.mockRestore();
  });
  beforeEach(() => {
    connects.length = 0;
  });

  async function dr(url: string, extra: string[] = []) {
    let out = '';
    let err = '';
    const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), env: { DATABASE_URL: url } };
    const code = await runCli(['migrations', 'plan', '--dir', 'examples/prisma/migrations', ...extra], io);
    return { code, said: out + err };
  }

  it.each([
    ['a space in the host', 'postgresql://app:pw-Space-1@db host.example.org/app', 'not a valid'],
    ['a space in a loopback host', 'postgresql://app:pw-Space-1@127.0.0.1 /app', 'not a valid'],
    [
      'a schema parameter that is not an identifier',
      'postgresql://app:pw-Space-1@127.0.0.1/app?schema=a;b',
      'schema parameter',
    ],
    [
      'a quoted schema parameter',
      'postgresql://app:pw-Space-1@127.0.0.1/app?schema=%22Public%22',
      'schema parameter',
    ],
    [
      'an oversized schema parameter',
      `postgresql://app:pw-Space-1@127.0.0.1/app?schema=${'s'.repeat(64)}`,
      'schema parameter',
    ],
    [
      'an unknown sslmode',
      'postgresql://app:pw-Space-1@127.0.0.1/app?sslmode=sometimes',
      'sslmode parameter',
    ],
    [
      'plain text to a remote host',
      'postgresql://app:pw-Space-1@db.example.org/app?sslmode=disable',
      '--allow-plaintext',
    ],
    [
      'plain text to a remote address',
      'postgresql://app:pw-Space-1@10.0.0.5/app?sslmode=disable',
      '--allow-plaintext',
    ],
  ])('%s: exit 2 naming it, no connection, nothing echoed', async (_what, url, named) => {
    const { code, said } = await dr(url);
    expect({ code, named: said.includes(named) }).toEqual({ code: 2, named: true });
    expect(said).not.toContain('pw-Space-1');
    expect(connects).toEqual([]);
  });

  it('applies the same identifier rule to the schema parameter as to --schema', () => {
    expect(settingsFromUrl('postgresql://app:pw@127.0.0.1/app?schema=tenant_1').schema).toBe('tenant_1');
    for (const schema of ['a;b', '1abc', 'a-b', 'x'.repeat(64)]) {
      expect(() => settingsFromUrl(`postgresql://app:pw@127.0.0.1/app?schema=${schema}`)).toThrow(UsageError);
    }
  });

  it('allows plain text to a remote host only with --allow-plaintext, and warns', async () => {
    const { code, said } = await dr('postgresql://app:pw-Space-1@db.example.org:6543/app?sslmode=disable', [
      '--allow-plaintext',
    ]);
    // It goes on to connect (refused here): exit 1, after the warning.
    expect(code).toBe(1);
    expect(said).toContain('warning: --allow-plaintext');
    expect(connects).toEqual(['db.example.org:6543']);
    expect(said).not.toContain('pw-Space-1');
  });

  it('takes plain text to a loopback host without asking', async () => {
    for (const host of ['127.0.0.1', 'localhost', '[::1]']) {
      const { code, said } = await dr(`postgresql://app:pw-Space-1@${host}:1/app?sslmode=disable`);
      expect({ code, warned: said.includes('warning') }).toEqual({ code: 1, warned: false });
    }
    expect(connects).toHaveLength(3);
  });

  it('uses verified TLS for every other sslmode: prefer and allow never fall back to plain text', () => {
    for (const mode of ['allow', 'prefer', 'require', 'verify-ca', 'verify-full']) {
      const { settings } = settingsFromUrl(`postgresql://app:pw@db.example.org/app?sslmode=${mode}`);
      expect(
        clientConfig(settings, { connectTimeoutMs: 1, statementTimeoutMs: 0, applicationName: 't' }).ssl,
      ).toEqual({
        rejectUnauthorized: true,
      });
    }
  });
});

describe('plain text in any connection (the Lambda steps included)', () => {
  const remote: ConnectionSettings = {
    host: 'db.example.org',
    port: 5432,
    database: 'app',
    user: 'app',
    password: 'pw',
    tls: false,
  };
  const options = { connectTimeoutMs: 1000, statementTimeoutMs: 0, applicationName: 'test' };

  it('is refused to a host that is not loopback unless explicitly allowed', () => {
    expect(() => clientConfig(remote, options)).toThrow(DatabaseError);
    expect(() => clientConfig(remote, options)).toThrow('db.example.org');
    expect(clientConfig({ ...remote, allowPlaintext: true }, options).ssl).toBe(false);
    expect(clientConfig({ ...remote, host: '127.0.0.1' }, options).ssl).toBe(false);
  });

  it.each([
    ['localhost', true],
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['[::1]', true],
    ['/var/run/postgresql', true],
    ['128.0.0.1', false],
    ['10.0.0.1', false],
    ['localhost.example.org', false],
    ['db.example.org', false],
    ['::2', false],
  ])('%s is loopback: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});
