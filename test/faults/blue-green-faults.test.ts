import { Client } from 'pg';
import { markMigrationRolledBack } from '../../lambdas/migrations/engine';
import { BLUE_ENDPOINT, GREEN_ENDPOINT, useBlueGreenHarness } from '../support/blue-green-harness';
import type { PostgresServer } from '../support/postgres';
import { execute } from '../support/replication';

/**
 * Faults injected into whole blue-green runs (the real ASL, the real step handlers, real PostgreSQL), each
 * checked by its end state: which database the record names, every acknowledged write still there, the
 * migrations table consistent, what on-call was told, and whether a rerun then succeeds.
 */
describe('blue-green migration under injected faults', () => {
  const h = useBlueGreenHarness();
  const { scenario } = h;
  type Scenario = Awaited<ReturnType<typeof h.scenario>>;
  const PENDING = '20240201000000_index_orders_created_at';

  /** How often Step Functions retried a state. */
  const retries = (execution: { history: readonly unknown[] }, state: string) =>
    execution.history.filter((event) => {
      const e = event as { type?: string; state?: { name?: string } };
      return e.type === 'StateRetried' && e.state?.name === state;
    }).length;

  /** A step started in the background: its failure is the workflow's to see, not an unhandled rejection. */
  function running<T>(step: Promise<T>): Promise<T> {
    step.catch(() => undefined);
    return step;
  }

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** Polls `ready` every 25 ms until it holds; fails after `limitMs`. */
  async function until(what: string, ready: () => Promise<boolean>, limitMs = 20_000): Promise<void> {
    const deadline = Date.now() + limitMs;
    while (Date.now() < deadline) {
      if (await ready().catch(() => false)) return;
      await sleep(25);
    }
    throw new Error(`timed out waiting until ${what}`);
  }

  async function connect(server: PostgresServer, database: string): Promise<Client> {
    const client = new Client({ ...server.clientConfig(database), connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  /** True once the cutover's fence (a database default of read-only) is set on blue. */
  const blueFenced = (s: Scenario) => async () =>
    (
      await s.query<{ n: number }>(
        h.blue,
        `SELECT count(*)::int AS n FROM pg_db_role_setting r JOIN pg_database d ON d.oid = r.setdatabase
          WHERE d.datname = current_database() AND 'default_transaction_read_only=on' = ANY (r.setconfig)`,
      )
    )[0]?.n === 1;

  /** Holds the barrier table on green, so green cannot apply blue's barrier: the fence stays up. */
  async function stallGreenApply(s: Scenario): Promise<Client> {
    const stall = await connect(h.green, s.database);
    await stall.query('BEGIN');
    await stall.query('LOCK TABLE dr_cutover_barrier IN ACCESS EXCLUSIVE MODE');
    return stall;
  }

  /**
   * A FenceBlueAndCatchUp that holds green's apply (so blue stays fenced), runs the real step, and injects
   * `fault` once blue is fenced; what `fault` returns or throws is the step's outcome.
   */
  function faultWhileFenced(s: Scenario, fault: (step: Promise<unknown>) => Promise<unknown>) {
    return async (input: never) => {
      const stall = await stallGreenApply(s);
      const step = running(s.steps.cutover(input));
      try {
        await until('blue is fenced', blueFenced(s));
        return await fault(step);
      } finally {
        await stall.end().catch(() => undefined);
      }
    };
  }

  /**
   * The application: writes a row every 15 ms to whichever database the record names, remembering each
   * write the database acknowledged; a refused or failed write is not acknowledged and is not retried.
   */
  function startWriter(s: Scenario) {
    const acknowledged: string[] = [];
    const control = { stopped: false };
    const loop = (async () => {
      let client: { server: PostgresServer; client: Client } | undefined;
      const deadline = Date.now() + 150_000;
      for (let i = 0; i < 10_000 && !control.stopped && Date.now() < deadline; i++) {
        const server = s.dns.value === GREEN_ENDPOINT ? h.green : h.blue;
        const email = `writer-${i}@example.org`;
        try {
          if (client?.server !== server) {
            await client?.client.end().catch(() => undefined);
            client = { server, client: await connect(server, s.database) };
          }
          await client.client.query('INSERT INTO account (email) VALUES ($1)', [email]);
          acknowledged.push(email);
        } catch {
          await client?.client.end().catch(() => undefined);
          client = undefined;
        }
        await sleep(15);
      }
      await client?.client.end().catch(() => undefined);
    })();
    return {
      acknowledged,
      /** Waits until `more` further writes are acknowledged: the serving database takes writes. */
      takesWrites: (more = 5) => {
        const target = acknowledged.length + more;
        return until(`${more} more writes are acknowledged`, () =>
          Promise.resolve(acknowledged.length >= target),
        );
      },
      stop: async () => {
        control.stopped = true;
        await loop;
      },
    };
  }

  /** Acknowledged writes missing from `server`. */
  async function lostWrites(s: Scenario, server: PostgresServer, acknowledged: readonly string[]) {
    const client = await connect(server, s.database);
    try {
      const { rows } = await client.query<{ email: string }>(
        'SELECT email FROM account WHERE email = ANY ($1)',
        [acknowledged],
      );
      const present = new Set(rows.map((r) => r.email));
      return acknowledged.filter((email) => !present.has(email));
    } finally {
      await client.end();
    }
  }

  type Writer = ReturnType<typeof startWriter>;

  /**
   * Runs `body` while the application writes through the record, then checks that every write it had
   * acknowledged is on the database the record names at the end.
   */
  async function underLoad(s: Scenario, body: (writer: Writer) => Promise<void>): Promise<void> {
    const writer = startWriter(s);
    try {
      await writer.takesWrites();
      await body(writer);
    } finally {
      await writer.stop();
    }
    const serving = s.dns.value === GREEN_ENDPOINT ? h.green : h.blue;
    expect(await lostWrites(s, serving, writer.acknowledged)).toEqual([]);
  }

  /** The rerun after a fault cuts over, and green takes the application's writes. */
  async function rerunCutsOver(s: Scenario, writer: Writer): Promise<void> {
    const rerun = await s.run();
    // The error and the path with the status: a rerun that fails says where and why.
    expect({
      status: rerun.status,
      error: rerun.error,
      path: rerun.status === 'SUCCEEDED' ? [] : rerun.path,
    }).toEqual({
      status: 'SUCCEEDED',
      error: undefined,
      path: [],
    });
    expect(s.dns.value).toBe(GREEN_ENDPOINT);
    await writer.takesWrites();
  }

  it('green killed (kill -9) mid-migration: blue serves; the interrupted migration blocks reruns until resolved, then the rerun cuts over', async () => {
    const s = await scenario();
    // CREATE INDEX CONCURRENTLY waits for this open writer transaction; green dies while it waits.
    const blocker = await connect(h.green, s.database);
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE "order" IN ROW EXCLUSIVE MODE');
    const failed = await s.run(
      {},
      {
        Migrate: async (input: never) => {
          const step = running(s.steps.migrate(input));
          await until('the migration waits on green', async () => {
            // A fresh session each time: pg_stat_activity is a snapshot within a transaction.
            const rows = await s.query<{ n: number }>(
              h.green,
              `SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE application_name = 'dr-migrations' AND wait_event_type = 'Lock'`,
            );
            return rows[0]?.n === 1;
          });
          await h.green.kill();
          return step;
        },
      },
    );
    await blocker.end().catch(() => undefined);
    expect(failed.status).toBe('FAILED');
    expect(s.notifications).toHaveLength(1);
    expect(s.notifications[0]?.Message).toContain('failed at the migrate step: DatabaseUnreachable');
    expect(s.dns.upserts).toEqual([]);
    await s.query(h.blue, "INSERT INTO account (email) VALUES ('blue-writable@example.org')");

    await h.green.restart();
    // Crash recovery leaves what Prisma would find: the migration started, never finished, and the index
    // CREATE INDEX CONCURRENTLY had registered left invalid.
    expect(
      await s.query(
        h.green,
        'SELECT migration_name, finished_at, logs FROM _prisma_migrations ORDER BY started_at',
      ),
    ).toEqual([
      expect.objectContaining({ finished_at: expect.any(Date) as unknown }),
      expect.objectContaining({ finished_at: expect.any(Date) as unknown }),
      { migration_name: PENDING, finished_at: null, logs: null },
    ]);
    expect(
      await s.query(
        h.green,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'order_created_at_idx'::regclass",
      ),
    ).toEqual([{ indisvalid: false }]);

    // A rerun refuses before writing anything, and says how to resolve.
    const refused = await s.run();
    expect(refused.status).toBe('FAILED');
    expect(refused.path).toContain('PlanBlocked');
    expect(refused.path).not.toContain('Migrate');
    expect(s.notifications[1]?.Message).toContain('MigrationsBlocked');
    expect(s.notifications[1]?.Message).toContain('dr migrations resolve');

    // On-call resolves it as the message says: drop the half-built index, mark the attempt rolled back.
    await execute(h.green, s.database, 'DROP INDEX CONCURRENTLY order_created_at_idx');
    const operator = await connect(h.green, s.database);
    await markMigrationRolledBack(operator, PENDING);
    await operator.end();

    const rerun = await s.run();
    expect(rerun.status).toBe('SUCCEEDED');
    expect(rerun.output).toMatchObject({ status: 'cut-over', migrate: { applied: [{ name: PENDING }] } });
    expect(s.dns.value).toBe(GREEN_ENDPOINT);
    expect(
      await s.query(
        h.green,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'order_created_at_idx'::regclass",
      ),
    ).toEqual([{ indisvalid: true }]);
    // The history keeps the interrupted attempt (rolled back) and the applied one.
    expect(
      await s.query(
        h.green,
        `SELECT finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back
           FROM _prisma_migrations WHERE migration_name = '${PENDING}' ORDER BY started_at`,
      ),
    ).toEqual([
      { finished: false, rolled_back: true },
      { finished: true, rolled_back: false },
    ]);
    expect(await lostWrites(s, h.green, ['blue-writable@example.org'])).toEqual([]);
  });

  it('green killed (kill -9) while blue is fenced: blue unfenced and serving, no acknowledged write lost; after restart a rerun cuts over', async () => {
    const s = await scenario();
    await underLoad(s, async (writer) => {
      const failed = await s.run(
        { catchUpTimeoutMs: 30_000 },
        {
          FenceBlueAndCatchUp: faultWhileFenced(s, async (step) => {
            await h.green.kill();
            return step;
          }),
        },
      );
      expect(failed.status).toBe('FAILED');
      expect(failed.path).toContain('AbortCutover');
      expect(s.notifications).toHaveLength(1);
      expect(s.notifications[0]?.Subject).toBe('Blue-green migration failed: blue still serves');
      expect(s.notifications[0]?.Message).toContain(
        'failed at the fence and catch-up step: DatabaseUnreachable',
      );
      expect(s.dns.upserts).toEqual([]);
      await writer.takesWrites();

      await h.green.restart();
      await rerunCutsOver(s, writer);
      expect(writer.acknowledged.length).toBeGreaterThan(15);
    });
  });

  it('blue killed (kill -9) while fenced and back within the abort retries: unfenced, serving, no acknowledged write lost', async () => {
    const s = await scenario();
    let restarted: Promise<void> | undefined;
    await underLoad(s, async (writer) => {
      try {
        const failed = await s.run(
          { catchUpTimeoutMs: 1500 },
          {
            FenceBlueAndCatchUp: faultWhileFenced(s, async (step) => {
              await h.blue.kill();
              // Blue's crash recovery takes a while: the abort has to wait for it.
              restarted = sleep(2500).then(() => h.blue.restart());
              return step;
            }),
          },
          { AbortCutover: 1000 },
        );
        await restarted;
        expect(failed.status).toBe('FAILED');
        expect(retries(failed, 'AbortCutover')).toBeGreaterThan(0);
        expect(s.notifications).toHaveLength(1);
        expect(s.notifications[0]?.Subject).toBe('Blue-green migration failed: blue still serves');
        expect(s.dns.upserts).toEqual([]);
        await writer.takesWrites();
      } finally {
        await restarted?.catch(() => undefined);
      }
    });
  });

  it('blue down past the abort retries: an URGENT page says blue may still be fenced and how to lift it', async () => {
    const s = await scenario();
    let stopped: Promise<void> | undefined;
    const failed = await s.run(
      { catchUpTimeoutMs: 1000 },
      {
        FenceBlueAndCatchUp: faultWhileFenced(s, (step) => {
          stopped = h.blue.kill();
          return step;
        }),
      },
    );
    await stopped;
    try {
      expect(failed.status).toBe('FAILED');
      expect(s.notifications).toHaveLength(1);
      expect(s.notifications[0]?.Subject).toBe('URGENT blue-green migration: blue may still refuse writes');
      expect(s.notifications[0]?.Message).toContain(
        `SET default_transaction_read_only = off; ALTER DATABASE "${s.database}" RESET default_transaction_read_only`,
      );
      expect(s.dns.upserts).toEqual([]);
      await h.blue.restart();
      // The page is right: blue came back fenced, and a rerun refuses at blue's check instead of going on.
      await expect(
        s.query(h.blue, "INSERT INTO account (email) VALUES ('still-fenced@example.org')"),
      ).rejects.toMatchObject({ code: '25006' });
      const rerun = await s.run();
      expect(rerun.status).toBe('FAILED');
      expect(s.notifications[1]?.Message).toContain('blue is read-only');
    } finally {
      if (!h.blue.running) await h.blue.restart();
      await execute(
        h.blue,
        s.database,
        'SET default_transaction_read_only = off',
        `ALTER DATABASE ${s.database} RESET default_transaction_read_only`,
      );
    }
  });

  it('green killed (kill -9) after the DNS flip, before the cutover finishes: DNS back on blue, blue unfenced, no acknowledged write lost', async () => {
    const s = await scenario();
    await underLoad(s, async (writer) => {
      const failed = await s.run(
        {},
        {
          FinishCutover: async (input: never) => {
            await h.green.kill();
            return s.steps.cutover(input);
          },
        },
      );
      expect(failed.status).toBe('FAILED');
      expect(retries(failed, 'FinishCutover')).toBe(3);
      expect(failed.path).toEqual(
        expect.arrayContaining(['FinishFailed', 'RollbackDns', 'AbortCutoverAfterRollback']) as unknown,
      );
      expect(s.notifications).toHaveLength(1);
      expect(s.notifications[0]?.Subject).toBe(
        'Blue-green migration failed after the DNS flip: rolled back to blue',
      );
      expect(s.notifications[0]?.Message).toContain('DatabaseUnreachable');
      expect(s.dns.upserts).toEqual([GREEN_ENDPOINT, BLUE_ENDPOINT]);
      await writer.takesWrites();

      await h.green.restart();
      await rerunCutsOver(s, writer);
    });
  });

  it('the fence step crashes mid-run (Lambda killed, sessions gone): blue unfenced by the workflow, no write lost; a rerun cuts over', async () => {
    const s = await scenario();
    await underLoad(s, async (writer) => {
      const failed = await s.run(
        { catchUpTimeoutMs: 30_000 },
        {
          FenceBlueAndCatchUp: faultWhileFenced(s, async (step) => {
            // The sandbox dies: its connections close, nothing of the step runs after this point.
            for (const server of [h.blue, h.green])
              await s.query(
                server,
                `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dr-cutover'`,
              );
            await step.catch(() => undefined);
            throw Object.assign(new Error('Task timed out after 900.00 seconds'), {
              name: 'Sandbox.Timedout',
            });
          }),
        },
      );
      expect(failed.status).toBe('FAILED');
      expect(failed.path).toContain('AbortCutover');
      expect(s.notifications[0]?.Message).toContain(
        'failed at the fence and catch-up step: Sandbox.Timedout',
      );
      expect(s.dns.upserts).toEqual([]);
      await writer.takesWrites();

      await rerunCutsOver(s, writer);
    });
  });

  it('every step run twice (completed, result lost, retried): still cuts over, nothing applied twice, no write lost', async () => {
    const s = await scenario();
    await underLoad(s, async (writer) => {
      const result = await s.run({}, {}, {}, undefined, (_state, handler) => async (event: never) => {
        await handler(event);
        return handler(event);
      });
      expect(result.status).toBe('SUCCEEDED');
      // The retried migrate found nothing left to apply; the one run before it applied the migration once.
      expect(result.output).toMatchObject({ status: 'cut-over', migrate: { applied: [] } });
      expect(s.dns.value).toBe(GREEN_ENDPOINT);
      expect(s.notifications).toEqual([]);
      await writer.takesWrites();
    });
    expect(
      await s.query(
        h.green,
        'SELECT migration_name, count(*)::int AS n FROM _prisma_migrations GROUP BY 1 HAVING count(*) > 1',
      ),
    ).toEqual([]);
  });

  it('the rollback after a failed final smoke test is refused too: URGENT page; the record stays on green, both sides refuse writes (nothing diverges)', async () => {
    const s = await scenario();
    // The app is healthy for the first smoke test; after the flip it fails, and Route 53 refuses changes.
    h.smokeApp.respond = (hit) => {
      if (hit === 1) return 200;
      s.dns.failChanges = true;
      return 500;
    };
    const result = await s.run();
    expect(result.status).toBe('FAILED');
    expect(result.path).toEqual(
      expect.arrayContaining(['FlipDns', 'FinalSmokeTest', 'RollbackDns', 'NotifyRollbackFailed']) as unknown,
    );
    expect(retries(result, 'RollbackDns')).toBe(3);
    expect(s.notifications).toHaveLength(1);
    expect(s.notifications[0]?.Subject).toBe('URGENT blue-green migration: DNS rollback failed');
    expect(s.notifications[0]?.Message).toContain('failed at the final smoke test step');
    expect(s.notifications[0]?.Message).toContain('blue and green both refuse writes (fenced)');
    expect(s.dns.value).toBe(GREEN_ENDPOINT);
    // Neither side takes writes until someone decides: no write can land on one side and be lost.
    for (const server of [h.blue, h.green])
      await expect(
        s.query(server, "INSERT INTO account (email) VALUES ('diverging@example.org')"),
      ).rejects.toMatchObject({ code: '25006' });
  }, 60_000);

  it('a verify statement hangs on a lock past its timeout: bounded retries, then blue serves and on-call is told', async () => {
    const s = await scenario();
    const holder = await connect(h.green, s.database);
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE account IN ACCESS EXCLUSIVE MODE');
    try {
      const failed = await s.run(
        {},
        {
          // The verify step's statement timeout, shortened from its 60 s default to keep the test short.
          Verify: (input: Record<string, unknown>) => s.steps.verify({ ...input, statementTimeoutMs: 1000 }),
        },
      );
      expect(failed.status).toBe('FAILED');
      expect(retries(failed, 'Verify')).toBe(3);
      expect(s.notifications[0]?.Message).toContain('failed at the verify step: DatabaseTimeout');
      expect(s.dns.upserts).toEqual([]);
      expect(s.dns.value).toBe(BLUE_ENDPOINT);
    } finally {
      await holder.end();
    }
    await s.query(h.blue, "INSERT INTO account (email) VALUES ('blue-serves@example.org')");
  });
});
