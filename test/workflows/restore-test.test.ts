import { Client } from 'pg';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import { localRdsEndpoint, resolveLocalRdsEndpoints } from '../../lib/local-aws/endpoint-dns';
import type { SimulatedInstance } from '../../lib/local-aws/rds';
import { runInWorld } from '../../lib/local-aws/workflow';
import { drNames } from '../../lib/names';
import { testConfig } from '../infra/test-config';
import { EXAMPLES } from '../support/blue-green-harness';
import { databaseSecret } from '../support/lambda';
import { PostgresServer } from '../support/postgres';
import { execute } from '../support/replication';
import { testWorld } from '../support/world';

const CONFIG = testConfig();
const NAMES = drNames(CONFIG);
const DR = CONFIG.secondaryRegion;
const REPLICA = CONFIG.database.replicaInstanceIdentifier;
const PRIMARY = CONFIG.database.primaryInstanceIdentifier;
const DATABASE = CONFIG.database.databaseName;
const TAG = { Key: 'pg-dr:role', Value: 'restore-test' };

/**
 * The restore test in the local world, as the DR region runs it: the synthesized app's steps as their own
 * roles (IAM enforced: the restore only into a tagged throwaway, the delete only of one), the simulated RDS
 * with the writer's backups replicated to the DR region, and real PostgreSQL behind the DR replica and behind
 * whatever RDS restores.
 */
describe('restore test, in the local world', () => {
  let replica: PostgresServer;
  let restored: PostgresServer;
  let undoDns: () => void;
  let databases = 0;

  /** The application database on `server`: migrations, rows, analyzed. */
  async function application(server: PostgresServer, name: string, accounts: number, broken = false) {
    await execute(server, 'postgres', `CREATE DATABASE ${name}`);
    const client = new Client(server.clientConfig(name));
    await client.connect();
    try {
      await applyPendingMigrations(client, await readMigrationsFolder(EXAMPLES));
      await client.query(
        "INSERT INTO account (email) SELECT 'u' || g || '@example.org' FROM generate_series(1, $1::int) AS g",
        [accounts],
      );
      if (broken) await client.query('DROP TABLE "order"');
      await client.query('ANALYZE');
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    undoDns = resolveLocalRdsEndpoints();
    replica = await PostgresServer.start({ name: 'restore-replica' });
    // A restored instance keeps its source's master password.
    restored = await PostgresServer.start({ name: 'restore-throwaway', password: replica.password });
    await application(replica, DATABASE, 3000);
    process.env.DB_CA_FILE = `${replica.rootDir}/tls/ca.crt`;
  }, 60_000);
  afterAll(async () => {
    undoDns();
    await Promise.all([replica.destroy(), restored.destroy()]);
  });

  /**
   * A world whose writer has backups replicated to the DR region (unless `backups` is false), and whose
   * restores get an application database on the throwaway server: a faithful one, or one missing a table.
   */
  async function scenario(
    options: {
      backups?: boolean;
      broken?: boolean;
      rds?: { createMs: number; modifyMs: number; rebootMs: number };
    } = {},
  ) {
    // Each restore gets a database of its own on the throwaway server; the check opens it by the config's name,
    // so the throwaway server's database is recreated for each scenario.
    const copy = `${DATABASE}_${++databases}`;
    await application(restored, copy, 3000, options.broken === true);
    await execute(
      restored,
      'postgres',
      `DROP DATABASE IF EXISTS ${DATABASE}`,
      `ALTER DATABASE ${copy} RENAME TO ${DATABASE}`,
    );
    const restores: string[] = [];
    const world = testWorld({
      ...(options.rds === undefined ? {} : { rds: options.rds }),
      endpoints: { [REPLICA]: localRdsEndpoint(REPLICA, DR) },
      ports: { [REPLICA]: replica.port },
      secrets: { [CONFIG.database.secretName]: databaseSecret(replica, DATABASE).SecretString },
      onRestoreInstance: (instance: SimulatedInstance) => {
        restores.push(instance.id);
        instance.endpoint = localRdsEndpoint(instance.id, DR);
        instance.port = restored.port;
      },
    });
    if (options.backups !== false)
      world.rds.addAutomatedBackup({
        region: DR,
        arn: `arn:aws:rds:${DR}:${world.account}:auto-backup:ab-primary`,
        dbiResourceId: 'db-PRIMARY',
        instanceIdentifier: PRIMARY,
        sourceRegion: CONFIG.primaryRegion,
        status: 'replicating',
        earliestTime: new Date(Date.now() - 86_400_000),
        latestTime: new Date(Date.now() - 300_000),
      });
    const run = () =>
      runInWorld({
        world,
        file: 'restore-test.asl.json',
        stateMachineName: NAMES.restoreTestStateMachine,
        input: {},
        waits: { WaitForRestore: 0, WaitToDelete: 0 },
        retryIntervals: Object.fromEntries(
          ['StartRestore', 'AdvanceRestore', 'CheckRestored', 'ConcludePassed', 'ConcludeFailed'].map((s) => [
            s,
            0,
          ]),
        ),
      });
    const throwaways = () =>
      [...world.rds.instances.values()]
        .filter((i) => i.region === DR && i.id.startsWith('pg-dr-restore-test-'))
        .map((i) => ({ id: i.id, status: world.rds.instance(DR, i.id)?.status ?? 'gone' }));
    return { world, run, restores, throwaways };
    // RDS timing is zero here: a deleted instance is gone at once, so `gone` means the delete was made.
  }

  it('restores the writer’s newest point into a tagged throwaway, checks it, and deletes it', async () => {
    const s = await scenario();
    try {
      const result = await s.run();
      expect(result.error).toBeUndefined();
      expect(result.status).toBe('SUCCEEDED');
      expect(s.restores).toHaveLength(1);
      expect(s.throwaways()).toEqual([{ id: s.restores[0], status: 'gone' }]);
      const output = result.output as {
        check: { ok: boolean; checks: { name: string; passed: boolean }[] };
        record: { passed: boolean; restoreSeconds: number };
        deletion: { instanceIdentifier: string; outcome: string };
      };
      expect(output.check.checks.map((c) => [c.name, c.passed])).toEqual([
        ['connects', true],
        ['reference', true],
        ['migrations', true],
        ['rows', true],
        ['smoke query', true],
      ]);
      expect(output.deletion).toEqual({ instanceIdentifier: s.restores[0], outcome: 'deleting' });
      expect(output.record).toMatchObject({ passed: true });
      expect(output.record.restoreSeconds).toBeGreaterThanOrEqual(0);
      const restore = s.world.aws.calls.find((c) => c.operation === 'RestoreDBInstanceToPointInTime');
      expect(restore).toMatchObject({ region: DR, input: { Tags: [TAG], BackupRetentionPeriod: 0 } });
    } finally {
      s.world.close();
    }
  });

  it('deletes the throwaway when its checks fail, and fails naming the check', async () => {
    const s = await scenario({ broken: true });
    try {
      const result = await s.run();
      expect(result.status).toBe('FAILED');
      expect(result.error?.name).toBe('RestoreChecksFailed');
      expect(result.error?.message).toContain('missing table(s) public.order');
      expect(s.throwaways()).toEqual([{ id: s.restores[0], status: 'gone' }]);
      expect(result.path.slice(-6)).toEqual([
        'FailedOutcome',
        'RecordFailed',
        'StartDeleteRounds',
        'DeleteThrowaway',
        'DidTestPass',
        'TestFailed',
      ]);
    } finally {
      s.world.close();
    }
  });

  it('fails without restoring anything when the writer has no backups in the DR region', async () => {
    const s = await scenario({ backups: false });
    try {
      const result = await s.run();
      expect(result.status).toBe('FAILED');
      expect(result.error?.name).toBe('NoBackupToRestore');
      expect(s.restores).toEqual([]);
      expect(s.world.aws.calls.filter((c) => c.operation === 'DeleteDBInstance')).toEqual([]);
    } finally {
      s.world.close();
    }
  });

  it('deletes a throwaway an ended test left, never a running test’s, nor an instance that only looks like one', async () => {
    const s = await scenario();
    try {
      const ended = 'pg-dr-restore-test-20261101t0500-aaaaaa';
      const running = `pg-dr-restore-test-${new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').toLowerCase()}-bbbbbb`;
      s.world.rds.addInstance({ id: ended, region: DR, tags: [TAG], multiAz: false });
      s.world.rds.addInstance({ id: running, region: DR, tags: [TAG], multiAz: false });
      s.world.rds.addInstance({ id: 'pg-dr-restore-test-handmade', region: DR, multiAz: false });
      const result = await s.run();
      expect(result.status).toBe('SUCCEEDED');
      // Deleted (the simulated RDS deletes at once here).
      expect(s.world.rds.instance(DR, ended)).toBeUndefined();
      expect(s.world.rds.instance(DR, running)?.status).toBe('available');
      expect(s.world.rds.instance(DR, 'pg-dr-restore-test-handmade')?.status).toBe('available');
      expect((result.output as { restore: { sweptLeftovers: unknown } }).restore.sweptLeftovers).toEqual({
        deleted: [ended],
        failed: [],
      });
    } finally {
      s.world.close();
    }
  });

  it('keeps deleting while RDS is still busy with the throwaway, then fails naming the reason', async () => {
    // A restore that never becomes available: out of rounds while RDS still creates it (and refuses its delete).
    const s = await scenario({ rds: { createMs: 86_400_000, modifyMs: 0, rebootMs: 0 } });
    try {
      const result = await s.run();
      expect(result.status).toBe('FAILED');
      expect(result.error?.name).toBe('RestoreTestNotDeleted');
      expect(result.path.filter((state) => state === 'AdvanceRestore')).toHaveLength(360);
      expect(result.path.filter((state) => state === 'DeleteThrowaway')).toHaveLength(48);
      expect(s.throwaways()).toEqual([{ id: s.restores[0], status: 'creating' }]);
    } finally {
      s.world.close();
    }
  });
});
