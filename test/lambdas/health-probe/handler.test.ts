import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProbeSummary } from '../../../lambdas/health-probe/handler';
import { coldStart as loadColdStart } from '../../support/lambda';
import { PostgresServer } from '../../support/postgres';

type Handler = (event: unknown, context: { getRemainingTimeInMillis(): number }) => Promise<ProbeSummary>;

interface EmfRecord {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; StorageResolution?: number }[];
    }[];
  };
  [key: string]: unknown;
}

const SECRET_ID = 'pg-dr/postgres-master';
const context = { getRemainingTimeInMillis: () => 55_000 };

describe('health probe handler', () => {
  let server: PostgresServer;
  let stdout: string[]; // everything written to stdout and stderr
  let spies: jest.SpyInstance[];

  beforeAll(async () => {
    server = await PostgresServer.start({ name: 'probe-handler' });
    const caFile = join(server.rootDir, 'ca.pem');
    writeFileSync(caFile, server.tls?.caCert ?? '');
    Object.assign(process.env, {
      DB_HOST: server.host,
      DB_PORT: String(server.port),
      DB_NAME: 'postgres',
      DB_SECRET_ID: SECRET_ID,
      DB_ROLE: 'primary',
      PROBE_ROUNDS: '2',
      PROBE_INTERVAL_MS: '50',
      PROBE_TIMEOUT_MS: '1000',
      DB_CA_FILE: caFile,
      AWS_REGION: 'us-west-2',
    });
  });
  afterAll(async () => {
    await server.destroy();
  });

  beforeEach(() => {
    stdout = [];
    // Both streams: EMF and info logs go to stdout, warnings to stderr; secrets must appear in neither.
    spies = [process.stdout, process.stderr].map((stream) =>
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        stdout.push(chunk.toString());
        return true;
      }),
    );
  });
  afterEach(() => {
    for (const spy of spies) spy.mockRestore();
  });

  const coldStart = () => loadColdStart<Handler>('../../lambdas/health-probe/handler');

  function secretValue(password: string) {
    return { SecretString: JSON.stringify({ username: server.user, password, engine: 'postgres' }) };
  }

  function emitted(): { value: number; error: number; record: EmfRecord }[] {
    return stdout
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as EmfRecord)
      .map((record) => ({
        value: record.DatabaseReachable as number,
        error: record.ProbeErrors as number,
        record,
      }));
  }

  it('emits DatabaseReachable=1 per round with the dimensions the alarm watches', async () => {
    const { handler, secrets, GetSecretValue } = coldStart();
    secrets.on(GetSecretValue, { SecretId: SECRET_ID }).resolves(secretValue(server.password));
    const summary = await handler({}, context);

    expect(summary).toEqual({ database: 'primary', rounds: 2, reachable: 2, errors: 0, failures: [] });
    const metrics = emitted();
    expect(metrics.map((m) => m.value)).toEqual([1, 1]);
    expect(metrics.map((m) => m.error)).toEqual([0, 0]);
    const directive = metrics[0]?.record._aws.CloudWatchMetrics[0];
    expect(directive?.Namespace).toBe('PostgresDR');
    expect(directive?.Dimensions).toEqual([['service', 'Database']]);
    expect(metrics[0]?.record.service).toBe('dr-health-probe');
    expect(metrics[0]?.record.Database).toBe('primary');
    // Route 53 can only use alarms on standard-resolution metrics.
    expect(directive?.Metrics.find((m) => m.Name === 'DatabaseReachable')?.StorageResolution ?? 60).toBe(60);
  });

  it('emits DatabaseReachable=0 with the reason while the database is down', async () => {
    const { handler, secrets, GetSecretValue } = coldStart();
    secrets.on(GetSecretValue).resolves(secretValue(server.password));
    await server.kill();
    try {
      const summary = await handler({}, context);
      expect(summary.reachable).toBe(0);
      expect(summary.failures.map((f) => f.kind)).toEqual(['unreachable', 'unreachable']);
      expect(emitted().map((m) => m.value)).toEqual([0, 0]);
    } finally {
      await server.restart();
    }
  });

  it('refetches the secret once after an auth failure, so a rotated password does not page anyone', async () => {
    const { handler, secrets, GetSecretValue } = coldStart();
    secrets
      .on(GetSecretValue)
      .resolvesOnce(secretValue('stale-password-before-rotation'))
      .resolves(secretValue(server.password));
    const summary = await handler({}, context);

    expect(summary.reachable).toBe(2);
    expect(secrets.commandCalls(GetSecretValue)).toHaveLength(2);
    expect(stdout.join('')).not.toContain('stale-password-before-rotation');
  });

  it('counts a database that refuses the password as up (a probe error, not a failover), without logging it', async () => {
    const { handler, secrets, GetSecretValue } = coldStart();
    secrets.on(GetSecretValue).resolves(secretValue('definitely-wrong-pw'));
    const summary = await handler({}, context);

    expect(summary.failures.map((f) => f.kind)).toEqual(['auth_failed', 'auth_failed']);
    // The server answered: DatabaseReachable stays 1 (the failover alarm watches it); ProbeErrors pages instead.
    expect(emitted().map((m) => m.value)).toEqual([1, 1]);
    expect(emitted().map((m) => m.error)).toEqual([1, 1]);
    expect(summary).toMatchObject({ reachable: 2, errors: 2 });
    expect(stdout.join('')).not.toContain('definitely-wrong-pw');
    expect(JSON.stringify(summary)).not.toContain('definitely-wrong-pw');
  });

  it('gives up on a stalled server within the probe timeout', async () => {
    const { handler, secrets, GetSecretValue } = coldStart();
    secrets.on(GetSecretValue).resolves(secretValue(server.password));
    server.freeze();
    try {
      const summary = await handler({}, context);
      expect(summary.failures.map((f) => f.kind)).toEqual(['timeout', 'timeout']);
    } finally {
      server.thaw();
    }
  });

  it.each([
    [
      'Secrets Manager is unavailable',
      () => Object.assign(new Error('Service unavailable'), { name: 'InternalServiceError' }),
    ],
    [
      'the secret is throttled',
      () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
    ],
  ])('still asks the database when %s: up is up (a probe error, not a failover)', async (_what, failure) => {
    const { handler, secrets, GetSecretValue } = coldStart();
    secrets.on(GetSecretValue).rejects(failure());
    const summary = await handler({}, context);
    expect(summary).toMatchObject({ reachable: 2, errors: 2 });
    expect(summary.secretProblem).toContain(`secret ${SECRET_ID} could not be read`);
    expect(emitted().map((m) => [m.value, m.error])).toEqual([
      [1, 1],
      [1, 1],
    ]);
  });

  it('a malformed secret is a probe error too; a database that is down is still down without the secret', async () => {
    const { handler, secrets, GetSecretValue } = coldStart();
    secrets.on(GetSecretValue).resolves({ SecretString: JSON.stringify({ username: 'x' }) });
    const summary = await handler({}, context);
    expect(summary.secretProblem).toContain('has no username/password fields');
    expect(emitted().map((m) => m.value)).toEqual([1, 1]);

    const again = coldStart();
    again.secrets
      .on(again.GetSecretValue)
      .rejects(Object.assign(new Error('down'), { name: 'InternalServiceError' }));
    await server.kill();
    try {
      stdout.length = 0;
      const down = await again.handler({}, context);
      expect(down).toMatchObject({ reachable: 0, errors: 0 });
      expect(emitted().map((m) => m.value)).toEqual([0, 0]);
    } finally {
      await server.restart();
    }
  });

  it('names the missing environment variables when misconfigured', async () => {
    const saved = process.env.DB_ROLE;
    process.env.DB_ROLE = 'leader';
    try {
      await expect(coldStart().handler({}, context)).rejects.toThrow(
        /invalid or missing environment variable\(s\) DB_ROLE/,
      );
    } finally {
      process.env.DB_ROLE = saved;
    }
  });
});
