import { checkConnectivity } from '../../lambdas/connectivity-check/check';
import type { ConnectivityResult } from '../../lambdas/connectivity-check/handler';
import type { ConnectionSettings } from '../../lambdas/shared/database';
import { DatabaseError } from '../../lambdas/shared/postgres-errors';
import { coldStart, databaseSecret } from '../support/lambda';
import { freeLoopbackPort, PostgresServer } from '../support/postgres';
import { eventually, execute, subscribeGreenToBlue } from '../support/replication';

type Handler = (event: unknown) => Promise<ConnectivityResult>;

function settingsOf(server: PostgresServer, database = 'postgres'): ConnectionSettings {
  return {
    host: server.host,
    port: server.port,
    database,
    user: server.user,
    password: server.password,
    ...(server.tls === undefined ? {} : { ca: server.tls.caCert }),
  };
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as DatabaseError,
  );

describe('connectivity check against real PostgreSQL', () => {
  let blue: PostgresServer;
  let green: PostgresServer;
  let standby: PostgresServer;

  beforeAll(async () => {
    [blue, green] = await Promise.all([
      PostgresServer.start({ name: 'blue', settings: { wal_level: 'logical' } }),
      PostgresServer.start({ name: 'green', password: 'green-Secret-42' }),
    ]);
    standby = await PostgresServer.startStandby(blue, { name: 'blue-standby' });
    await execute(blue, 'postgres', 'CREATE TABLE item (id int PRIMARY KEY)');
    await execute(green, 'postgres', 'CREATE TABLE item (id int PRIMARY KEY)');
    await subscribeGreenToBlue(blue, green, 'postgres');
  });
  afterAll(async () => {
    await Promise.all([standby.destroy(), green.destroy()]);
    await blue.destroy();
  });

  it('describes a writable primary: version, role, standbys and publications', async () => {
    await eventually(
      async () =>
        (await checkConnectivity(settingsOf(blue), { timeoutMs: 3000, expect: 'any', label: 'blue' }))
          .replication.streamingStandbys === 1,
    );
    const report = await checkConnectivity(settingsOf(blue), {
      timeoutMs: 3000,
      expect: 'writable',
      label: 'blue',
    });
    expect(report).toMatchObject({
      role: 'primary',
      readOnly: false,
      serverVersion: expect.stringMatching(/^\d+\.\d+/) as unknown,
      replication: {
        streamingStandbys: 1,
        walReceiver: null,
        replayLagSeconds: null,
        publications: ['dr_blue_green'],
        subscriptions: [],
      },
    });
    expect(report.serverVersionNum).toBeGreaterThanOrEqual(130000);
    expect(report.connectMs).toBeGreaterThanOrEqual(0);
  });

  it('describes a logical subscriber with its subscription progress', async () => {
    await eventually(async () => {
      const r = await checkConnectivity(settingsOf(green), {
        timeoutMs: 3000,
        expect: 'any',
        label: 'green',
      });
      return r.replication.subscriptions[0]?.latestEndLsn != null;
    });
    const report = await checkConnectivity(settingsOf(green), {
      timeoutMs: 3000,
      expect: 'writable',
      label: 'green',
    });
    expect(report.role).toBe('primary');
    expect(report.replication.subscriptions).toEqual([
      {
        name: 'dr_blue_green',
        receivedLsn: expect.any(String) as unknown,
        latestEndLsn: expect.any(String) as unknown,
        lastMessageAt: expect.any(String) as unknown,
      },
    ]);
  });

  it('describes a streaming standby, and refuses it where writes are expected', async () => {
    const report = await checkConnectivity(settingsOf(standby), {
      timeoutMs: 3000,
      expect: 'any',
      label: 'replica',
    });
    expect(report).toMatchObject({
      role: 'replica',
      readOnly: true,
      replication: { walReceiver: 'streaming' },
    });

    const error = await failureOf(
      checkConnectivity(settingsOf(standby), { timeoutMs: 3000, expect: 'writable', label: 'green' }),
    );
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({
      kind: 'read_only',
      message: 'green is read-only (in recovery: a replica) but must accept writes',
    });
  });

  it('refuses a database whose sessions default to read-only', async () => {
    await execute(
      green,
      'postgres',
      'CREATE DATABASE frozen',
      'ALTER DATABASE frozen SET default_transaction_read_only = on',
    );
    const error = await failureOf(
      checkConnectivity(settingsOf(green, 'frozen'), { timeoutMs: 3000, expect: 'writable', label: 'green' }),
    );
    expect(error.kind).toBe('read_only');
  });

  it.each([
    ['unreachable', async () => ({ ...settingsOf(green), port: await freeLoopbackPort() })],
    ['auth_failed', () => Promise.resolve({ ...settingsOf(green), password: 'not-the-Password-1' })],
    ['tls_failed', () => Promise.resolve({ ...settingsOf(green), ca: blue.tls?.serverCert ?? '' })],
  ] as const)('classifies %s without leaking the password', async (kind, settings) => {
    const s = await settings();
    const error = await failureOf(checkConnectivity(s, { timeoutMs: 3000, expect: 'any', label: 'green' }));
    expect(error.kind).toBe(kind);
    expect(error.message).not.toContain(s.password);
  });

  it('times out on a server that stopped answering', async () => {
    green.freeze();
    try {
      const error = await failureOf(
        checkConnectivity(settingsOf(green), { timeoutMs: 500, expect: 'any', label: 'green' }),
      );
      expect(error.kind).toBe('timeout');
    } finally {
      green.thaw();
    }
  });

  describe('replication readiness of blue (what logical replication refuses or does not carry)', () => {
    /** Prisma before 6: an implicit many-to-many table has only a unique index, no primary key. */
    const PRISMA_5_SCHEMA = [
      'CREATE TABLE "Post" (id serial PRIMARY KEY, title text NOT NULL)',
      'CREATE TABLE "Tag" (id serial PRIMARY KEY, name text NOT NULL)',
      'CREATE TABLE "_PostToTag" ("A" integer NOT NULL REFERENCES "Post"(id), "B" integer NOT NULL REFERENCES "Tag"(id))',
      'CREATE UNIQUE INDEX "_PostToTag_AB_unique" ON "_PostToTag"("A", "B")',
      'CREATE INDEX "_PostToTag_B_index" ON "_PostToTag"("B")',
      `INSERT INTO "Post" (title) VALUES ('p')`,
      `INSERT INTO "Tag" (name) VALUES ('t1'), ('t2')`,
      'INSERT INTO "_PostToTag" VALUES (1, 1)',
    ];
    const readiness = async (database: string) => {
      const report = await checkConnectivity(settingsOf(blue, database), {
        timeoutMs: 3000,
        expect: 'writable',
        label: 'blue',
        replicationReadiness: true,
      });
      if (report.replicationReadiness === undefined) throw new Error('no readiness report');
      return report.replicationReadiness;
    };

    it("refuses Prisma's implicit many-to-many table before it is published, naming its unique index as the fix", async () => {
      await execute(blue, 'postgres', 'CREATE DATABASE ready_prisma');
      await execute(blue, 'ready_prisma', ...PRISMA_5_SCHEMA);
      const before = await readiness('ready_prisma');
      expect(before.publications).toEqual([]);
      expect(before.problems).toEqual([
        {
          subject: 'public."_PostToTag"',
          problem:
            'has neither a primary key nor a replica identity: published with updates or deletes, every UPDATE and DELETE on it fails on blue',
          fix: expect.stringContaining(
            'ALTER TABLE public."_PostToTag" REPLICA IDENTITY USING INDEX "_PostToTag_AB_unique"',
          ) as unknown,
        },
      ]);
      expect(before.problems[0]?.fix).toContain('REPLICA IDENTITY FULL (every UPDATE and DELETE then writes');

      // What it prevents: published as the preparation step does, blue's own writes on the table fail.
      await execute(blue, 'ready_prisma', 'CREATE PUBLICATION ready FOR TABLE "Post", "Tag", "_PostToTag"');
      await expect(
        execute(blue, 'ready_prisma', 'UPDATE "_PostToTag" SET "B" = 2 WHERE "A" = 1'),
      ).rejects.toThrow(/does not have a replica identity and publishes updates/);

      // The handler refuses it once blue publishes, naming the table and the fix.
      process.env.AWS_REGION = 'us-east-1';
      process.env.DB_CA_FILE = `${blue.rootDir}/tls/ca.crt`;
      const { handler, secrets, GetSecretValue } = coldStart<Handler>(
        '../../lambdas/connectivity-check/handler',
      );
      secrets.on(GetSecretValue, { SecretId: 'blue-db' }).resolves(databaseSecret(blue, 'ready_prisma'));
      const refused = (await handler({
        label: 'blue',
        database: { secretId: 'blue-db' },
        expect: 'writable',
        replicationReadiness: true,
      }).catch((e: unknown) => e)) as Error;
      expect(refused.name).toBe('ReplicationNotReady');
      expect(refused.message).toContain(
        'public."_PostToTag" has neither a primary key nor a replica identity',
      );
      expect(refused.message).toContain('REPLICA IDENTITY USING INDEX "_PostToTag_AB_unique"');
      expect(refused.message).not.toContain(blue.password);

      // The named fix works: the check passes and blue's update goes through.
      await execute(
        blue,
        'ready_prisma',
        'ALTER TABLE "_PostToTag" REPLICA IDENTITY USING INDEX "_PostToTag_AB_unique"',
      );
      expect((await readiness('ready_prisma')).problems).toEqual([]);
      await execute(blue, 'ready_prisma', 'UPDATE "_PostToTag" SET "B" = 2 WHERE "A" = 1');
      await expect(
        handler({ label: 'blue', database: { secretId: 'blue-db' }, replicationReadiness: true }),
      ).resolves.toMatchObject({ replicationReadiness: { problems: [] } });
    });

    it('names everything else logical replication does not carry: unlogged tables, tables left out, operations not published, a dropped identity index, large objects', async () => {
      await execute(blue, 'postgres', 'CREATE DATABASE ready_more');
      await execute(
        blue,
        'ready_more',
        'CREATE TABLE ledger (id bigserial PRIMARY KEY, note text)',
        'CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY)',
        'CREATE TABLE forgotten (id int PRIMARY KEY)',
        'CREATE TABLE keyed (code text NOT NULL, note text)',
        'CREATE UNIQUE INDEX keyed_code ON keyed (code)',
        'ALTER TABLE keyed REPLICA IDENTITY USING INDEX keyed_code',
        'DROP INDEX keyed_code',
        'CREATE TABLE loose (a int, b int)',
        'CREATE TABLE events (id int NOT NULL, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)',
        "CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
        "SELECT lo_from_bytea(0, 'blob')",
        "CREATE PUBLICATION partial FOR TABLE ledger, keyed, loose, events WITH (publish = 'insert, delete')",
      );
      const report = await readiness('ready_more');
      expect(report.publications).toEqual(['partial']);
      expect(report.problems.map((p) => `${p.subject}: ${p.problem}`)).toEqual([
        'publication partial: does not publish update: green would silently miss those changes',
        "public.forgotten: is in blue's schema but in no publication (partial): its rows never reach green",
        'public.keyed: has REPLICA IDENTITY USING INDEX, but that index was dropped (it now behaves as NOTHING): published with updates or deletes, every UPDATE and DELETE on it fails on blue',
        'public.loose: has neither a primary key nor a replica identity: published with updates or deletes, every UPDATE and DELETE on it fails on blue',
        'public.scratch: is UNLOGGED: logical replication never carries its rows',
        'large objects: blue holds 1 large object(s) (pg_largeobject): logical replication never carries them',
      ]);
      expect(report.problems.find((p) => p.subject === 'public.loose')?.fix).toMatch(
        /^add a primary key, or ALTER TABLE public\.loose REPLICA IDENTITY FULL/,
      );
      expect(report.warnings.map((w) => w.subject)).toEqual(['public.events']);
    });

    it('refuses a partitioned table whose partitions have no identity, a column list and a row filter, all of which the old check passed', async () => {
      await execute(blue, 'postgres', 'CREATE DATABASE ready_partial');
      await execute(
        blue,
        'ready_partial',
        'CREATE TABLE parted (id int NOT NULL, v int) PARTITION BY RANGE (id)',
        'CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (1000)',
        'CREATE TABLE cl (id int PRIMARY KEY, secret text, pub text)',
        'CREATE TABLE rf (id int PRIMARY KEY, v int)',
        'CREATE PUBLICATION dr_partial FOR TABLE parted, cl (id, pub), rf WHERE (v > 3)',
      );
      // What each breaks, on this server (PostgreSQL 15 or later for column lists and row filters).
      await expect(execute(blue, 'ready_partial', 'UPDATE parted SET v = 1')).rejects.toThrow(
        /does not have a replica identity/,
      );

      const report = await readiness('ready_partial');

      expect(report.problems.map((p) => `${p.subject}: ${p.problem}`)).toEqual([
        'public.parted: is partitioned and its partition public.parted_1 has neither a primary key nor a replica identity: published with updates or deletes, every UPDATE and DELETE on it fails on blue',
        'public.cl: is published by dr_partial with a column list (green never gets the other columns)',
        'public.rf: is published by dr_partial with a row filter (green never gets the other rows, and UPDATE or DELETE on blue fails when the filter uses a column outside the replica identity)',
      ]);
      expect(report.problems.find((p) => p.subject === 'public.cl')?.fix).toContain(
        'ALTER PUBLICATION dr_partial DROP TABLE public.cl',
      );
    });
  });

  describe('handler', () => {
    beforeAll(() => {
      process.env.AWS_REGION = 'us-east-1';
      process.env.DB_CA_FILE = `${blue.rootDir}/tls/ca.crt`;
    });

    it('resolves the secret reference and reports the database under its label', async () => {
      const { handler, secrets, GetSecretValue } = coldStart<Handler>(
        '../../lambdas/connectivity-check/handler',
      );
      secrets.on(GetSecretValue, { SecretId: 'green-db' }).resolves(databaseSecret(green));
      const result = await handler({
        label: 'green',
        database: { secretId: 'green-db' },
        expect: 'writable',
      });
      expect(result).toMatchObject({ label: 'green', role: 'primary', readOnly: false });
      expect(JSON.stringify(result)).not.toContain(green.password);
    });

    it('fails with a routable error type and a redacted cause', async () => {
      const { handler, secrets, GetSecretValue } = coldStart<Handler>(
        '../../lambdas/connectivity-check/handler',
      );
      secrets.on(GetSecretValue).resolves(databaseSecret(green, 'postgres', 'stale-Password-9'));
      const error = (await handler({ label: 'green', database: { secretId: 'green-db' } }).catch(
        (e: unknown) => e,
      )) as Error;
      expect(error.name).toBe('DatabaseAuthFailed');
      expect(error.message).not.toContain('stale-Password-9');
    });

    it('rejects a connection string where a secret reference belongs, without echoing it', async () => {
      const { handler, secrets } = coldStart<Handler>('../../lambdas/connectivity-check/handler');
      const error = (await handler({
        label: 'green',
        database: { secretId: 'postgresql://u:Pw-in-url@h/db' },
      }).catch((e: unknown) => e)) as Error;
      expect(error.name).toBe('InvalidInput');
      expect(error.message).toBe(
        'invalid input: database.secretId must be a Secrets Manager secret ARN or name, never a connection string or password',
      );
      expect(secrets.calls()).toHaveLength(0);
    });

    it.each([
      [{}, 'invalid input: label is required; database is required'],
      [
        { label: 'purple', database: { secretId: 's' } },
        'invalid input: label must be one of blue, green, primary, replica',
      ],
      [
        { label: 'blue', database: { secretId: 's', password: 'x' } },
        'database has unknown field(s) password',
      ],
      [{ label: 'blue', database: { secretId: 's' }, timeoutMs: 10 }, 'timeoutMs'],
    ])('rejects malformed input %j naming the field', async (event, message) => {
      const { handler } = coldStart<Handler>('../../lambdas/connectivity-check/handler');
      const error = (await handler(event).catch((e: unknown) => e)) as Error;
      expect(error.name).toBe('InvalidInput');
      expect(error.message).toContain(message);
    });
  });
});
