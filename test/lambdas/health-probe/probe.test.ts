import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  databaseAnswered,
  probeDatabase,
  runProbeRounds,
  type ProbeResult,
  type ProbeTarget,
} from '../../../lambdas/health-probe/probe';
import { freeLoopbackPort, PostgresServer } from '../../support/postgres';

describe('probeDatabase against a real PostgreSQL server', () => {
  let server: PostgresServer;
  let target: ProbeTarget;

  beforeAll(async () => {
    server = await PostgresServer.start({ name: 'probe' });
    target = {
      host: server.host,
      port: server.port,
      database: 'postgres',
      user: server.user,
      password: server.password,
      ca: server.tls?.caCert,
    };
  });
  afterAll(async () => {
    await server.destroy();
  });

  it('reports a reachable primary with its latency over verified TLS', async () => {
    const result = await probeDatabase(target, { timeoutMs: 3000 });
    expect(result).toEqual({ reachable: true, latencyMs: expect.any(Number) as number, inRecovery: false });
  });

  it('reports unreachable when nothing listens on the port', async () => {
    const result = await probeDatabase({ ...target, port: await freeLoopbackPort() }, { timeoutMs: 3000 });
    expect(result.reachable).toBe(false);
    expect(result.failure?.kind).toBe('unreachable');
  });

  it('reports unreachable while the server is killed, and reachable again after restart', async () => {
    await server.kill();
    const down = await probeDatabase(target, { timeoutMs: 3000 });
    expect(down.failure?.kind).toBe('unreachable');

    await server.restart();
    const up = await probeDatabase(target, { timeoutMs: 3000 });
    expect(up.reachable).toBe(true);
  });

  it('classifies a wrong password as auth_failed without echoing the password', async () => {
    const result = await probeDatabase({ ...target, password: 'wrong-Secret-123' }, { timeoutMs: 3000 });
    expect(result.failure?.kind).toBe('auth_failed');
    expect(result.failure?.message).not.toContain('wrong-Secret-123');
  });

  it('gives up on a statement that stalls past the timeout, within the deadline', async () => {
    const result = await probeDatabase(target, { timeoutMs: 500, query: 'SELECT pg_sleep(10)' });
    expect(result.failure).toMatchObject({ kind: 'timeout' });
  });

  it('gives up on a frozen server that accepts TCP but never answers', async () => {
    server.freeze();
    try {
      const result = await probeDatabase(target, { timeoutMs: 500 });
      expect(result.failure).toMatchObject({ kind: 'timeout' });
    } finally {
      server.thaw();
    }
  });

  it('counts a connection reset during the TLS handshake as no answer (not a TLS refusal, which would count as up)', async () => {
    // Accepts the SSLRequest, then drops the connection: Node reports ECONNRESET "Client network socket
    // disconnected before secure TLS connection was established".
    const resetter = createServer((socket) => {
      socket.once('data', () => {
        socket.write('S', () => socket.destroy());
      });
    });
    await new Promise<void>((resolve) => resetter.listen(0, '127.0.0.1', resolve));
    try {
      const result = await probeDatabase(
        { ...target, host: '127.0.0.1', port: (resetter.address() as AddressInfo).port },
        { timeoutMs: 3000 },
      );
      expect(result.failure?.kind).toBe('unreachable');
      expect(databaseAnswered(result)).toBe(false);
    } finally {
      await new Promise((resolve) => resetter.close(resolve));
    }
  });

  it('refuses a server certificate it cannot verify', async () => {
    const withoutCa: ProbeTarget = { ...target, ca: undefined };
    const result = await probeDatabase(withoutCa, { timeoutMs: 3000 });
    expect(result.failure?.kind).toBe('tls_failed');
    // Something answered, with a certificate: up, as far as failover goes (a probe error pages instead).
    expect(databaseAnswered(result)).toBe(true);
  });

  it('refuses a server that does not offer TLS at all', async () => {
    const plain = await PostgresServer.start({ name: 'plain', tls: false });
    try {
      const result = await probeDatabase(
        { ...target, port: plain.port, password: plain.password },
        { timeoutMs: 3000 },
      );
      expect(result.failure?.kind).toBe('tls_failed');
    } finally {
      await plain.destroy();
    }
  });
});

describe('runProbeRounds', () => {
  const ok: ProbeResult = { reachable: true, latencyMs: 1 };

  it('runs every round when there is time, spaced by the interval', async () => {
    const waits: number[] = [];
    const seen: number[] = [];
    const results = await runProbeRounds({
      rounds: 3,
      intervalMs: 1000,
      remainingMs: () => 60_000,
      roundBudgetMs: 4000,
      probe: () => Promise.resolve(ok),
      onResult: (_r, round) => seen.push(round),
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });
    expect(results).toHaveLength(3);
    expect(seen).toEqual([0, 1, 2]);
    expect(waits).toHaveLength(2);
    for (const wait of waits) expect(wait).toBeGreaterThan(0);
  });

  it('stops before a round that could not finish inside the invocation', async () => {
    let remaining = 10_000;
    const results = await runProbeRounds({
      rounds: 6,
      intervalMs: 3000,
      remainingMs: () => remaining,
      roundBudgetMs: 4000,
      probe: () => Promise.resolve(ok),
      onResult: () => undefined,
      sleep: (ms) => {
        remaining -= ms;
        return Promise.resolve();
      },
    });
    // Round 0 starts with 10 s left, round 1 with 7 s; round 2 would start with 1 s left: skipped.
    expect(results).toHaveLength(2);
  });
});
