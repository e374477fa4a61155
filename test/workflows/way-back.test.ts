import { Client } from 'pg';
import {
  BLUE_ENDPOINT,
  GREEN_ENDPOINT,
  GREEN_INSTANCE,
  useBlueGreenHarness,
} from '../support/blue-green-harness';
import type { PostgresServer } from '../support/postgres';
import { testConfig } from '../infra/test-config';
import { topologyOf } from '../support/world';

const CONFIG = testConfig();

/**
 * The way back, through the deployed workflow in the local world on real PostgreSQL: a cutover that leaves blue
 * following green, writes on green, a rollback (a zero-loss cutover in the other direction, leaving green
 * following blue), writes on blue, and a roll forward again. Every acknowledged write is on the database that
 * serves at the end of each step.
 */
describe('the way back: cutover, rollback, roll forward (blue-green workflow, local world)', () => {
  const harness = useBlueGreenHarness();

  async function insert(
    server: PostgresServer,
    database: string,
    n: number,
    note: string,
  ): Promise<number[]> {
    const client = new Client(server.clientConfig(database));
    await client.connect();
    try {
      const ids: number[] = [];
      for (let i = 0; i < n; i++) {
        const { rows } = await client.query<{ id: string }>(
          `INSERT INTO "order" (account_id, total_cents) VALUES (1, ${String(i)}) RETURNING id`,
        );
        ids.push(Number(rows[0]?.id));
      }
      await client.query('SELECT $1::text', [note]);
      return ids;
    } finally {
      await client.end();
    }
  }

  it('rolls back without losing a write made on green, then rolls forward without losing one made on blue', async () => {
    const s = await harness.scenario();
    const wayBack = { replicationSecretId: s.replicationSecret };
    // 1. Cut over to green, leaving blue following green.
    const forward = await s.run({ wayBack });
    expect({ status: forward.status, notes: s.notifications.map((n) => n.Message) }).toEqual({
      status: 'SUCCEEDED',
      notes: [],
    });
    expect({ status: forward.status, error: forward.error }).toEqual({
      status: 'SUCCEEDED',
      error: undefined,
    });
    expect(forward.path).toContain('FinishCutover');
    expect(s.dns.value).toBe(GREEN_ENDPOINT);
    const onGreen = await insert(harness.green, s.database, 25, 'written on green');

    // 2. Roll back: green (serving) is blue now, and blue follows it by the way back.
    const rollback = await s.run({
      rollback: true,
      blue: { secretId: `pg-dr/green-${s.database}` },
      green: { secretId: `pg-dr/blue-${s.database}` },
      blueEndpoint: GREEN_ENDPOINT,
      greenEndpoint: BLUE_ENDPOINT,
      greenInstanceIdentifier: CONFIG.database.primaryInstanceIdentifier,
      blueInstanceIdentifier: GREEN_INSTANCE,
      subscription: 'dr_way_back',
      wayBack,
    });
    expect({ status: rollback.status, notes: s.notifications.map((n) => n.Message) }).toEqual({
      status: 'SUCCEEDED',
      notes: [],
    });
    expect({ status: rollback.status, error: rollback.error }).toEqual({
      status: 'SUCCEEDED',
      error: undefined,
    });
    expect(rollback.path).not.toContain('Migrate');
    expect(rollback.path).toContain('FenceBlueAndCatchUp');
    expect(s.dns.value).toBe(BLUE_ENDPOINT);
    expect((await topologyOf()).writer.instanceIdentifier).toBe(CONFIG.database.primaryInstanceIdentifier);
    // Rollback: acknowledged writes lost = 0.
    const backOnBlue = await s.query<{ id: string }>(harness.blue, 'SELECT id FROM "order"');
    const blueIds = new Set(backOnBlue.map((r) => Number(r.id)));
    expect(onGreen.filter((id) => !blueIds.has(id))).toEqual([]);
    // Blue serves and continues green's ids (sequences copied in the fenced window).
    const onBlue = await insert(harness.blue, s.database, 10, 'written on blue');
    expect(Math.min(...onBlue)).toBeGreaterThan(Math.max(...onGreen));

    // 3. Roll forward again: green follows blue by the way back the rollback set up.
    const again = await s.run({ subscription: 'dr_way_back', wayBack });
    expect({ status: again.status, error: again.error }).toEqual({ status: 'SUCCEEDED', error: undefined });
    expect(s.dns.value).toBe(GREEN_ENDPOINT);
    expect((await topologyOf()).writer.instanceIdentifier).toBe(GREEN_INSTANCE);
    const nowOnGreen = new Set(
      (await s.query<{ id: string }>(harness.green, 'SELECT id FROM "order"')).map((r) => Number(r.id)),
    );
    expect([...onGreen, ...onBlue].filter((id) => !nowOnGreen.has(id))).toEqual([]);

    // 4. Each cutover with the way back scheduled the retirement of the database it left: three, waiting.
    const scheduled = s.retirements();
    expect(scheduled.map((e) => e.status)).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);
    // The window of the last one closes: the way back ends (blue's subscription, green's slot and publication);
    // blue, the first deploy's primary, is kept (green provisioning did not make it), and on-call is told.
    const last = scheduled.at(-1)?.executionArn ?? '';
    const retired = await s.retire(last);
    expect({ status: retired.status, error: retired.error }).toEqual({
      status: 'SUCCEEDED',
      error: undefined,
    });
    expect(retired.path).toEqual(expect.arrayContaining(['EndWayBack', 'NotifyKept']));
    expect(retired.path).not.toContain('Retire');
    // The newest cutover decides the window: the older retirement of the same instance (the first cutover's)
    // was stopped by this one's plan; the rollback's (of green) still waits.
    expect(s.retirements().map((e) => e.status)).toEqual(['ABORTED', 'RUNNING', 'SUCCEEDED']);
    expect(s.notifications.at(-1)?.Subject).toBe('Way back ended; blue kept');
    expect(
      await s.query(harness.blue, `SELECT subname FROM pg_subscription WHERE subname = 'dr_way_back'`),
    ).toEqual([]);
    expect(
      await s.query(
        harness.green,
        `SELECT slot_name FROM pg_replication_slots WHERE slot_name = 'dr_way_back'`,
      ),
    ).toEqual([]);
    expect(
      await s.query(harness.green, `SELECT pubname FROM pg_publication WHERE pubname = 'dr_way_back'`),
    ).toEqual([]);
    expect(s.world.rds.instance('us-west-2', CONFIG.database.primaryInstanceIdentifier)).toBeDefined();
    // The rollback's retirement (of green) was not stopped, and green is the writer again since the roll
    // forward: when its window closes it ends as superseded, touching nothing, and says so.
    const notified = s.notifications.length;
    const superseded = await s.retire(scheduled[1]?.executionArn ?? '');
    expect({ status: superseded.status, error: superseded.error }).toEqual({
      status: 'SUCCEEDED',
      error: undefined,
    });
    expect(superseded.path.slice(-2)).toEqual(['Superseded', 'SupersededDone']);
    expect(s.notifications.slice(notified).map((n) => n.Subject)).toEqual(['Blue retirement superseded']);
    expect((await topologyOf()).writer.instanceIdentifier).toBe(GREEN_INSTANCE);
  }, 240_000);

  it('a rollback with blue unreachable changes nothing: green keeps serving, the way back waits', async () => {
    const s = await harness.scenario();
    // Its own way-back names: the harness's servers are shared by scenarios, and a slot name is per server.
    const names = { publication: `wb_${s.database}`, subscription: `wb_${s.database}` };
    const wayBack = { replicationSecretId: s.replicationSecret, ...names };
    const forward = await s.run({ wayBack });
    expect(forward.status).toBe('SUCCEEDED');
    await harness.blue.kill();
    try {
      const rollback = await s.run({
        rollback: true,
        blue: { secretId: `pg-dr/green-${s.database}` },
        green: { secretId: `pg-dr/blue-${s.database}` },
        blueEndpoint: GREEN_ENDPOINT,
        greenEndpoint: BLUE_ENDPOINT,
        greenInstanceIdentifier: CONFIG.database.primaryInstanceIdentifier,
        blueInstanceIdentifier: GREEN_INSTANCE,
        subscription: names.subscription,
        wayBack,
      });
      expect(rollback.status).toBe('FAILED');
      // Refused at the connectivity check: nothing fenced, nothing flipped, green (the writer) takes writes.
      expect(rollback.path).not.toContain('PrepareCutover');
      expect(s.notifications.at(-1)?.Subject).toBe('Blue-green migration failed: blue still serves');
      expect(s.notifications.at(-1)?.Message).toContain('DatabaseUnreachable');
      expect(s.dns.value).toBe(GREEN_ENDPOINT);
      expect((await topologyOf()).writer.instanceIdentifier).toBe(GREEN_INSTANCE);
      const written = await insert(harness.green, s.database, 3, 'green still serves');
      expect(written).toHaveLength(3);
    } finally {
      await harness.blue.restart();
    }
    // Blue back: the way back catches up on what green took meanwhile.
    const client = new Client(harness.blue.clientConfig(s.database));
    await client.connect();
    try {
      const greenCount = (
        await s.query<{ n: number }>(harness.green, 'SELECT count(*)::int AS n FROM "order"')
      )[0]?.n;
      let blueCount = -1;
      // At most a minute: the apply worker reconnects after wal_retrieve_retry_interval (5 s), later under load.
      for (let i = 0; i < 600 && blueCount !== greenCount; i++) {
        blueCount =
          (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM "order"')).rows[0]?.n ?? -1;
        if (blueCount !== greenCount) await new Promise((r) => setTimeout(r, 100));
      }
      expect(blueCount).toBe(greenCount);
    } finally {
      await client.end();
    }
  }, 240_000);

  it('refuses a cutover whose migration makes the way back impossible, before fencing anything', async () => {
    const s = await harness.scenario();
    // A migration that drops a column blue requires.
    const client = new Client(harness.green.clientConfig(s.database));
    await client.connect();
    await client.query('ALTER TABLE "order" DROP COLUMN total_cents');
    await client.end();
    const result = await s.run({ wayBack: { replicationSecretId: s.replicationSecret } });
    expect(result.status).toBe('FAILED');
    expect(result.path).toContain('PrepareCutover');
    expect(result.path).not.toContain('FenceBlueAndCatchUp');
    expect(s.notifications.at(-1)?.Message).toContain('WayBackImpossible');
    expect(s.notifications.at(-1)?.Message).toContain('public.order.total_cents was dropped');
    expect(s.dns.value).toBe(BLUE_ENDPOINT);
  }, 120_000);
});
