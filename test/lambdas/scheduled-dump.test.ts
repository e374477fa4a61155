import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import { dumpManifestSchema } from '../../lambdas/backups/dump';
import { runDumpTask } from '../../lambdas/backups/dump-task';
import { dumpKeyBase, scheduledDumpSchema, type ScheduledDump } from '../../lambdas/backups/dump-keys';
import { takeScheduledDump } from '../../lambdas/backups/scheduled-dump';
import type { ResolveDatabase } from '../../lambdas/shared/database';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import { pgTool } from '../../lib/local-postgres/pg-tools';
import { DUMPABLE_MAJOR_VERSION } from '../../lib/local-postgres/server';
import { dumpConnection } from '../../lib/rehearsal/backup-restore';
import { PostgresServer } from '../support/postgres';
import { bucketInMemory } from '../support/s3-bucket';
import { execute } from '../support/replication';

// Needs Debian's postgresql-client (pg_dump 15): .ci/run installs it; elsewhere pgTool says what to install.
const EXAMPLES = join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');

/**
 * The dump task's work on a real PostgreSQL 15 server, with S3 played by aws-sdk-client-mock: what reaches the
 * bucket, in which order, and what is left behind when a step fails.
 */
describe('the scheduled dump: pg_dump of the writer, then the dump and its manifest in the bucket', () => {
  let server: PostgresServer;
  let folder: string;
  const s3 = mockClient(S3Client);
  const pgDump = pgTool('pg_dump');
  const resolve: ResolveDatabase = () => Promise.resolve(dumpConnection(server, 'shop').settings);
  const input = (run = 'a1b2c3'): ScheduledDump => ({
    source: { secretId: 'pg-dr/postgres-master', database: 'shop' },
    sourceInstance: 'pg-dr-primary',
    bucket: 'pg-dr-backups-111111111111-us-east-1',
    keyBase: dumpKeyBase('dumps/', 'pg-dr-primary', new Date('2026-12-01T04:05:06.789Z'), run),
  });
  const deps = () => ({
    resolve,
    s3: new S3Client({ region: 'us-east-1' }),
    pgDump,
    workDir: folder,
    caFile: dumpConnection(server, 'shop').caFile ?? '',
  });

  beforeAll(async () => {
    server = await PostgresServer.start({ name: 'scheduled-dump', majorVersion: DUMPABLE_MAJOR_VERSION });
    await execute(server, 'postgres', 'CREATE DATABASE shop');
    const client = new Client(server.clientConfig('shop'));
    await client.connect();
    await applyPendingMigrations(client, await readMigrationsFolder(EXAMPLES));
    await client.query(
      "INSERT INTO account (email) SELECT 'u' || g || '@example.org' FROM generate_series(1, 120) AS g",
    );
    await client.end();
  }, 120_000);
  beforeEach(() => {
    s3.reset();
    folder = mkdtempSync(join(tmpdir(), 'pg-dr-scheduled-dump-'));
  });
  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });
  afterAll(async () => {
    s3.restore();
    await server.destroy();
  });

  it('puts the dump, then its manifest beside it; the manifest describes the bytes in the bucket', async () => {
    const bucket = bucketInMemory(s3);
    const result = await takeScheduledDump(input(), deps());
    const base = 'dumps/pg-dr-primary/2026/12/01/20261201T040506Z-a1b2c3';
    expect(bucket.puts).toEqual([`${base}.dump`, `${base}.manifest.json`]);
    expect(result).toMatchObject({ dumpKey: `${base}.dump`, manifestKey: `${base}.manifest.json` });
    const manifest = dumpManifestSchema.parse(
      JSON.parse(bucket.objects.get(`${base}.manifest.json`)?.toString() ?? ''),
    );
    const dump = bucket.objects.get(`${base}.dump`) ?? Buffer.alloc(0);
    expect(manifest.sha256).toBe(createHash('sha256').update(dump).digest('hex'));
    expect(manifest.bytes).toBe(dump.length);
    expect(dump.subarray(0, 5).toString()).toBe('PGDMP');
    expect(manifest).toMatchObject({ sourceInstance: 'pg-dr-primary', database: 'shop' });
    expect(manifest.tables['public.account']).toBe(120);
    expect(readdirSync(folder)).toEqual([]);
  });

  it('writes no manifest when the dump cannot be put, says where, and leaves no file behind', async () => {
    const bucket = bucketInMemory(s3, (key) => key.endsWith('.dump'));
    await expect(takeScheduledDump(input(), deps())).rejects.toThrow(
      /upload to s3:\/\/pg-dr-backups-111111111111-us-east-1\/dumps\/pg-dr-primary\/.*\.dump failed: AccessDenied/,
    );
    expect(bucket.puts).toEqual([]);
    expect(readdirSync(folder)).toEqual([]);
  });

  it('puts nothing when pg_dump fails, and leaves no file behind', async () => {
    const bucket = bucketInMemory(s3);
    await expect(takeScheduledDump(input(), { ...deps(), pgDump: '/bin/false' })).rejects.toThrow(
      /pg_dump of shop exited 1/,
    );
    expect(bucket.puts).toEqual([]);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(readdirSync(folder)).toEqual([]);
  });

  it('names each dump by instance and UTC day, so the newest is the last key of its folder', () => {
    const key = (at: string, run: string) => dumpKeyBase('', 'pg-dr-primary', new Date(at), run);
    const keys = [
      key('2026-12-01T23:59:59Z', 'b'),
      key('2026-12-01T00:00:00Z', 'a'),
      key('2026-12-01T12:00:00Z', 'c'),
    ];
    expect([...keys].sort()).toEqual([keys[1], keys[2], keys[0]]);
    for (const keyBase of keys)
      expect(scheduledDumpSchema.safeParse({ ...input(), keyBase }).success).toBe(true);
    for (const keyBase of [
      '../pg-dr-primary/2026/12/01/20261201T000000Z-a',
      'a/../pg-dr-primary/2026/12/01/20261201T000000Z-a',
      '/pg-dr-primary/2026/12/01/20261201T000000Z-a',
      'dumps/x',
      '',
    ])
      expect(scheduledDumpSchema.safeParse({ ...input(), keyBase }).success).toBe(false);
  });

  /** Runs the task's entry point with PG_DR_DUMP set to `request`: its exit code and everything it logged. */
  async function runTask(
    request: string,
    options: { maxSeconds?: number; onDeadline?: () => void } = {},
  ): Promise<{ code: number; logged: string }> {
    const lines: string[] = [];
    for (const stream of [process.stdout, process.stderr])
      jest.spyOn(stream, 'write').mockImplementation((chunk) => {
        lines.push(String(chunk));
        return true;
      });
    const saved = process.env.PG_DR_DUMP;
    process.env.DUMP_WORK_DIR = folder;
    process.env.PG_DR_DUMP = request;
    if (options.maxSeconds !== undefined) process.env.DUMP_MAX_SECONDS = String(options.maxSeconds);
    try {
      const code = await runDumpTask(
        new Logger({ serviceName: 'dr-dump' }),
        options.onDeadline ?? (() => lines.push('deadline without a handler')),
      );
      return { code, logged: lines.join('') };
    } finally {
      jest.restoreAllMocks();
      delete process.env.DUMP_WORK_DIR;
      delete process.env.DUMP_MAX_SECONDS;
      if (saved === undefined) delete process.env.PG_DR_DUMP;
      else process.env.PG_DR_DUMP = saved;
    }
  }

  it('exits 1 on input that is not a dump request, without repeating a secret it was given', async () => {
    const { code, logged } = await runTask(
      JSON.stringify({
        ...input(),
        source: { secretId: 'postgres://app:hunter2-secret@db.example.org/shop' },
      }),
    );
    expect(code).toBe(1);
    expect(logged).toMatch(/"message":"dump failed".*source\.secretId/);
    expect(logged).not.toMatch(/hunter2/);
    expect(readdirSync(folder)).toEqual([]);
  });

  it('exits 1 on a request that is not JSON, without quoting it (it may be a secret pasted there)', async () => {
    const { code, logged } = await runTask('hunter2-secret, not JSON');
    expect(code).toBe(1);
    expect(logged).toMatch(/"message":"dump failed".*PG_DR_DUMP is not JSON/);
    expect(logged).not.toMatch(/hunter2/);
  });

  it('ends at its deadline, whatever it is waiting for, and says so', async () => {
    // Secrets Manager answers only after the deadline: without it the task would wait as long as the workflow.
    let ended: () => void = () => undefined;
    const deadline = new Promise<void>((resolve) => {
      ended = resolve;
    });
    const secrets = mockClient(SecretsManagerClient);
    secrets.on(GetSecretValueCommand).callsFake(async () => {
      await deadline;
      throw new Error('answered too late');
    });
    try {
      const { code, logged } = await runTask(JSON.stringify(input()), { maxSeconds: 1, onDeadline: ended });
      expect(code).toBe(1);
      expect(logged).toMatch(
        /"errorType":"TaskTimedOut".*the dump \(backups.dumps.maxMinutes; no manifest was written\) ran out of its 1 s/,
      );
    } finally {
      secrets.restore();
    }
  });
});
