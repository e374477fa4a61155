import { deliverEvent, statusChangeEvent } from '../../lib/local-aws/invoke';
import { runInWorld } from '../../lib/local-aws/workflow';
import { execute } from '../support/replication';
import { drNames } from '../../lib/names';
import { testConfig } from '../infra/test-config';
import {
  BLUE_ENDPOINT,
  GREEN_ENDPOINT,
  GREEN_INSTANCE,
  OLD_REPLICA,
  useBlueGreenHarness,
} from '../support/blue-green-harness';
import { topologyOf } from '../support/world';

const NAMES = drNames(testConfig());
const NET_FILE = 'blue-green-safety-net.asl.json';
type Scenario = Awaited<ReturnType<ReturnType<typeof useBlueGreenHarness>['scenario']>>;

describe('blue-green safety net, in the local world: a migration that ends abnormally leaves production safe', () => {
  const h = useBlueGreenHarness();
  const { scenario } = h;

  /**
   * What EventBridge does when the migration ends: the rule matches the status change and starts the net,
   * which then runs here. `timePasses`: between the net's waits, the clock moves past the steps' timeout.
   */
  async function net(
    s: Scenario,
    executionArn: string,
    options: { timePasses?: boolean; lambdasStillRunning?: readonly Promise<unknown>[] } = {},
  ) {
    const event = statusChangeEvent(s.world, executionArn);
    const delivered = await deliverEvent(s.world, 'us-east-1', event);
    const started = delivered.find((d) =>
      d.target.endsWith(`:stateMachine:${NAMES.migrationSafetyNetStateMachine}`),
    );
    if (started === undefined) return { delivered, run: undefined };
    const { executionArn: netArn } = started.result as { executionArn: string };
    let assessed = 0;
    const run = await runInWorld({
      world: s.world,
      file: NET_FILE,
      stateMachineName: NAMES.migrationSafetyNetStateMachine,
      input: event,
      execution: s.world.stepFunctions.executions.get(netArn),
      waits: { WaitForSteps: 0 },
      retryIntervals: {
        Assess: 0,
        RollbackDns: 0,
        UnfenceBlue: 1,
        FinishCutover: 1,
        RecordTopology: 0,
        RepointSecondary: 0,
      },
      wrap: (state, handler) =>
        state !== 'Assess'
          ? handler
          : async (input: never) => {
              if (assessed++ > 0 && options.timePasses === true) {
                // The wait is over: a step still running when the migration ended has finished on its own (as
                // its Lambda does by its timeout), and the migration's events lie further in the past than any
                // step can run.
                await Promise.all(options.lambdasStillRunning ?? []);
                for (const e of s.world.stepFunctions.executions.get(executionArn)?.events ?? [])
                  Object.assign(e, { timestamp: new Date(e.timestamp.getTime() - 900_000) });
              }
              return handler(input);
            },
    });
    return { delivered, run };
  }
  const netNotifications = (s: Scenario) =>
    s.world.sns.published.filter((p) => p.subject.includes('safety net')).map((p) => p.subject);
  /** Runs the migration, stopped as it enters `state`; a Lambda already running goes on, as on AWS. */
  async function stoppedAt(s: Scenario, state: string) {
    const running: Promise<unknown>[] = [];
    const execution = await s.run(
      {},
      {},
      {},
      undefined,
      (_state, handler) => (input: never) => {
        const call = Promise.resolve(handler(input));
        running.push(call.catch(() => undefined));
        return call;
      },
      state,
    );
    return { execution, running };
  }
  /** Runs the migration, stopped as it enters RepointSecondary, whose Lambda ends without changing the record. */
  async function endedBeforeRepointing(s: Scenario) {
    const stopped = () => Promise.reject(new Error('stopped with its execution'));
    return s.run(
      {},
      {},
      {},
      undefined,
      (state, handler) => (state === 'RepointSecondary' ? stopped : handler),
      'RepointSecondary',
    );
  }
  const blueTakesWrites = (s: Scenario, email: string) =>
    s.query(h.blue, `INSERT INTO account (email) VALUES ('${email}')`);

  it('aborted after the flip, blue fenced: the net points the record back at blue, unfences it, and pages', async () => {
    const s = await scenario();
    const migration = await s.run({}, {}, {}, undefined, undefined, 'FinalSmokeTest');
    expect(migration.status).toBe('ABORTED');
    expect(s.dns.value).toBe(GREEN_ENDPOINT);
    await expect(blueTakesWrites(s, 'fenced@example.org')).rejects.toMatchObject({ code: '25006' });

    const { run } = await net(s, migration.executionArn);
    expect(run?.status).toBe('SUCCEEDED');
    expect(run?.path).toEqual([
      'Remember',
      'Assess',
      'Decide',
      'NeedsDnsRollback',
      'RollbackDns',
      'NeedsUnfence',
      'UnfenceBlue',
      'NotifyRolledBack',
      'RolledBack',
    ]);
    expect(s.dns.value).toBe(BLUE_ENDPOINT);
    await blueTakesWrites(s, 'after-net@example.org');
    expect(netNotifications(s)).toEqual(['Blue-green migration ended abnormally: safety net restored blue']);
  });

  it('aborted while the flip was running: waits until that Lambda must have ended, then rolls back', async () => {
    const s = await scenario();
    const { execution: migration, running } = await stoppedAt(s, 'FlipDns');
    expect(migration.status).toBe('ABORTED');

    const { run } = await net(s, migration.executionArn, { timePasses: true, lambdasStillRunning: running });
    expect(run?.status).toBe('SUCCEEDED');
    expect(run?.path.slice(0, 7)).toEqual([
      'Remember',
      'Assess',
      'Decide',
      'CountWait',
      'IsWaitOver',
      'WaitForSteps',
      'Assess',
    ]);
    expect(run?.path).toContain('RollbackDns');
    expect(s.dns.value).toBe(BLUE_ENDPOINT);
    await blueTakesWrites(s, 'after-net@example.org');
  });

  it('ended while finishing the cutover: the net finishes it (the record names green), so green takes writes', async () => {
    const s = await scenario();
    const { execution: migration, running } = await stoppedAt(s, 'FinishCutover');
    expect(migration.status).toBe('ABORTED');
    expect(s.dns.value).toBe(GREEN_ENDPOINT);

    const { run } = await net(s, migration.executionArn, { timePasses: true, lambdasStillRunning: running });
    expect({ status: run?.status, said: s.world.sns.published.at(-1)?.message }).toEqual({
      status: 'SUCCEEDED',
      said: expect.stringContaining('finished it') as unknown,
    });
    expect(run?.path).toContain('FinishCutover');
    expect(run?.path).not.toContain('RollbackDns');
    // Both records answer green, as the migration would have left them: SECONDARY is not left on the replica
    // of blue, which a failing health check on retired blue would send every client to.
    expect(s.dns).toMatchObject({ value: GREEN_ENDPOINT, secondary: GREEN_ENDPOINT });
    await s.query(h.green, "INSERT INTO account (email) VALUES ('green-writes@example.org')");
    expect(
      await s.query(h.green, `SELECT subname FROM pg_subscription WHERE subname = '${s.subscription}'`),
    ).toEqual([]);
    expect(netNotifications(s)).toEqual([
      'Blue-green migration ended abnormally: safety net finished the cutover',
    ]);
    // Finished, and recorded: green is the writer of record, written under the migration's own name.
    expect(run?.path).toContain('RecordTopology');
    expect(await topologyOf()).toMatchObject({
      generation: 2,
      writer: { instanceIdentifier: GREEN_INSTANCE, endpoint: GREEN_ENDPOINT },
      changedBy: migration.executionArn,
    });
  });

  it('ended after finishing the cutover but before recording it: the net records green in the topology', async () => {
    const s = await scenario();
    const { execution: migration } = await stoppedAt(s, 'RecordTopology');
    expect(migration.status).toBe('ABORTED');
    expect((await topologyOf()).writer.endpoint).toBe(BLUE_ENDPOINT);

    const { run } = await net(s, migration.executionArn);
    expect(run?.status).toBe('SUCCEEDED');
    expect(run?.path).toEqual([
      'Remember',
      'Assess',
      'Decide',
      'RecordTopology',
      'RepointSecondary',
      'WasRollForward',
      'NotifyTopologyRecorded',
      'RolledForward',
    ]);
    expect(await topologyOf()).toMatchObject({
      generation: 2,
      writer: { instanceIdentifier: GREEN_INSTANCE, endpoint: GREEN_ENDPOINT },
      changedBy: migration.executionArn,
    });
    expect(s.dns).toMatchObject({ value: GREEN_ENDPOINT, secondary: GREEN_ENDPOINT });
    expect(netNotifications(s)).toEqual([
      'Blue-green migration ended abnormally: safety net recorded green in the topology',
    ]);
    // A second net (the event delivered twice) writes nothing new: the topology step recognises the change
    // as the migration's own (same author) and leaves it.
    const again = await net(s, migration.executionArn);
    expect(again.run?.path).toContain('RecordTopology');
    expect((await topologyOf()).generation).toBe(2);
  });

  it('ended after recording green but before repointing SECONDARY: the net repoints it, recording nothing new', async () => {
    const s = await scenario();
    const migration = await endedBeforeRepointing(s);
    expect(migration.status).toBe('ABORTED');
    expect((await topologyOf()).writer.endpoint).toBe(GREEN_ENDPOINT);
    expect(s.dns).toMatchObject({ value: GREEN_ENDPOINT, secondary: OLD_REPLICA });

    const { run } = await net(s, migration.executionArn);
    expect(run?.status).toBe('SUCCEEDED');
    expect(run?.path).toEqual([
      'Remember',
      'Assess',
      'Decide',
      'RecordTopology',
      'RepointSecondary',
      'WasRollForward',
      'NotifyTopologyRecorded',
      'RolledForward',
    ]);
    expect(s.dns).toMatchObject({ value: GREEN_ENDPOINT, secondary: GREEN_ENDPOINT });
    // The migration's own change is recognised (same author): no second generation.
    expect((await topologyOf()).generation).toBe(2);
  });

  it('pages URGENT when the net cannot repoint SECONDARY, naming the target', async () => {
    const s = await scenario();
    const migration = await endedBeforeRepointing(s);
    s.dns.failChanges = true;
    const { run } = await net(s, migration.executionArn);
    s.dns.failChanges = false;
    expect(run?.status).toBe('FAILED');
    expect(run?.path.slice(-3)).toEqual(['RepointSecondary', 'NotifySecondaryNotRepointed', 'NetFailed']);
    expect(s.dns.secondary).toBe(OLD_REPLICA);
    const page = s.world.sns.published.at(-1);
    expect(page?.subject).toBe(
      'URGENT blue-green migration ended abnormally: SECONDARY still answers the replica of blue',
    );
    expect(page?.message).toContain(`point SECONDARY at ${GREEN_ENDPOINT} by hand`);
  });

  it('a failure the workflow handled itself (flip refused, rolled back, unfenced): the net changes nothing', async () => {
    const s = await scenario();
    s.dns.failChanges = true;
    const migration = await s.run();
    s.dns.failChanges = false;
    expect(migration.status).toBe('FAILED');
    const changes = s.dns.upserts.length;

    const { run } = await net(s, migration.executionArn);
    expect(run?.path).toEqual(['Remember', 'Assess', 'Decide', 'NothingToUndo']);
    expect(s.dns.upserts).toHaveLength(changes);
    expect(netNotifications(s)).toEqual([]);
  });

  it('aborted before blue was fenced: nothing to undo', async () => {
    const s = await scenario();
    const migration = await s.run({}, {}, {}, undefined, undefined, 'PrepareCutover');
    const { run } = await net(s, migration.executionArn);
    expect(run?.path.at(-1)).toBe('NothingToUndo');
    await blueTakesWrites(s, 'never-fenced@example.org');
  });

  it('another migration is cutting over: the net changes nothing under it and pages URGENT', async () => {
    const s = await scenario();
    const migration = await s.run({}, {}, {}, undefined, undefined, 'FinalSmokeTest');
    const other = s.world.stepFunctions.begin(
      s.world.stateMachineArn(NAMES.blueGreenStateMachine),
      'next-attempt',
      {},
    );
    s.world.stepFunctions.record(
      other,
      { type: 'StateEntered', timestamp: 0, state: { name: 'PrepareCutover', type: 'Task', input: {} } },
      new Map(),
    );

    const { run } = await net(s, migration.executionArn);
    expect(run?.status).toBe('FAILED');
    expect(run?.path.slice(-2)).toEqual(['NotifyRefused', 'NetRefused']);
    expect(s.dns.value).toBe(GREEN_ENDPOINT);
    expect(s.world.sns.published.at(-1)?.message).toContain(
      'another migration is cutting over (next-attempt)',
    );
  });

  it('another migration still migrating (or a dry run) does not stop the net: it finds blue as the net leaves it', async () => {
    const s = await scenario();
    const migration = await s.run({}, {}, {}, undefined, undefined, 'FinalSmokeTest');
    const other = s.world.stepFunctions.begin(
      s.world.stateMachineArn(NAMES.blueGreenStateMachine),
      'dry-run-meanwhile',
      {},
    );
    s.world.stepFunctions.record(
      other,
      { type: 'StateEntered', timestamp: 0, state: { name: 'Migrate', type: 'Task', input: {} } },
      new Map(),
    );
    const { run } = await net(s, migration.executionArn);
    expect(run?.status).toBe('SUCCEEDED');
    expect(s.dns.value).toBe(BLUE_ENDPOINT);
    await blueTakesWrites(s, 'after-net@example.org');
  });

  it('aborted after an unsynchronized flip the input accepted, before its final smoke test: the record goes back to blue', async () => {
    const s = await scenario();
    await execute(
      h.green,
      s.database,
      `ALTER SUBSCRIPTION ${s.subscription} DISABLE`,
      `ALTER SUBSCRIPTION ${s.subscription} SET (slot_name = NONE)`,
      `DROP SUBSCRIPTION ${s.subscription}`,
    );
    const migration = await s.run(
      { allowUnsynchronizedFlip: true },
      {},
      {},
      undefined,
      undefined,
      'FinalSmokeTest',
    );
    expect(migration.path).toContain('FlipDnsUnsynchronized');
    expect(s.dns.value).toBe(GREEN_ENDPOINT);
    const { run } = await net(s, migration.executionArn);
    expect(run?.path).toEqual([
      'Remember',
      'Assess',
      'Decide',
      'NeedsDnsRollback',
      'RollbackDns',
      'NeedsUnfence',
      'NotifyRolledBack',
      'RolledBack',
    ]);
    expect(s.dns.value).toBe(BLUE_ENDPOINT);
  });

  it('when finishing the cutover fails, the page says to finish on green, never to go back to blue', async () => {
    const s = await scenario();
    const { execution: migration, running } = await stoppedAt(s, 'FinishCutover');
    await Promise.all(running);
    await h.green.kill();
    try {
      const { run } = await net(s, migration.executionArn, {
        timePasses: true,
        lambdasStillRunning: running,
      });
      expect(run?.path.slice(-2)).toEqual(['NotifyRollForwardFailed', 'NetFailed']);
      const page = s.world.sns.published.at(-1)?.message ?? '';
      expect(page).toContain('do not point the record back at blue');
      expect(page).toContain('DROP SUBSCRIPTION');
    } finally {
      await h.green.restart();
    }
  });

  it('fails the way AWS does when its role may not read the history (AccessDeniedException), and pages URGENT', async () => {
    const s = await scenario();
    const migration = await s.run({}, {}, {}, undefined, undefined, 'FinalSmokeTest');
    const assess = s.world.iam.principalOfArn(
      s.world.substitutions(NAMES.migrationSafetyNetStateMachine).MigrationSafetyNetAssessFunctionArn ?? '',
    );
    if (assess === undefined) throw new Error('no assess function');
    s.world.iam.withoutAction(assess, 'states:GetExecutionHistory');

    const { run } = await net(s, migration.executionArn);
    expect(run?.status).toBe('FAILED');
    expect(run?.path.slice(-2)).toEqual(['NotifyNetFailed', 'NetFailed']);
    expect(
      s.world.aws.calls.filter((c) => c.error === 'AccessDeniedException').map((c) => c.operation),
    ).toEqual(expect.arrayContaining(['GetExecutionHistory']) as unknown);
    expect(s.world.sns.published.at(-1)?.subject).toBe(
      'URGENT blue-green migration ended abnormally: safety net failed',
    );
  });

  it('starts only for a migration that ends FAILED, TIMED_OUT or ABORTED', async () => {
    const s = await scenario();
    const migration = await s.run({ dryRun: true });
    expect(migration.status).toBe('SUCCEEDED');
    const { delivered } = await net(s, migration.executionArn);
    expect(delivered).toEqual([]);
  });
});
