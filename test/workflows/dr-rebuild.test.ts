import { environmentOf } from '../../lib/local-aws/invoke';
import { runInWorld } from '../../lib/local-aws/workflow';
import { drNames } from '../../lib/names';
import { testConfig } from '../infra/test-config';
import { SSMClient } from '@aws-sdk/client-ssm';
import { changeTopology } from '../../lambdas/shared/topology-change';
import {
  afterCutoverTo,
  afterFailover,
  RECORD,
  testWorld,
  TOPOLOGY,
  topologyOf,
  ZONE,
} from '../support/world';

const NAMES = drNames(testConfig());
const FILE = 'dr-rebuild.asl.json';
const config = testConfig();

/**
 * The DR rebuild as the migration starts it, in the local world: the synthesized app's RDS (green in the primary
 * region, the DR parameter group in the DR region), its Route 53 failover pair, IAM from the step roles.
 */
function rebuild(
  options: { rds?: { createMs: number; modifyMs: number; rebootMs: number }; cutoverRecorded?: boolean } = {},
) {
  const world = testWorld(options.rds === undefined ? {} : { rds: options.rds });
  // The migration recorded green as the writer before it started the rebuild.
  const recorded =
    options.cutoverRecorded === false
      ? Promise.resolve()
      : afterCutoverTo({ instanceIdentifier: 'green', endpoint: 'green.local' }).then(() => undefined);
  world.rds.addInstance({ id: 'green', region: config.primaryRegion });
  const notified: { state: string; subject: string; message: string }[] = [];
  const input = {
    sourceInstanceIdentifier: 'green',
    replicaInstanceIdentifier: 'green-dr',
    dns: {
      hostedZoneId: ZONE,
      recordName: RECORD,
      secondarySetIdentifier: `${RECORD}-secondary`,
    },
  };
  const run = async (given: Record<string, unknown> = input) => {
    await recorded;
    return runInWorld({
      world,
      file: FILE,
      stateMachineName: NAMES.drRebuildStateMachine,
      input: given,
      waits: { WaitForRds: 0 },
      retryIntervals: {
        Advance: 0,
        RepointSecondary: 0,
        RecordReplica: 0,
        NotifyRebuilt: 0,
        RebuildFailed: 0,
        ReplicaNotRecorded: 0,
        ReadDrillPause: 0,
        ResumeDrillSchedule: 0,
        ClearDrillPause: 0,
        NotifyDrillNotResumed: 0,
      },
      onNotify: (state, published) =>
        notified.push({ state, subject: published.Subject ?? '', message: published.Message ?? '' }),
    });
  };
  const step = () => {
    const arn = world.substitutions(NAMES.drRebuildStateMachine).DrReplicaFunctionArn ?? '';
    const principal = world.iam.principalOfArn(arn);
    if (principal === undefined) throw new Error('no DR replica step in the app');
    const environment = environmentOf(world, arn);
    const placements = JSON.parse(environment.REPLICA_PLACEMENTS ?? '[]') as {
      region: string;
      parameterGroupName: string;
      kmsKeyArn: string;
    }[];
    const placementIn = (region: string) => placements.find((p) => p.region === region);
    return { principal, environment, placementIn };
  };
  return { world, run, notified, input, step };
}

/** The weekly drill's schedule as a region failover leaves it: disabled, and tagged with the execution. */
async function pausedByFailover(world: ReturnType<typeof testWorld>, tagged = true) {
  const region = config.orchestrationRegion;
  await world.aws.call('events', 'DisableRule', { Name: NAMES.drillSchedule }, region);
  if (tagged)
    await world.aws.call(
      'events',
      'TagResource',
      {
        ResourceARN: `arn:aws:events:${region}:${world.account}:rule/${NAMES.drillSchedule}`,
        Tags: [{ Key: 'pg-dr:drill-paused-by', Value: 'failover-1' }],
      },
      region,
    );
  return () => world.events.rules.get(`${region}/${NAMES.drillSchedule}`);
}

describe('DR rebuild, in the local world (its own execution, started by the migration)', () => {
  it('builds a replica of green, attaches the DR parameters, reboots it, records it and tells on-call; SECONDARY keeps answering green', async () => {
    const r = rebuild();
    try {
      const result = await r.run();
      expect(result.error).toBeUndefined();
      expect(result.status).toBe('SUCCEEDED');
      const replica = r.world.rds.instance(config.secondaryRegion, 'green-dr');
      expect(replica).toMatchObject({
        source: `arn:aws:rds:${config.primaryRegion}:${r.world.account}:db:green`,
        parameterGroup: r.step().placementIn(config.secondaryRegion)?.parameterGroupName,
        parameterApplyStatus: 'in-sync',
        status: 'available',
      });
      // Each round did one thing: created, attached the parameter group, rebooted, then found it ready.
      const rds = r.world.aws.calls.filter((c) => c.service === 'rds').map((c) => c.operation);
      expect(rds.filter((o) => o !== 'DescribeDBInstances')).toEqual([
        'CreateDBInstanceReadReplica',
        'ModifyDBInstance',
        'RebootDBInstance',
        // Then green's automated backups replicated to the DR region, asked there (a green starts without).
        'StartDBInstanceAutomatedBackupsReplication',
      ]);
      expect(
        r.world.rds.automatedBackups.map((b) => [b.instanceIdentifier, b.sourceRegion, b.region, b.status]),
      ).toContainEqual(['green', config.primaryRegion, config.secondaryRegion, 'replicating']);
      // The health checks were deployed watching blue, not green: SECONDARY answers green too (recordTargets), never a
      // read-only replica because a retired database's check failed.
      expect(r.world.route53.recordSet(RECORD, `${RECORD}-secondary`)?.ResourceRecords).toEqual([
        { Value: 'green.local' },
      ]);
      // PRIMARY is untouched.
      expect(r.world.route53.recordSet(RECORD, `${RECORD}-primary`)?.ResourceRecords[0]?.Value).not.toBe(
        replica?.endpoint,
      );
      expect(r.notified.map((n) => n.state)).toEqual(['NotifyRebuilt']);
      expect(r.notified[0]?.message).not.toMatch(/update dr\.database|and redeploy/);
      // The topology names the new replica: SECONDARY's target, and DR no longer degraded.
      expect(await topologyOf()).toMatchObject({
        generation: 3,
        writer: { instanceIdentifier: 'green', endpoint: 'green.local' },
        replica: {
          region: config.secondaryRegion,
          instanceIdentifier: 'green-dr',
          endpoint: replica?.endpoint,
        },
      });
      expect(r.world.ssm.value('us-east-1', '/pg-dr/topology/secondary-record')).toBe('green.local');
      expect(r.world.aws.calls.filter((c) => c.error === 'AccessDenied')).toEqual([]);
    } finally {
      r.world.close();
    }
  });

  it('carries on from the replica an earlier, failed execution left behind (same input, started again)', async () => {
    const r = rebuild();
    try {
      r.world.rds.addInstance({
        id: 'green-dr',
        region: config.secondaryRegion,
        source: `arn:aws:rds:${config.primaryRegion}:${r.world.account}:db:green`,
      });
      const result = await r.run();
      expect(result.status).toBe('SUCCEEDED');
      expect(r.world.aws.calls.some((c) => c.operation === 'CreateDBInstanceReadReplica')).toBe(false);
    } finally {
      r.world.close();
    }
  });

  it('leaves an error that may pass (RDS throttling) to the next round instead of failing a long rebuild', async () => {
    const r = rebuild();
    try {
      let throttles = 4;
      r.world.aws.inject('rds', 'DescribeDBInstances', () =>
        throttles-- > 0 ? 'ThrottlingException' : undefined,
      );
      const result = await r.run();
      expect(result.status).toBe('SUCCEEDED');
      expect(result.path.slice(0, 4)).toEqual(['StartRounds', 'Advance', 'CountRound', 'IsOutOfRounds']);
    } finally {
      r.world.close();
    }
  });

  it('fails as AWS would when the step role lacks rds:ModifyDBInstance, and pages with the cause', async () => {
    const r = rebuild();
    try {
      r.world.iam.withoutAction(r.step().principal, 'rds:ModifyDBInstance');
      const result = await r.run();
      expect(result.status).toBe('FAILED');
      expect(result.path.slice(-2)).toEqual(['RebuildFailed', 'NotRebuilt']);
      const denied = r.world.aws.calls.filter((c) => c.error === 'AccessDenied');
      expect(denied.map((c) => `${c.service}:${c.operation} ${c.error ?? ''}`)).toEqual([
        'rds:ModifyDBInstance AccessDenied',
      ]);
      expect(r.notified[0]?.subject).toBe('DR rebuild failed: DR may still be degraded');
      expect(r.notified[0]?.message).toContain('not authorized to perform: rds:ModifyDBInstance');
      expect(r.notified[0]?.message).toContain('start the DR rebuild again with the same input');
      // SECONDARY still names the old replica.
      expect(r.world.route53.recordSet(RECORD, `${RECORD}-secondary`)?.ResourceRecords[0]?.Value).toContain(
        'pg-dr-replica',
      );
    } finally {
      r.world.close();
    }
  });

  it('gives up after its bounded rounds when RDS never finishes, and pages', async () => {
    const r = rebuild({ rds: { createMs: 1e9, modifyMs: 0, rebootMs: 0 } });
    try {
      const result = await r.run();
      expect(result.status).toBe('FAILED');
      expect(result.path.filter((s) => s === 'Advance')).toHaveLength(576);
      expect(r.notified[0]?.message).toContain('DrReplicaNotReady');
    } finally {
      r.world.close();
    }
  });

  it('creates nothing for a database the topology does not name as the writer (a stale rebuild), and pages', async () => {
    // A stale rebuild: the topology still names the first primary (no cutover to green was recorded).
    const r = rebuild({ cutoverRecorded: false });
    try {
      const result = await r.run();
      expect(result.status).toBe('FAILED');
      expect(result.path).toEqual(['StartRounds', 'Advance', 'RebuildFailed', 'NotRebuilt']);
      expect(r.notified.map((n) => n.state)).toEqual(['RebuildFailed']);
      expect(r.notified[0]?.message).toContain('TopologyChanged');
      expect(r.notified[0]?.message).toContain("the topology's writer is pg-dr-primary");
      expect(r.world.aws.calls.some((c) => c.operation === 'CreateDBInstanceReadReplica')).toBe(false);
      expect(await topologyOf()).toMatchObject({
        generation: 1,
        replica: { instanceIdentifier: 'pg-dr-replica' },
      });
    } finally {
      r.world.close();
    }
  });

  it('re-protects after a failover: a replica of the promoted writer in the home region, on its placement, recorded', async () => {
    const r = rebuild({ cutoverRecorded: false });
    try {
      const failedOver = await afterFailover();
      const schedule = await pausedByFailover(r.world);
      const writer = failedOver.writer;
      // The failover promoted it with backups on (RDS refuses a replica of a source without them).
      Object.assign(r.world.rds.instance(config.secondaryRegion, writer.instanceIdentifier) ?? {}, {
        source: undefined,
        backupRetentionPeriod: 7,
      });
      const result = await r.run({
        ...r.input,
        sourceInstanceIdentifier: writer.instanceIdentifier,
        replicaInstanceIdentifier: 'home-g2',
      });
      expect(result.status).toBe('SUCCEEDED');
      const replica = r.world.rds.instance(config.primaryRegion, 'home-g2');
      const home = r.step().placementIn(config.primaryRegion);
      expect(replica).toMatchObject({
        source: `arn:aws:rds:${config.secondaryRegion}:${r.world.account}:db:${writer.instanceIdentifier}`,
        parameterGroup: home?.parameterGroupName,
        kmsKeyId: home?.kmsKeyArn,
        status: 'available',
      });
      expect(await topologyOf()).toMatchObject({
        generation: 3,
        writer: { instanceIdentifier: writer.instanceIdentifier, region: config.secondaryRegion },
        replica: { instanceIdentifier: 'home-g2', region: config.primaryRegion, endpoint: replica?.endpoint },
      });
      // Both records answer the promoted writer: the health checks watch the retired primary.
      expect(r.world.route53.recordSet(RECORD, `${RECORD}-secondary`)?.ResourceRecords).toEqual([
        { Value: writer.endpoint },
      ]);
      // The writer is still away from home: no failback yet, the drill stays paused.
      expect(schedule()?.state).toBe('DISABLED');
      expect(schedule()?.tags?.get('pg-dr:drill-paused-by')).toBe('failover-1');
      expect(result.path).not.toContain('ReadDrillPause');
      expect(r.world.aws.calls.filter((c) => c.error === 'AccessDenied')).toEqual([]);
    } finally {
      r.world.close();
    }
  });

  it('completing a failback (a writer at home gets its replica) resumes the weekly drill a region failover paused, and only that one', async () => {
    const r = rebuild();
    try {
      const schedule = await pausedByFailover(r.world);
      const result = await r.run();
      expect(result.status).toBe('SUCCEEDED');
      expect(result.path).toEqual(
        expect.arrayContaining([
          'IsFailbackDone',
          'ReadDrillPause',
          'ResumeDrillSchedule',
          'ClearDrillPause',
        ]),
      );
      expect(schedule()?.state).toBe('ENABLED');
      expect(schedule()?.tags?.has('pg-dr:drill-paused-by')).toBe(false);
      expect(r.world.aws.calls.filter((c) => c.service === 'events' && c.error !== undefined)).toEqual([]);
    } finally {
      r.world.close();
    }
    // A schedule a person disabled carries no mark: it stays disabled.
    const again = rebuild();
    try {
      const schedule = await pausedByFailover(again.world, false);
      const result = await again.run();
      expect(result.status).toBe('SUCCEEDED');
      expect(result.path).not.toContain('ResumeDrillSchedule');
      expect(schedule()?.state).toBe('DISABLED');
    } finally {
      again.world.close();
    }
  });

  it('pages, and still ends rebuilt, when the drill it should resume cannot be enabled', async () => {
    const r = rebuild();
    try {
      const schedule = await pausedByFailover(r.world);
      r.world.aws.inject('events', 'EnableRule', () => 'InternalException');
      const result = await r.run();
      expect(result.status).toBe('SUCCEEDED');
      expect(schedule()?.state).toBe('DISABLED');
      expect(r.notified.map((n) => n.state)).toEqual(['NotifyDrillNotResumed', 'NotifyRebuilt']);
      expect(r.notified[0]?.message).toContain(`aws events enable-rule --name ${NAMES.drillSchedule}`);
    } finally {
      r.world.close();
    }
  });

  it('points SECONDARY at the new replica when the writer is the database the health checks watch', async () => {
    const r = rebuild({ cutoverRecorded: false });
    try {
      // The first primary lost its replica (recorded as none): it is re-protected in the DR region.
      const first = await topologyOf();
      await changeTopology(new SSMClient({ region: 'us-east-1' }), TOPOLOGY, {
        expectedGeneration: 1,
        changedBy: 'test: the replica was lost',
        now: new Date(),
        next: (t) => ({ writer: t.writer, replica: null, retired: [] }),
      });
      const result = await r.run({
        ...r.input,
        sourceInstanceIdentifier: first.writer.instanceIdentifier,
        replicaInstanceIdentifier: 'primary-dr-2',
      });
      expect(result.status).toBe('SUCCEEDED');
      const replica = r.world.rds.instance(config.secondaryRegion, 'primary-dr-2');
      expect(r.world.route53.recordSet(RECORD, `${RECORD}-secondary`)?.ResourceRecords).toEqual([
        { Value: replica?.endpoint },
      ]);
    } finally {
      r.world.close();
    }
  });
});
