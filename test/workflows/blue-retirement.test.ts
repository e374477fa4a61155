import { runInWorld } from '../../lib/local-aws/workflow';
import { drNames } from '../../lib/names';
import { testConfig } from '../infra/test-config';
import { afterCutoverTo, RECORD, testWorld, ZONE } from '../support/world';

const NAMES = drNames(testConfig());
const ACCOUNT = '111122223333';
const BLUE = 'pg-dr-green-old';
const REPLICA = `${BLUE}-dr`;

/**
 * Blue's retirement through the deployed ASL in the local world (simulated RDS, IAM from the synthesized roles):
 * its DR replica first, deletion protection off, the delete with a final snapshot (or the stop after one), and
 * the refusals that touch nothing. The way back's end on real PostgreSQL is test/workflows/way-back.test.ts's.
 */
describe('blue retirement (workflow, local world)', () => {
  function scenario(
    options: {
      writer?: string;
      replicaTags?: { Key: string; Value: string }[];
      realEndWayBack?: boolean;
    } = {},
  ) {
    const world = testWorld();
    world.rds.addInstance({
      id: BLUE,
      region: 'us-west-2',
      tags: [{ Key: 'pg-dr:provisioned-by', Value: 'pg-dr' }],
      details: { DeletionProtection: true },
    });
    world.rds.addInstance({
      id: REPLICA,
      region: 'us-east-1',
      source: `arn:aws:rds:us-west-2:${ACCOUNT}:db:${BLUE}`,
      tags: options.replicaTags ?? [{ Key: 'pg-dr:role', Value: 'dr-replica' }],
      details: { DeletionProtection: true },
    });
    // Blue's own secret, as green provisioning made it: in the orchestration region, replicated to the other.
    world.secrets.add({
      name: `pg-dr/${BLUE}`,
      primaryRegion: 'us-east-1',
      replicas: { 'us-west-2': undefined },
      versions: { AWSCURRENT: '{"username":"postgres","password":"x"}' },
    });
    const notified: { subject: string; message: string }[] = [];
    const ended: unknown[] = [];
    const run = async (environment: Record<string, string> = {}) => {
      await afterCutoverTo({
        instanceIdentifier: options.writer ?? 'pg-dr-green-new',
        endpoint: 'pg-dr-green-new.local',
      });
      return runInWorld({
        world,
        file: 'blue-retirement.asl.json',
        stateMachineName: NAMES.blueRetirementStateMachine,
        input: {
          instanceIdentifier: BLUE,
          writerInstanceIdentifier: 'pg-dr-green-new',
          retiring: { secretId: 'pg-dr/pg-dr-green-old' },
          writer: { secretId: 'pg-dr/pg-dr-green-new' },
          retiringEndpoint: 'pg-dr-green-old.local',
          writerEndpoint: 'pg-dr-green-new.local',
          wayBack: { replicationSecretId: 'pg-dr/replication' },
          dns: {
            hostedZoneId: ZONE,
            recordName: RECORD,
            setIdentifier: `${RECORD}-primary`,
            secondarySetIdentifier: `${RECORD}-secondary`,
          },
          catchUpTimeoutMs: 5000,
        },
        // The way back's end needs databases (way-back.test.ts runs it on real PostgreSQL).
        handlers:
          options.realEndWayBack === true
            ? {}
            : {
                EndWayBack: (input: never) => {
                  ended.push(input);
                  return {
                    superseded: false,
                    blueReached: true,
                    subscriptionDropped: true,
                    slotDroppedOnWriter: false,
                    publicationDropped: true,
                  };
                },
              },
        waits: { WaitForWindow: 0, WaitForRds: 0 },
        retryIntervals: { PlanRetirement: 1, Retire: 1, EndWayBack: 1 },
        environment,
        onNotify: (_state, n) => notified.push({ subject: n.Subject ?? '', message: n.Message ?? '' }),
      });
    };
    const rdsCalls = (operation: string) =>
      world.aws.calls.filter((c) => c.operation === operation && c.error === undefined).map((c) => c.input);
    return { world, run, notified, ended, rdsCalls };
  }

  it('deletes the DR replica, then blue with a final snapshot, keeping its automated backups', async () => {
    const s = scenario();
    try {
      const result = await s.run();
      expect({ status: result.status, error: result.error }).toEqual({
        status: 'SUCCEEDED',
        error: undefined,
      });
      expect(result.path).toEqual(
        expect.arrayContaining(['WaitForWindow', 'EndWayBack', 'Retire', 'NotifyRetired']),
      );
      expect(s.ended).toHaveLength(1);
      expect(s.world.rds.instance('us-east-1', REPLICA)).toBeUndefined();
      expect(s.world.rds.instance('us-west-2', BLUE)).toBeUndefined();
      expect(s.rdsCalls('DeleteDBInstance')).toEqual([
        { DBInstanceIdentifier: REPLICA, SkipFinalSnapshot: true, DeleteAutomatedBackups: true },
        {
          DBInstanceIdentifier: BLUE,
          SkipFinalSnapshot: false,
          FinalDBSnapshotIdentifier: expect.stringMatching(
            /^pg-dr-green-old-retired-\d{8}t\d{4}$/,
          ) as unknown,
          DeleteAutomatedBackups: false,
        },
      ]);
      expect([...s.world.rds.snapshots.values()].map((x) => x.instance)).toEqual([BLUE]);
      // Its secret: the replica removed, then the secret scheduled for deletion (restorable for 30 days).
      expect(s.world.secrets.secret(`pg-dr/${BLUE}`)).toMatchObject({
        replicas: {},
        scheduledForDeletion: true,
      });
      expect(s.notified.map((n) => n.subject)).toEqual(['Blue retired']);
    } finally {
      s.world.close();
    }
  }, 60_000);

  it('stops blue after a snapshot when so configured (its replica deleted first: RDS stops no source)', async () => {
    const s = scenario();
    try {
      const result = await s.run({ RETIRE_ACTION: 'stop' });
      expect({ status: result.status, error: result.error }).toEqual({
        status: 'SUCCEEDED',
        error: undefined,
      });
      expect(s.world.rds.instance('us-east-1', REPLICA)).toBeUndefined();
      expect(s.world.rds.instance('us-west-2', BLUE)?.status).toBe('stopped');
      // A stopped blue keeps its secret (RDS starts it again after seven days).
      expect(s.world.secrets.secret(`pg-dr/${BLUE}`)?.scheduledForDeletion).toBeUndefined();
      expect(s.rdsCalls('StopDBInstance')).toHaveLength(1);
      expect([...s.world.rds.snapshots.values()].map((x) => x.instance)).toEqual([BLUE]);
    } finally {
      s.world.close();
    }
  }, 60_000);

  it('ends as superseded, touching nothing, a retirement of the writer the topology names', async () => {
    // The real way-back step: it reads the topology first, and connects to nothing for the writer.
    const s = scenario({ writer: BLUE, realEndWayBack: true });
    try {
      const result = await s.run();
      expect({ status: result.status, error: result.error }).toEqual({
        status: 'SUCCEEDED',
        error: undefined,
      });
      expect(result.path).toEqual(expect.arrayContaining(['EndWayBack', 'Superseded']));
      expect(result.path).not.toContain('Retire');
      expect(result.output).toEqual({ status: 'superseded', instance: BLUE });
      expect(s.notified.map((n) => n.subject)).toEqual(['Blue retirement superseded']);
      for (const operation of [
        'DeleteDBInstance',
        'ModifyDBInstance',
        'StopDBInstance',
        'DescribeDBInstances',
      ])
        expect({ operation, calls: s.rdsCalls(operation) }).toEqual({ operation, calls: [] });
      expect(s.world.rds.instance('us-west-2', BLUE)).toBeDefined();
    } finally {
      s.world.close();
    }
  }, 60_000);

  it('keeps a blue with a read replica the DR rebuild did not make, naming it, and deletes nothing', async () => {
    const s = scenario({ replicaTags: [] });
    try {
      const result = await s.run();
      expect({ status: result.status, error: result.error }).toEqual({
        status: 'SUCCEEDED',
        error: undefined,
      });
      expect(result.path).toEqual(expect.arrayContaining(['EndWayBack', 'NotifyKept']));
      expect(s.notified.map((n) => n.subject)).toEqual(['Way back ended; blue kept']);
      expect(s.notified[0]?.message).toContain(`has a read replica ${REPLICA} (us-east-1)`);
      expect(s.rdsCalls('DeleteDBInstance')).toEqual([]);
      expect(s.rdsCalls('ModifyDBInstance')).toEqual([]);
      expect(s.world.rds.instance('us-west-2', BLUE)).toBeDefined();
      expect(s.world.rds.instance('us-east-1', REPLICA)).toBeDefined();
    } finally {
      s.world.close();
    }
  }, 60_000);
});
