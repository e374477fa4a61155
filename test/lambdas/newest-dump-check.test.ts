import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import { dumpKeyBase } from '../../lambdas/backups/dump-keys';
import { dumpCheckReportSchema } from '../../lambdas/backups/dump-check-report';
import { runDumpCheckTask } from '../../lambdas/backups/dump-check-task';
import { checkNewestDump } from '../../lambdas/backups/newest-dump-check';
import { takeScheduledDump } from '../../lambdas/backups/scheduled-dump';
import { serverAccount, startThrowawayServer } from '../../lambdas/backups/throwaway-server';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import { pgTool } from '../../lib/local-postgres/pg-tools';
import { DUMPABLE_MAJOR_VERSION, serverBinDir } from '../../lib/local-postgres/server';
import { dumpConnection } from '../../lib/rehearsal/backup-restore';
import { PostgresServer } from '../support/postgres';
import { execute } from '../support/replication';
import { bucketInMemory } from '../support/s3-bucket';

// Needs Debian's postgresql-client (pg_dump and pg_restore 15): .ci/run installs it; elsewhere pgTool says what
// to install.
const EXAMPLES = join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');
const BUCKET = 'pg-dr-backups-111111111111-us-east-1';

/**
 * The dump restore test's work on this machine: a real PostgreSQL 15 writer dumped into an in-memory bucket by
 * the scheduled dump's own code, then the newest dump restored into a throwaway server (initdb and pg_ctl of
 * the embedded PostgreSQL, run as an unprivileged account when the tests run as root, as the task runs them
 * as the image's postgres account) and checked against its manifest.
 */
describe('the dump restore test: the newest dump restored into a throwaway server and checked', () => {
  let writer: PostgresServer;
  let folder: string;
  const s3 = mockClient(S3Client);
  const account = serverAccount();
  const binDir = serverBinDir(account);

  beforeAll(async () => {
    writer = await PostgresServer.start({ name: 'dump-check-writer', majorVersion: DUMPABLE_MAJOR_VERSION });
    await execute(writer, 'postgres', 'CREATE DATABASE shop');
    const client = new Client(writer.clientConfig('shop'));
    await client.connect();
    try {
      await applyPendingMigrations(client, await readMigrationsFolder(EXAMPLES));
      await client.query(
        "INSERT INTO account (email) SELECT 'u' || g || '@example.org' FROM generate_series(1, 300) AS g",
      );
    } finally {
      await client.end();
    }
  }, 120_000);
  beforeEach(() => {
    s3.reset();
    folder = mkdtempSync(join(tmpdir(), 'pg-dr-dump-check-'));
  });
  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });
  afterAll(async () => {
    s3.restore();
    await writer.destroy();
  });

  /** A bucket holding two dumps of the writer, a day apart; the newest is the second. */
  async function bucketWithDumps() {
    const bucket = bucketInMemory(s3);
    const local = dumpConnection(writer, 'shop');
    for (const [day, run] of [
      ['2026-11-30T03:00:00Z', 'older'],
      ['2026-12-01T03:00:00Z', 'newer'],
    ] as const)
      await takeScheduledDump(
        {
          source: { secretId: 'pg-dr/postgres-master', database: 'shop' },
          sourceInstance: 'pg-dr-primary',
          bucket: BUCKET,
          keyBase: dumpKeyBase('dumps/', 'pg-dr-primary', new Date(day), run),
        },
        {
          resolve: () => Promise.resolve(local.settings),
          s3: new S3Client({ region: 'us-east-1' }),
          pgDump: pgTool('pg_dump'),
          workDir: folder,
          caFile: local.caFile ?? '',
        },
      );
    return bucket;
  }

  const check = () =>
    checkNewestDump({
      s3: new S3Client({ region: 'us-east-1' }),
      bucket: BUCKET,
      prefix: 'dumps/',
      workDir: folder,
      pgRestore: pgTool('pg_restore'),
      binDir,
      ...(account === undefined ? {} : { account }),
    });

  it('restores the newest dump into a throwaway server, passes every check, and leaves nothing behind', async () => {
    await bucketWithDumps();
    const { dump, report } = await check();
    expect(dump.dumpKey).toMatch(/20261201T030000Z-newer\.dump$/);
    expect(report.checks.map((c) => [c.name, c.passed])).toEqual([
      ['checksum', true],
      ['restore', true],
      ['migrations', true],
      ['rows', true],
      ['smoke query', true],
    ]);
    expect(report.ok).toBe(true);
    expect(report.restoreSeconds).toEqual(expect.any(Number));
    // The server is stopped and its folder gone; the download too.
    expect(readdirSync(folder)).toEqual([]);
  }, 120_000);

  it('fails the checksum of a dump changed in the bucket, and still leaves nothing behind', async () => {
    const bucket = await bucketWithDumps();
    const key = [...bucket.objects.keys()].find((k) => k.endsWith('newer.dump')) ?? '';
    const bytes = Buffer.from(bucket.objects.get(key) ?? Buffer.alloc(0));
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff;
    bucket.objects.set(key, bytes);
    const { report } = await check();
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'checksum')).toMatchObject({ passed: false });
    expect(readdirSync(folder)).toEqual([]);
  }, 120_000);

  it('says there is no dump to restore when the bucket holds none (or none replicated yet)', async () => {
    bucketInMemory(s3);
    await expect(check()).rejects.toMatchObject({ name: 'NoDumpToRestore' });
  });

  it('reports initdb failing (a folder it cannot use), and removes what it made', async () => {
    const server = startThrowawayServer({
      folder: join(folder, 'server'),
      binDir: join(folder, 'no-such-bin'),
      ...(account === undefined ? {} : { account }),
    });
    await expect(server).rejects.toMatchObject({ name: 'PgToolMissing' });
    expect(existsSync(join(folder, 'server'))).toBe(false);
  });

  /** The task's entry point with its environment: its exit code, the report it left, what it logged. */
  async function runTask(reportKey: string, more: Record<string, string> = {}, afterDeadline?: () => void) {
    const lines: string[] = [];
    for (const stream of [process.stdout, process.stderr])
      jest.spyOn(stream, 'write').mockImplementation((chunk) => {
        lines.push(String(chunk));
        return true;
      });
    const env = {
      DUMP_BUCKET: BUCKET,
      DUMP_PREFIX: 'dumps/',
      PG_DR_CHECK_REPORT: reportKey,
      PG_RESTORE: pgTool('pg_restore'),
      PG_BIN_DIR: binDir,
      DUMP_WORK_DIR: folder,
      ...more,
    };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const code = await runDumpCheckTask(
        new Logger({ serviceName: 'dr-dump' }),
        () => {
          lines.push('deadline');
          afterDeadline?.();
        },
        new S3Client({ region: 'us-east-1' }),
      );
      return { code, logged: lines.join('') };
    } finally {
      jest.restoreAllMocks();
      process.env = saved;
    }
  }

  it('runs as the task does: checks the newest dump, leaves its report where the workflow reads it, exits 0', async () => {
    const bucket = await bucketWithDumps();
    const key = 'dump-restore-checks/20261201T060000Z-monthly.json';
    const { code, logged } = await runTask(key);
    expect(code).toBe(0);
    const report = dumpCheckReportSchema.parse(JSON.parse(bucket.objects.get(key)?.toString() ?? ''));
    expect(report).toMatchObject({ ok: true, sourceInstance: 'pg-dr-primary' });
    expect(report.dumpKey).toMatch(/newer\.dump$/);
    expect(logged).toMatch(/"message":"dump restore check".*"ok":true/);
    expect(readdirSync(folder).filter((f) => f.startsWith('pg-dr-check-'))).toEqual([]);
  }, 120_000);

  it('exits 1 with a report that says why when there is no dump', async () => {
    const bucket = bucketInMemory(s3);
    const key = 'dump-restore-checks/20261201T060000Z-empty.json';
    const { code } = await runTask(key);
    expect(code).toBe(1);
    expect(JSON.parse(bucket.objects.get(key)?.toString() ?? '{}')).toMatchObject({
      ok: false,
      error: { name: 'NoDumpToRestore' },
    });
  });

  it('at its deadline, leaves a TaskTimedOut report before it ends, and the late end of the check puts none over it', async () => {
    const bucket = bucketInMemory(s3);
    // The listing hangs until the deadline has passed, then answers: the check goes on to its own end.
    let answer: (() => void) | undefined;
    s3.on(ListObjectsV2Command).callsFake(
      () =>
        new Promise((resolve) => {
          answer = () => {
            resolve({ Contents: [] });
          };
        }),
    );
    const key = 'dump-restore-checks/20261201T060000Z-late.json';
    const { code, logged } = await runTask(key, { DUMP_MAX_SECONDS: '1' }, () => answer?.());
    expect(code).toBe(1);
    expect(logged).toContain('deadline');
    expect(logged).toMatch(/"errorType":"TaskTimedOut"/);
    expect(bucket.puts).toEqual([key]);
    expect(JSON.parse(bucket.objects.get(key)?.toString() ?? '{}')).toEqual({
      ok: false,
      checks: [],
      error: {
        name: 'TaskTimedOut',
        message: 'the dump restore check ran out of its 1 s (backups.dumps.maxMinutes)',
      },
    });
  });
});
