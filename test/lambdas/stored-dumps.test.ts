import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, type ListObjectsV2CommandInput, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import { dumpKeyBase } from '../../lambdas/backups/dump-keys';
import { takeScheduledDump } from '../../lambdas/backups/scheduled-dump';
import {
  dumpAgeSeconds,
  MAX_LISTING_PAGES,
  newestDump,
  storedDump,
  type StoredDump,
} from '../../lambdas/backups/dump-listing';
import { checkStoredDump } from '../../lambdas/backups/stored-dumps';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import { pgTool } from '../../lib/local-postgres/pg-tools';
import { DUMPABLE_MAJOR_VERSION } from '../../lib/local-postgres/server';
import { dumpConnection } from '../../lib/rehearsal/backup-restore';
import { PostgresServer } from '../support/postgres';
import { bucketInMemory } from '../support/s3-bucket';
import { execute } from '../support/replication';

// Needs Debian's postgresql-client (pg_dump, pg_restore 15): .ci/run installs it; elsewhere pgTool says what
// to install.
const EXAMPLES = join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');
const BUCKET = 'pg-dr-backups-111111111111-us-west-2';
const s3 = mockClient(S3Client);

const key = (instance: string, at: string, suffix = '.manifest.json') =>
  `${dumpKeyBase('dumps/', instance, new Date(at), 'r1')}${suffix}`;

describe('reading the dumps of a backup bucket by their manifests', () => {
  beforeEach(() => s3.reset());
  afterAll(() => {
    s3.restore();
  });

  it('reads a manifest key back into its dump: instance, the dump beside it, when its run started', () => {
    expect(storedDump('dumps/', key('pg-dr-primary', '2026-12-01T04:05:06Z'))).toEqual({
      sourceInstance: 'pg-dr-primary',
      manifestKey: 'dumps/pg-dr-primary/2026/12/01/20261201T040506Z-r1.manifest.json',
      dumpKey: 'dumps/pg-dr-primary/2026/12/01/20261201T040506Z-r1.dump',
      startedAt: new Date('2026-12-01T04:05:06Z'),
    });
    for (const other of [
      key('pg-dr-primary', '2026-12-01T04:05:06Z', '.dump'),
      `other/${key('pg-dr-primary', '2026-12-01T04:05:06Z').slice('dumps/'.length)}`,
      'dumps/pg-dr-primary/2026/13/41/20261341T250000Z-r1.manifest.json',
      'dumps/dr-drill/probe.json',
    ])
      expect(storedDump('dumps/', other)).toBeUndefined();
  });

  it('finds the newest dump of any instance across pages, ignoring dumps without a manifest and manifests without their dump', async () => {
    const pages: Record<string, string[]> = {
      first: [
        key('pg-dr-primary', '2026-11-30T03:00:00Z'),
        key('pg-dr-primary', '2026-11-30T03:00:00Z', '.dump'),
        key('pg-dr-green-g1', '2026-11-30T15:00:00Z', '.dump'),
        key('pg-dr-green-g2', '2026-12-01T03:00:00Z', '.dump'),
        // Replicated ahead of its dump (S3 replication copies each object on its own): not a dump yet.
        key('pg-dr-green-g3', '2026-12-01T09:00:00Z'),
        // Its dump is listed but empty.
        key('pg-dr-green-g4', '2026-12-01T10:00:00Z'),
        `${key('pg-dr-green-g4', '2026-12-01T10:00:00Z', '.dump')}#empty`,
      ],
      second: [key('pg-dr-green-g1', '2026-11-30T15:00:00Z'), 'dumps/README'],
    };
    s3.on(ListObjectsV2Command).callsFake((input: ListObjectsV2CommandInput) => {
      expect(input).toMatchObject({ Bucket: BUCKET, Prefix: 'dumps/' });
      const page = input.ContinuationToken === undefined ? 'first' : 'second';
      return {
        Contents: (pages[page] ?? []).map((listed) => {
          const [Key = '', empty] = listed.split('#');
          return { Key, Size: empty === undefined ? 1024 : 0 };
        }),
        IsTruncated: page === 'first',
        NextContinuationToken: page === 'first' ? 'next' : undefined,
      };
    });
    const newest = await newestDump(new S3Client({ region: 'us-west-2' }), BUCKET, 'dumps/');
    expect(newest).toMatchObject({
      sourceInstance: 'pg-dr-green-g1',
      startedAt: new Date('2026-11-30T15:00:00Z'),
    });
    expect(dumpAgeSeconds(newest, new Date('2026-11-30T16:00:00Z'))).toBe(3600);
  });

  it('finds none in an empty bucket, and refuses a prefix whose listing does not end', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
    await expect(
      newestDump(new S3Client({ region: 'us-west-2' }), BUCKET, 'dumps/'),
    ).resolves.toBeUndefined();
    expect(dumpAgeSeconds(undefined, new Date())).toBeUndefined();
    s3.reset();
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: true, NextContinuationToken: 't' });
    await expect(newestDump(new S3Client({ region: 'us-west-2' }), BUCKET, 'dumps/')).rejects.toThrow(
      /more than 100000 keys/,
    );
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(MAX_LISTING_PAGES);
  });
});

/**
 * The dump restore test's check on real PostgreSQL 15: a dump the scheduled dump put in a (mocked) bucket,
 * read back from it, restored into a throwaway database and compared with its manifest.
 */
describe('checking the newest stored dump restores', () => {
  let server: PostgresServer;
  let folder: string;
  let stored: StoredDump;
  let throwaways = 0;
  let objects: Map<string, Buffer>;

  async function check(): Promise<Awaited<ReturnType<typeof checkStoredDump>>> {
    const database = `throwaway_${++throwaways}`;
    await execute(server, 'postgres', `CREATE DATABASE ${database}`);
    return checkStoredDump({
      s3: new S3Client({ region: 'us-west-2' }),
      bucket: BUCKET,
      dump: stored,
      workDir: folder,
      target: dumpConnection(server, database),
      pgRestore: pgTool('pg_restore'),
    });
  }

  beforeAll(async () => {
    server = await PostgresServer.start({ name: 'stored-dumps', majorVersion: DUMPABLE_MAJOR_VERSION });
    folder = mkdtempSync(join(tmpdir(), 'pg-dr-stored-dumps-'));
    await execute(server, 'postgres', 'CREATE DATABASE shop');
    const client = new Client(server.clientConfig('shop'));
    await client.connect();
    await applyPendingMigrations(client, await readMigrationsFolder(EXAMPLES));
    await client.query(
      "INSERT INTO account (email) SELECT 'u' || g || '@example.org' FROM generate_series(1, 75) AS g",
    );
    await client.end();
    s3.reset();
    objects = bucketInMemory(s3).objects;
    const result = await takeScheduledDump(
      {
        source: { secretId: 'pg-dr/postgres-master', database: 'shop' },
        sourceInstance: 'pg-dr-primary',
        bucket: BUCKET,
        keyBase: dumpKeyBase('dumps/', 'pg-dr-primary', new Date(), 'r1'),
      },
      {
        resolve: () => Promise.resolve(dumpConnection(server, 'shop').settings),
        s3: new S3Client({ region: 'us-west-2' }),
        pgDump: pgTool('pg_dump'),
        workDir: folder,
        caFile: dumpConnection(server, 'shop').caFile ?? '',
      },
    );
    const found = storedDump('dumps/', result.manifestKey);
    if (found === undefined)
      throw new Error('the scheduled dump wrote a manifest key storedDump cannot read');
    stored = found;
  }, 120_000);
  beforeEach(() => {
    s3.reset();
    const kept = objects;
    objects = bucketInMemory(s3).objects;
    for (const [key, bytes] of kept) objects.set(key, bytes);
  });
  afterAll(async () => {
    rmSync(folder, { recursive: true, force: true });
    await server.destroy();
  });

  it('restores the dump the bucket holds and finds what its manifest says, leaving no file behind', async () => {
    const report = await check();
    expect(report.checks.filter((c) => !c.passed)).toEqual([]);
    expect(report.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['checksum', 'restore', 'migrations']),
    );
    expect(report.ok).toBe(true);
    expect(readdirSync(folder)).toEqual([]);
  });

  it('fails the checksum of a dump whose bytes changed in the bucket', async () => {
    const original = objects.get(stored.dumpKey) ?? Buffer.alloc(0);
    const corrupted = Buffer.from(original);
    corrupted[corrupted.length - 10] = (corrupted[corrupted.length - 10] ?? 0) ^ 0xff;
    objects.set(stored.dumpKey, corrupted);
    try {
      const report = await check();
      expect(report.ok).toBe(false);
      expect(report.checks.find((c) => c.name === 'checksum')).toMatchObject({ passed: false });
    } finally {
      objects.set(stored.dumpKey, original);
    }
  });

  it('fails the manifest check when the manifest is not JSON, and names a dump that is missing', async () => {
    const manifest = objects.get(stored.manifestKey) ?? Buffer.alloc(0);
    objects.set(stored.manifestKey, Buffer.from('{"format":'));
    try {
      const report = await check();
      expect(report).toEqual({
        ok: false,
        checks: [
          { name: 'manifest', passed: false, detail: expect.stringMatching(/is not JSON$/) as unknown },
        ],
      });
    } finally {
      objects.set(stored.manifestKey, manifest);
    }
    const dump = objects.get(stored.dumpKey) ?? Buffer.alloc(0);
    objects.delete(stored.dumpKey);
    try {
      await expect(check()).rejects.toThrow(`download of s3://${BUCKET}/${stored.dumpKey} failed: NoSuchKey`);
    } finally {
      objects.set(stored.dumpKey, dump);
    }
  });
});
