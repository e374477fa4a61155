import { Client } from 'pg';
import { runInWorld } from '../../lib/local-aws/workflow';
import {
  BLUE_ENDPOINT,
  GREEN_ENDPOINT,
  GREEN_INSTANCE,
  OLD_REPLICA,
  useBlueGreenHarness,
} from '../support/blue-green-harness';
import { execute } from '../support/replication';
import { DnsFlipError } from '../../lambdas/dns-flip/flip';
import type { Topology } from '../../lambdas/shared/topology';
import { afterCutoverTo, TEST_CONFIG, TOPOLOGY, topologyOf } from '../support/world';
import { drNames } from '../../lib/names';
import { testConfig } from '../infra/test-config';

const NAMES = drNames(testConfig());

describe('blue-green migration workflow, executed locally from its ASL file', () => {
  const h = useBlueGreenHarness();
  const { scenario } = h;

  it('migrates green, cuts over with no write lost, and reports DR as degraded', async () => {
    const s = await scenario();
    const result = await s.run();

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({
      status: 'cut-over',
      migrate: { applied: [{ name: '20240201000000_index_orders_created_at' }] },
      verify: { ok: true },
      drDegraded: true,
      drMessage: expect.stringContaining('still follows blue') as unknown,
    });
    // Both failover records answer green: PRIMARY at the flip, SECONDARY once the topology names green. Left
    // on the replica of blue, a failing health check on retired blue would send clients to a read-only copy.
    expect(s.dns).toMatchObject({
      value: GREEN_ENDPOINT,
      secondary: GREEN_ENDPOINT,
      upserts: [GREEN_ENDPOINT, GREEN_ENDPOINT],
    });
    expect(result.path.indexOf('RepointSecondary')).toBeGreaterThan(result.path.indexOf('RecordTopology'));
    expect(s.notifications).toEqual([]);
    // Every row blue had is on green; green takes writes with fresh ids; blue refuses them; no subscription left.
    expect(await s.query(h.green, 'SELECT count(*)::int AS n FROM "order"')).toEqual([{ n: 20 }]);
    expect(
      await s.query(h.green, "INSERT INTO account (email) VALUES ('new@example.org') RETURNING id"),
    ).toEqual([{ id: '21' }]);
    await expect(
      s.query(h.blue, "INSERT INTO account (email) VALUES ('late@example.org')"),
    ).rejects.toMatchObject({ code: '25006' });
    expect(
      await s.query(h.green, `SELECT subname FROM pg_subscription WHERE subname = '${s.subscription}'`),
    ).toEqual([]);
    expect(result.path).toEqual(
      expect.arrayContaining([
        'CheckConnectivity',
        'PlanMigrations',
        'Migrate',
        'Verify',
        'SmokeTest',
        'PrepareCutover',
        'FenceBlueAndCatchUp',
        'FlipDns',
        'FinalSmokeTest',
        'FinishCutover',
        'RecordTopology',
        'Succeeded',
      ]) as unknown,
    );
    expect(JSON.stringify(result.output)).not.toContain(h.blue.password);
    // Green is the writer of record, with no replica until the DR rebuild: both records' targets are green.
    expect(await topologyOf()).toMatchObject({
      generation: 2,
      writer: { region: 'us-west-2', instanceIdentifier: GREEN_INSTANCE, endpoint: GREEN_ENDPOINT },
      replica: null,
      changedBy: expect.stringMatching(/:execution:pg-dr-blue-green-migration:/) as unknown,
    });
    expect(s.world.ssm.value('us-east-1', '/pg-dr/topology/primary-record')).toBe(GREEN_ENDPOINT);

    // `cdk deploy` afterwards (the simulated CloudFormation): unchanged, it touches nothing; with a changed
    // record (a TTL), it writes the record again, from the topology: green. No instance is replaced.
    expect(s.world.redeploy()).toEqual({ updated: [], added: [], removed: [] });
    const changed = s.world.redeploy({ ...TEST_CONFIG, recordTtlSeconds: 30 });
    expect(
      changed.updated.filter((c) => c.type === 'AWS::Route53::RecordSet').map((c) => c.properties),
    ).toContainEqual(['TTL']);
    expect(changed.updated.filter((c) => c.type === 'AWS::RDS::DBInstance')).toEqual([]);
    expect(changed.removed).toEqual([]);
    expect(s.dns.value).toBe(GREEN_ENDPOINT);
  });

  it('refuses a cutover from a blue that is not the writer of record, before touching anything', async () => {
    const s = await scenario();
    await afterCutoverTo({ instanceIdentifier: 'pg-dr-other', endpoint: 'other.example.internal' });
    const result = await s.run();
    expect(result.status).toBe('FAILED');
    expect(result.path).toEqual(['ValidateInput', 'NotifyInvalidInput', 'MigrationFailed']);
    expect(s.notifications[0]?.Message).toContain(
      `blueEndpoint ${BLUE_ENDPOINT} is not the writer the topology names (pg-dr-other, other.example.internal`,
    );
    expect(s.dns.upserts).toEqual([]);
    await s.query(h.blue, "INSERT INTO account (email) VALUES ('still-blue@example.org')");
    // A dry run plans all the same: it changes nothing.
    expect((await s.run({ dryRun: true })).status).toBe('SUCCEEDED');
  });

  it('refuses a way back whose blue instance (the one retired when the window closes) is not the writer', async () => {
    const s = await scenario();
    const result = await s.run({
      wayBack: { replicationSecretId: s.replicationSecret },
      blueInstanceIdentifier: 'pg-dr-green-someone-else',
    });
    expect(result.status).toBe('FAILED');
    expect(result.path).toEqual(['ValidateInput', 'NotifyInvalidInput', 'MigrationFailed']);
    expect(s.notifications[0]?.Message).toContain(
      'blueInstanceIdentifier pg-dr-green-someone-else is not the writer the topology names (pg-dr-primary',
    );
    expect(s.dns.upserts).toEqual([]);
    expect(s.retirements()).toEqual([]);
  });

  it('refuses a cutover while a drill or a region failover runs, before touching anything (a dry run still plans)', async () => {
    const s = await scenario();
    for (const machine of [NAMES.drillStateMachine, NAMES.regionFailoverStateMachine]) {
      const other = s.world.stepFunctions.begin(s.world.stateMachineArn(machine), 'running', {});
      const result = await s.run();
      expect(result.path).toEqual(['ValidateInput', 'NotifyInvalidInput', 'MigrationFailed']);
      expect(s.notifications.at(-1)?.Message).toContain(
        `rejected before touching anything: running: ${machine}: running; a cutover must not race it`,
      );
      expect((await s.run({ dryRun: true })).status).toBe('SUCCEEDED');
      s.world.stepFunctions.finish(other, 'SUCCEEDED', { output: {} });
    }
    expect(s.dns.upserts).toEqual([]);
  });

  it('cuts over but records nothing over a topology that changed since it was planned, and pages URGENT', async () => {
    const s = await scenario();
    // Another change lands while the migration runs (after its input check, before it records): written
    // straight into Parameter Store, as an operator would, outside every function's role.
    let changed = false;
    const result = await s.run({}, {}, {}, undefined, (state, handler) =>
      state !== 'FinishCutover'
        ? handler
        : (input: never) => {
            if (!changed) {
              changed = true;
              const other = {
                region: 'us-west-2',
                instanceIdentifier: 'pg-dr-other',
                endpoint: 'other.example.internal',
              };
              const now = JSON.parse(s.world.ssm.value('us-east-1', TOPOLOGY.document) ?? '{}') as Topology;
              s.world.ssm.put(
                'us-east-1',
                TOPOLOGY.document,
                JSON.stringify({ ...now, generation: 2, writer: other, replica: null, changedBy: 'by hand' }),
                true,
              );
              s.world.ssm.put('us-east-1', TOPOLOGY.primaryRecord, other.endpoint, true);
              s.world.ssm.put('us-east-1', TOPOLOGY.secondaryRecord, other.endpoint, true);
            }
            return handler(input);
          },
    );
    // Green serves (the cutover itself is done); the topology keeps the later change.
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path).toEqual(
      expect.arrayContaining([
        'FinishCutover',
        'RecordTopology',
        'NotifyTopologyNotRecorded',
        'Succeeded',
      ]) as unknown,
    );
    expect(s.notifications.map((n) => n.Subject)).toEqual([
      'URGENT: blue-green migration done, but the topology still names blue',
    ]);
    expect(s.notifications[0]?.Message).toContain('TopologyChanged');
    expect(await topologyOf()).toMatchObject({
      generation: 2,
      writer: { instanceIdentifier: 'pg-dr-other' },
    });
    // The records follow the topology, not the last flip: a deploy that rewrites them answers its writer.
    s.world.redeploy({ ...TEST_CONFIG, recordTtlSeconds: 30 });
    expect(s.dns.value).toBe('other.example.internal');
  });

  it('starts the DR rebuild after the cutover when asked, named after the migration, and does not wait', async () => {
    const s = await scenario();
    const result = await s.run(
      { rebuildDr: true, greenInstanceIdentifier: 'green', drReplicaInstanceIdentifier: 'green-dr' },
      {},
      {},
      'migrate-42',
    );

    expect(result.status).toBe('SUCCEEDED');
    const [started, ...others] = s.drRebuilds();
    expect(others).toEqual([]);
    expect(started?.executionArn).toMatch(/:execution:pg-dr-dr-rebuild:migrate-42$/);
    expect(started?.input).toEqual({
      sourceInstanceIdentifier: 'green',
      replicaInstanceIdentifier: 'green-dr',
      dns: {
        hostedZoneId: s.input.dns.hostedZoneId,
        recordName: s.input.dns.recordName,
        secondarySetIdentifier: s.input.dns.secondarySetIdentifier,
      },
      AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: result.executionArn,
    });
    expect(result.output).toMatchObject({
      status: 'cut-over',
      drDegraded: true,
      drRebuild: { executionArn: started?.executionArn },
    });
    const message = (result.output as { drMessage: string }).drMessage;
    expect(message).toContain('until the DR rebuild');
    // The advice that would replace the instances (a changed dr.database, redeployed) is gone.
    expect(message).not.toMatch(/update dr\.database|and redeploy/);
    expect(s.dns).toMatchObject({ value: GREEN_ENDPOINT, secondary: GREEN_ENDPOINT });
    expect(s.notifications).toEqual([]);

    // The started execution, run on its own: a replica of green in the DR region, recorded; SECONDARY then
    // answers what the topology says: green itself, as the writer is not the first deploy's primary (recordTargets).
    s.world.rds.addInstance({ id: 'green', region: 'us-west-2' });
    const rebuilt = await runInWorld({
      world: s.world,
      file: 'dr-rebuild.asl.json',
      stateMachineName: 'pg-dr-dr-rebuild',
      input: started?.input,
      execution: s.world.stepFunctions.executions.get(started?.executionArn ?? ''),
      waits: { WaitForRds: 0 },
    });
    expect(rebuilt.status).toBe('SUCCEEDED');
    expect(s.dns).toMatchObject({ value: GREEN_ENDPOINT, secondary: GREEN_ENDPOINT });
    expect(s.world.rds.instance('us-east-1', 'green-dr')?.status).toBe('available');
    expect(s.world.sns.published.map((n) => n.subject)).toEqual([
      'DR rebuilt: the writer has a cross-region replica again',
    ]);
  });

  it('pages URGENT when SECONDARY cannot be repointed after the cutover, and still starts the DR rebuild', async () => {
    const s = await scenario();
    const result = await s.run(
      { rebuildDr: true, greenInstanceIdentifier: 'green', drReplicaInstanceIdentifier: 'green-dr' },
      {
        RepointSecondary: () => {
          throw new DnsFlipError('DnsChangeNotInSync', 'change C1 is still PENDING after 600 s');
        },
      },
    );
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path).toEqual(
      expect.arrayContaining([
        'RecordTopology',
        'RepointSecondary',
        'NotifySecondaryNotRepointed',
        'StartDrRebuild',
      ]),
    );
    // The cutover stands (PRIMARY on green, green recorded); SECONDARY still answers the replica of blue, and
    // on-call is told what that risks and what to point it at.
    expect(s.dns).toMatchObject({ value: GREEN_ENDPOINT, secondary: OLD_REPLICA });
    expect((await topologyOf()).writer.endpoint).toBe(GREEN_ENDPOINT);
    expect(s.notifications.map((n) => n.Subject)).toEqual([
      "URGENT: blue-green migration done, but SECONDARY still answers blue's replica",
    ]);
    expect(s.notifications[0]?.Message).toContain('DnsChangeNotInSync');
    expect(s.notifications[0]?.Message).toContain(`point SECONDARY at ${GREEN_ENDPOINT} by hand`);
    expect(s.drRebuilds()).toHaveLength(1);
  });

  it('pages and still reports the cutover when the DR rebuild cannot start (its role may not start it: AccessDeniedException)', async () => {
    const s = await scenario();
    const machine = s.world.iam.principalOfArn(s.world.stateMachineArn('pg-dr-blue-green-migration'));
    if (machine === undefined) throw new Error('no workflow role');
    s.world.iam.withoutAction(machine, 'states:StartExecution');
    const result = await s.run({
      rebuildDr: true,
      greenInstanceIdentifier: 'green',
      drReplicaInstanceIdentifier: 'green-dr',
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path.slice(-2)).toEqual(['NotifyDrRebuildNotStarted', 'Succeeded']);
    expect(s.notifications[0]?.Subject).toBe('Blue-green migration done, but the DR rebuild did not start');
    expect(s.notifications[0]?.Message).toContain('AccessDeniedException');
    expect(result.output).toMatchObject({ status: 'cut-over', drDegraded: true });
    expect(s.dns).toMatchObject({ value: GREEN_ENDPOINT, secondary: GREEN_ENDPOINT });
    expect(s.drRebuilds()).toEqual([]);
  });

  it('refuses a private hosted zone before touching anything (TestDNSAnswer, which confirms the flip, answers public zones only)', async () => {
    const s = await scenario();
    const zone = s.world.route53.zones.get(s.input.dns.hostedZoneId);
    if (zone === undefined) throw new Error('no zone');
    Object.assign(zone, { private: true });
    const result = await s.run();
    expect(result.path).toEqual(['ValidateInput', 'NotifyInvalidInput', 'MigrationFailed']);
    expect(s.notifications[0]?.Message).toContain('supports public hosted zones only');
    expect(s.dns.upserts).toEqual([]);
  });

  it('rejects a malformed input before touching anything, and says which fields', async () => {
    const s = await scenario();
    const result = await s.run({ dns: undefined, blue: { secretId: 'postgresql://u:Leaked-pw@h/db' } });
    expect(result.path).toEqual(['ValidateInput', 'NotifyInvalidInput', 'MigrationFailed']);
    expect(s.notifications[0]?.Subject).toBe('Blue-green migration rejected: invalid input');
    expect(s.notifications[0]?.Message).toContain(
      'blue.secretId must be a Secrets Manager secret ARN or name',
    );
    expect(s.notifications[0]?.Message).toContain('dns is required');
    expect(s.notifications[0]?.Message).not.toContain('Leaked-pw');
    expect(s.dns.upserts).toEqual([]);
  });

  it('plans on a dry run and writes nothing anywhere', async () => {
    const s = await scenario();
    const result = await s.run({ dryRun: true });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({
      status: 'dry-run',
      plan: { plan: { pending: ['20240201000000_index_orders_created_at'], blocked: false } },
    });
    expect(await s.query(h.green, 'SELECT count(*)::int AS n FROM _prisma_migrations')).toEqual([{ n: 2 }]);
    expect(s.dns.upserts).toEqual([]);
    expect(result.path).not.toContain('Migrate');
  });

  it('stops before anything when green is unreachable, and tells on-call which step failed', async () => {
    const s = await scenario();
    await h.green.stop();
    try {
      const result = await s.run();
      expect(result.status).toBe('FAILED');
      expect(result.path.at(-1)).toBe('MigrationFailed');
      expect(s.notifications).toHaveLength(1);
      expect(s.notifications[0]?.Subject).toBe('Blue-green migration failed: blue still serves');
      expect(s.notifications[0]?.Message).toContain(
        'failed at the connectivity check step: DatabaseUnreachable',
      );
      expect(s.dns.upserts).toEqual([]);
    } finally {
      await h.green.restart();
    }
  });

  it('stops at a failing migration with blue untouched and serving', async () => {
    const s = await scenario();
    await execute(h.green, s.database, 'CREATE TABLE "order_created_at_idx" (x int)');
    const result = await s.run();
    expect(result.status).toBe('FAILED');
    expect(s.notifications[0]?.Message).toContain('failed at the migrate step: MigrationFailed');
    expect(s.dns.upserts).toEqual([]);
    await s.query(h.blue, "INSERT INTO account (email) VALUES ('still-writable@example.org')");
  });

  it('stops when verification finds green out of line with blue', async () => {
    const s = await scenario();
    await execute(
      h.green,
      s.database,
      "INSERT INTO account (id, email) VALUES (1000, 'only-on-green@example.org')",
    );
    const result = await s.run();
    expect(result.status).toBe('FAILED');
    expect(s.notifications[0]?.Message).toContain('failed at the verify step: VerificationFailed');
    expect(s.notifications[0]?.Message).toContain('rows:public.account (green 21, blue 20');
    expect(s.dns.upserts).toEqual([]);
  });

  it('stops when the smoke test fails before the cutover', async () => {
    const s = await scenario();
    h.smokeApp.status = 503;
    const result = await s.run();
    expect(result.status).toBe('FAILED');
    expect(s.notifications[0]?.Message).toContain('failed at the smoke test step: SmokeTestFailed');
    expect(s.dns.upserts).toEqual([]);
  }, 120_000);

  it('refuses an unsynchronized flip unless the input accepts it', async () => {
    const s = await scenario();
    await execute(
      h.green,
      s.database,
      `ALTER SUBSCRIPTION ${s.subscription} DISABLE`,
      `ALTER SUBSCRIPTION ${s.subscription} SET (slot_name = NONE)`,
      `DROP SUBSCRIPTION ${s.subscription}`,
    );
    const refused = await s.run();
    expect(refused.status).toBe('FAILED');
    expect(s.notifications[0]?.Message).toContain(
      'failed at the synchronization check step: NotSynchronized',
    );
    expect(s.dns.upserts).toEqual([]);
  });

  it('aborts and unfences blue when green stops applying during the fence', async () => {
    const s = await scenario();
    // Green stalls right as blue is fenced: its apply worker blocks on the barrier row. (The session opens
    // after PrepareCutover, whose fence on green would end an earlier one.)
    const result = await s.run(
      { catchUpTimeoutMs: 500 },
      {
        FenceBlueAndCatchUp: async (input: never) => {
          const stall = new Client(h.green.clientConfig(s.database));
          stall.on('error', () => undefined);
          await stall.connect();
          await stall.query('BEGIN');
          await stall.query('LOCK TABLE dr_cutover_barrier IN ACCESS EXCLUSIVE MODE');
          try {
            return await s.steps.cutover(input);
          } finally {
            await stall.query('ROLLBACK');
            await stall.end();
          }
        },
      },
    );
    expect(result.status).toBe('FAILED');
    expect(s.notifications[0]?.Message).toContain('failed at the fence and catch-up step: CatchUpTimeout');
    expect(result.path).toContain('AbortCutover');
    expect(s.dns.upserts).toEqual([]);
    await s.query(h.blue, "INSERT INTO account (email) VALUES ('unfenced@example.org')");
  });

  it('aborts in the fenced window when green diverged after verify: GreenDiverged, blue unfenced, nothing flipped', async () => {
    const s = await scenario();
    const result = await s.run(
      {},
      {
        FenceBlueAndCatchUp: async (input: never) => {
          // Green loses a row it had applied (through its fence, as a stray process could) after verify ran.
          const stray = new Client(h.green.clientConfig(s.database));
          stray.on('error', () => undefined);
          await stray.connect();
          try {
            await stray.query('SET default_transaction_read_only = off');
            await stray.query('DELETE FROM "order" WHERE id = (SELECT max(id) FROM "order")');
          } finally {
            await stray.end();
          }
          return s.steps.cutover(input);
        },
      },
    );
    expect(result.status).toBe('FAILED');
    expect(s.notifications[0]?.Message).toContain('failed at the fence and catch-up step: GreenDiverged');
    expect(s.notifications[0]?.Message).toMatch(/public\.order: green 19, blue 20: green is missing rows/);
    expect(result.path).toContain('AbortCutover');
    expect(s.dns.upserts).toEqual([]);
    await s.query(h.blue, "INSERT INTO account (email) VALUES ('unfenced-after-divergence@example.org')");
  });

  it("refuses at blue's connectivity check a published table without a replica identity, naming the fix", async () => {
    const s = await scenario();
    await execute(
      h.blue,
      s.database,
      'CREATE TABLE "_AccountToTag" ("A" bigint NOT NULL, "B" bigint NOT NULL)',
      'CREATE UNIQUE INDEX "_AccountToTag_AB_unique" ON "_AccountToTag"("A", "B")',
      `ALTER PUBLICATION pub_${s.database} ADD TABLE "_AccountToTag"`,
    );
    try {
      const result = await s.run();
      expect(result.status).toBe('FAILED');
      expect(s.notifications[0]?.Message).toContain(
        'failed at the connectivity check step: ReplicationNotReady',
      );
      expect(s.notifications[0]?.Message).toContain('REPLICA IDENTITY USING INDEX "_AccountToTag_AB_unique"');
      expect(s.dns.upserts).toEqual([]);
    } finally {
      await execute(h.blue, s.database, 'DROP TABLE "_AccountToTag"');
    }
  });

  it('rolls DNS back to blue and unfences it when the flip fails', async () => {
    const s = await scenario();
    s.dns.failChanges = true;
    const result = await s.run();
    expect(result.status).toBe('FAILED');
    expect(result.path).toEqual(
      expect.arrayContaining([
        'FlipDns',
        'RollbackDns',
        'AbortCutoverAfterRollback',
        'NotifyFailureAfterRollback',
      ]) as unknown,
    );
    expect(s.notifications[0]?.Subject).toBe(
      'Blue-green migration failed after the DNS flip: rolled back to blue',
    );
    expect(s.dns.value).toBe(BLUE_ENDPOINT);
    await s.query(h.blue, "INSERT INTO account (email) VALUES ('back-on-blue@example.org')");
    // Blue stays the writer of record.
    expect(await topologyOf()).toMatchObject({ generation: 1, writer: { endpoint: BLUE_ENDPOINT } });
  });

  it('rolls DNS back to blue when the final smoke test fails after the flip', async () => {
    const s = await scenario();
    h.smokeApp.respond = (hit) => (hit === 1 ? 200 : 500);
    const result = await s.run();
    expect(result.status).toBe('FAILED');
    expect(s.notifications[0]?.Message).toContain('failed at the final smoke test step: SmokeTestFailed');
    expect(s.dns.upserts).toEqual([GREEN_ENDPOINT, BLUE_ENDPOINT]);
    expect(s.dns.value).toBe(BLUE_ENDPOINT);
    // Green was fenced throughout, so nothing was written there that blue lacks; blue takes writes again.
    await s.query(h.blue, "INSERT INTO account (email) VALUES ('after-rollback@example.org')");
  }, 120_000);
});
