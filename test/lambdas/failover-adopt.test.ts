import { RDSClient } from '@aws-sdk/client-rds';
import { planAdoption } from '../../lambdas/failover/adopt';
import { measureAdoption } from '../../lambdas/failover/measure';
import { takeCurrentPassword } from '../../lambdas/failover/open-writer';
import { withConnection, type ConnectionSettings, type DatabaseRef } from '../../lambdas/shared/database';
import {
  RESTORE_POINT_TAG,
  RESTORE_TEST_ROLE,
  RESTORED_FROM_TAG,
} from '../../lambdas/shared/provisioning-tags';
import type { Topology } from '../../lambdas/shared/topology-schema';
import { RdsSimulator } from '../../lib/local-aws/rds';
import { LocalAws } from '../../lib/local-aws/world';
import { PostgresServer } from '../support/postgres';
import { execute } from '../support/replication';

const OPTIONS = { connectTimeoutMs: 5000, statementTimeoutMs: 5000, applicationName: 'test' };

const ACCOUNT = '111122223333';
const REGIONS = ['us-west-2', 'us-east-1'];
const POINT = '2026-11-30T17:00:00.000Z';
const TAGS = [
  { Key: RESTORED_FROM_TAG, Value: 'pg-dr-green' },
  { Key: RESTORE_POINT_TAG, Value: POINT },
];

/** A writer (a cut-over green, opened by its own secret) with its replica; blue retired. */
const TOPOLOGY: Topology = {
  generation: 5,
  writer: {
    region: 'us-west-2',
    instanceIdentifier: 'pg-dr-green',
    endpoint: 'green.internal',
    secretId: 'pg-dr/green-1',
  },
  replica: {
    region: 'us-east-1',
    instanceIdentifier: 'pg-dr-replica',
    endpoint: 'replica.internal',
    secretId: 'pg-dr/green-1',
  },
  retired: [{ region: 'us-west-2', instanceIdentifier: 'pg-dr-primary', endpoint: 'blue.internal' }],
  changedBy: 'test',
};

function rdsWorld() {
  const rds = new RdsSimulator(ACCOUNT);
  const aws = new LocalAws({ account: ACCOUNT, simulators: [rds] });
  const undo = aws.install();
  const plan = (id: string, topology: Topology = TOPOLOGY) =>
    planAdoption((region) => new RDSClient({ region }), REGIONS, topology, id);
  return { rds, undo, plan };
}

describe('planning the adoption of a restored instance', () => {
  it('takes an instance dr restore made, with its endpoint, its source’s secret, and the replica that leaves', async () => {
    const w = rdsWorld();
    try {
      w.rds.addInstance({
        id: 'pg-dr-restored',
        region: 'us-east-1',
        endpoint: 'restored.internal',
        port: 5433,
        tags: TAGS,
        details: { InstanceCreateTime: '2026-11-30T18:20:00.000Z' },
      });
      await expect(w.plan('pg-dr-restored')).resolves.toEqual({
        member: {
          region: 'us-east-1',
          instanceIdentifier: 'pg-dr-restored',
          endpoint: 'restored.internal',
          port: 5433,
          secretId: 'pg-dr/green-1',
        },
        restoredFrom: 'pg-dr-green',
        restorePoint: POINT,
        createdAt: '2026-11-30T18:20:00.000Z',
        formerReplica: 'pg-dr-replica',
      });
      // Restored from an instance the topology does not name: the master secret opens it (no secretId).
      w.rds.addInstance({
        id: 'pg-dr-restored-2',
        region: 'us-west-2',
        endpoint: 'restored-2.internal',
        tags: [
          { Key: RESTORED_FROM_TAG, Value: 'pg-dr-older' },
          { Key: RESTORE_POINT_TAG, Value: 'latest' },
        ],
      });
      const other = await w.plan('pg-dr-restored-2', { ...TOPOLOGY, replica: null });
      expect(other.member).not.toHaveProperty('secretId');
      expect(other).toMatchObject({ restorePoint: 'latest', formerReplica: null });
    } finally {
      w.undo();
    }
  });

  it('refuses, naming why, what it must not make the writer', async () => {
    const w = rdsWorld();
    try {
      const refused = (id: string, message: RegExp) =>
        expect(w.plan(id)).rejects.toMatchObject({
          name: 'NotAdoptable',
          message: expect.stringMatching(message) as string,
        });
      await refused('pg-dr-primary', /is a retired writer of the topology \(generation 5\)/);
      await refused('pg-dr-green', /is the writer of the topology/);
      await refused('pg-dr-none', /^no instance pg-dr-none in us-west-2 or us-east-1/);
      w.rds.addInstance({ id: 'twice', region: 'us-west-2', tags: TAGS });
      w.rds.addInstance({ id: 'twice', region: 'us-east-1', tags: TAGS });
      await refused(
        'twice',
        /names an instance in both us-west-2 and us-east-1: rename the one not to adopt/,
      );
      w.rds.addInstance({ id: 'untagged', region: 'us-east-1' });
      await refused('untagged', /has no pg-dr:restored-from tag/);
      w.rds.addInstance({
        id: 'throwaway',
        region: 'us-east-1',
        tags: [...TAGS, { Key: RESTORE_TEST_ROLE.key, Value: RESTORE_TEST_ROLE.value }],
      });
      await refused('throwaway', /a restore test's throwaway instance/);
      w.rds.addInstance({
        id: 'a-replica',
        region: 'us-east-1',
        tags: TAGS,
        source: `arn:aws:rds:us-west-2:${ACCOUNT}:db:pg-dr-green`,
      });
      await refused('a-replica', /is a read replica of/);
      w.rds.addInstance({ id: 'stopped', region: 'us-east-1', tags: TAGS, status: 'stopped' });
      await refused('stopped', /is stopped: adopt it once it is available/);
      w.rds.addInstance({
        id: 'bad-point',
        region: 'us-east-1',
        tags: [TAGS[0] as { Key: string; Value: string }, { Key: RESTORE_POINT_TAG, Value: 'yesterday' }],
      });
      await refused('bad-point', /its tags or endpoint are not what dr restore leaves \(restorePoint/);
    } finally {
      w.undo();
    }
  });
});

describe('planning an adoption while a region is lost', () => {
  it('adopts the instance the region that answers has, and refuses, naming it, when none answers with one', async () => {
    const w = rdsWorld();
    try {
      w.rds.addInstance({
        id: 'pg-dr-restored',
        region: 'us-east-1',
        endpoint: 'restored.internal',
        tags: TAGS,
      });
      // RDS in the writer's region fails (the region is lost): its answer must not be waited for forever.
      const lost = { send: () => Promise.reject(new Error('connect ETIMEDOUT')) };
      const rdsIn = (region: string) => (region === 'us-west-2' ? lost : new RDSClient({ region }));
      await expect(planAdoption(rdsIn, REGIONS, TOPOLOGY, 'pg-dr-restored')).resolves.toMatchObject({
        member: { region: 'us-east-1', instanceIdentifier: 'pg-dr-restored' },
      });
      await expect(planAdoption(rdsIn, REGIONS, TOPOLOGY, 'pg-dr-elsewhere')).rejects.toMatchObject({
        name: 'NotAdoptable',
        message:
          'no instance pg-dr-elsewhere found, and RDS did not answer in us-west-2 (connect ETIMEDOUT): start ' +
          'again once it does',
      });
    } finally {
      w.undo();
    }
  });
});

describe('measuring an adoption on a real server', () => {
  let writer: PostgresServer;
  let restored: PostgresServer;
  beforeAll(async () => {
    [writer, restored] = await Promise.all([
      PostgresServer.start({ name: 'adopt-writer' }),
      PostgresServer.start({ name: 'adopt-restored' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([writer.destroy(), restored.destroy()]);
  });

  const settings = (server: PostgresServer, password = server.password): ConnectionSettings => ({
    host: '127.0.0.1',
    port: server.port,
    database: 'postgres',
    user: server.user,
    password,
    ...(server.tls === undefined ? {} : { ca: server.tls.caCert }),
  });
  const member = (server: PostgresServer, id: string) => ({
    region: 'us-west-2',
    instanceIdentifier: id,
    endpoint: id === 'pg-dr-restored' ? 'restored.internal' : 'writer.internal',
    port: server.port,
    secretId: 'pg-dr/postgres-master',
  });
  const plan = () => ({
    writer: member(writer, 'pg-dr-primary'),
    replica: member(restored, 'pg-dr-restored'),
    adopt: {
      member: member(restored, 'pg-dr-restored'),
      restoredFrom: 'pg-dr-primary',
      restorePoint: POINT,
      createdAt: null,
      formerReplica: null,
    },
  });
  const request = {
    database: 'postgres',
    writerConnectTimeoutMs: 2000,
    now: new Date(Date.parse(POINT) + 90 * 60_000),
  };

  it('opens the restored instance by the previous version, and states the loss from its restore point', async () => {
    const secrets = {
      current: (ref: DatabaseRef) =>
        Promise.resolve(
          ref.host === 'writer.internal' ? settings(writer) : settings(restored, 'rotated-since'),
        ),
      previous: () => Promise.resolve(settings(restored)),
    };
    await expect(measureAdoption(secrets, plan(), request)).resolves.toEqual({
      writerReachable: true,
      writerWritable: true,
      alreadyPromoted: true,
      secretVersion: 'AWSPREVIOUS',
      window: {
        measuredBy: 'restore-point',
        bytesBehind: null,
        lastReplayedCommitAt: POINT,
        secondsSinceLastReplay: 5400,
        summary:
          `pg-dr-restored holds pg-dr-primary as of ${POINT} (90 min before this measurement): everything ` +
          'written to it after that is not in pg-dr-restored; pg-dr-primary still takes writes: copy what must ' +
          'be kept from it before it is retired',
      },
    });
  });

  it('gives the restored instance the current password as its master user, a role that is no superuser (as on RDS)', async () => {
    // The RDS master user is no superuser: it may change its own password, and nothing else's.
    await execute(
      restored,
      'postgres',
      "DROP ROLE IF EXISTS app_master; CREATE ROLE app_master LOGIN CREATEDB CREATEROLE PASSWORD 'restore-point-1'",
    );
    const as = (password: string): ConnectionSettings => ({
      ...settings(restored, password),
      user: 'app_master',
    });
    const secrets = {
      current: () => Promise.resolve(as('current-2')),
      previous: () => Promise.resolve(as('restore-point-1')),
    };
    const ref = { secretId: 'pg-dr/postgres-master', host: 'restored.internal', database: 'postgres' };
    await expect(takeCurrentPassword(secrets, ref)).resolves.toBe(true);
    // Now the current version opens it, and the restore point's no longer does; again, nothing to change.
    await expect(withConnection(as('current-2'), OPTIONS, () => Promise.resolve('opened'))).resolves.toBe(
      'opened',
    );
    await expect(
      withConnection(as('restore-point-1'), OPTIONS, () => Promise.resolve('opened')),
    ).rejects.toMatchObject({
      kind: 'auth_failed',
    });
    await expect(takeCurrentPassword(secrets, ref)).resolves.toBe(false);
  });

  it('refuses a restored instance whose secret has no previous version to try, saying what to do', async () => {
    const secrets = {
      current: (ref: DatabaseRef) =>
        Promise.resolve(ref.host === 'writer.internal' ? settings(writer) : settings(restored, 'wrong-1')),
      previous: () =>
        Promise.reject(
          Object.assign(
            new Error("Secrets Manager can't find the specified secret value for staging label"),
            {
              name: 'ResourceNotFoundException',
            },
          ),
        ),
    };
    await expect(measureAdoption(secrets, plan(), request)).rejects.toMatchObject({
      name: 'NotAdoptable',
      message: expect.stringContaining('set its master password to the secret') as string,
    });
  });

  it('refuses a restored instance neither version of the secret opens, saying what to do', async () => {
    const secrets = {
      current: (ref: DatabaseRef) =>
        Promise.resolve(ref.host === 'writer.internal' ? settings(writer) : settings(restored, 'wrong-1')),
      previous: () => Promise.resolve(settings(restored, 'wrong-2')),
    };
    await expect(measureAdoption(secrets, plan(), request)).rejects.toMatchObject({
      name: 'NotAdoptable',
      message: expect.stringContaining(
        'neither the current nor the previous version of pg-dr/postgres-master opens pg-dr-restored',
      ) as string,
    });
  });
});
