import { createHash } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { DUMP_MANIFEST_FORMAT, type DumpManifest } from '../../lambdas/backups/dump-manifest';
import { prepareDump, runToken } from '../../lambdas/backups/dump-run';
import { DUMP_CONTAINER } from '../../lambdas/backups/dump-runtime';
import { handler } from '../../lambdas/backups/dump-steps-handler';
import { scheduledDumpSchema } from '../../lambdas/backups/dump-keys';
import type { Topology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { parameterStore } from '../support/parameter-store';
import { capturePrinted } from '../support/lambda';
import { bucketInMemory } from '../support/s3-bucket';

const BUCKET = 'pg-dr-backups-111122223333-us-west-2';
const ENV = {
  DUMP_BUCKET: BUCKET,
  DUMP_PREFIX: 'dumps/',
  DATABASE_NAME: 'app',
  DATABASE_PORT: '5432',
  MASTER_SECRET_NAME: 'pg-dr/postgres-master',
  RUNTIME_BUCKET: 'cdk-hnb659fds-assets-111122223333-us-west-2',
  RUNTIME_KEY: 'abc123.zip',
  DUMP_SUBNET_IDS: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
  DUMP_SECURITY_GROUP_ID: 'sg-0123456789abcdef0',
  TOPOLOGY_REGION: 'us-east-1',
  RESOURCE_PREFIX: 'pg-dr',
  AWS_REGION: 'us-west-2',
  // The presigner signs with whatever credentials the SDK finds: these are not real.
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE00',
  AWS_SECRET_ACCESS_KEY: 'example-not-a-real-secret-key-0000000000',
};
const STARTED = '2026-12-01T03:00:04.512Z';
const KEY_BASE = 'dumps/pg-dr-primary/2026/12/01/20261201T030004Z-7c5e3f1a9b2d4c6e';

const writer = {
  region: 'us-west-2',
  instanceIdentifier: 'pg-dr-primary',
  endpoint: 'primary.example',
  port: 5432,
};
const topology = (change: Partial<Topology> = {}): Topology => ({
  generation: 1,
  writer,
  replica: null,
  retired: [],
  changedBy: 'first deploy',
  ...change,
});

function manifest(change: Partial<DumpManifest> = {}): DumpManifest {
  return {
    format: DUMP_MANIFEST_FORMAT,
    sourceInstance: 'pg-dr-primary',
    database: 'app',
    serverVersion: '17.6',
    takenAt: '2026-12-01T03:01:00.000Z',
    lsn: '0/3000148',
    migrations: ['20240101000000_init'],
    tables: { 'public.account': 120 },
    sha256: createHash('sha256').update('dump').digest('hex'),
    bytes: 4,
    ...change,
  };
}

/** The stopped task as runTask.sync returns it (the fields ECS gives, in Step Functions' PascalCase). */
const stoppedTask = (exitCode: number | undefined, extra: Record<string, unknown> = {}) => ({
  TaskArn: 'arn:aws:ecs:us-west-2:111122223333:task/pg-dr-dumps/0123456789abcdef',
  LastStatus: 'STOPPED',
  Containers: [
    { Name: 'runtime', ExitCode: 0, LastStatus: 'STOPPED' },
    {
      Name: DUMP_CONTAINER,
      LastStatus: 'STOPPED',
      ...(exitCode === undefined ? {} : { ExitCode: exitCode }),
    },
  ],
  StopCode: 'EssentialContainerExited',
  StoppedReason: 'Essential container in task exited',
  ...extra,
});

describe('the scheduled dump steps', () => {
  const s3 = mockClient(S3Client);
  const before = { ...process.env };
  let printed: ReturnType<typeof capturePrinted>;

  beforeEach(() => {
    s3.reset();
    Object.assign(process.env, ENV);
    printed = capturePrinted();
    parameterStore({ [topologyParameterNames('pg-dr').document]: JSON.stringify(topology()) });
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });
  afterAll(() => {
    s3.restore();
    process.env = before;
  });

  /** The figures the handler published (EMF lines), by name. */
  const figures = () => printed.figures();

  it('prepares the writer the topology names: its input for the task, its keys, a URL to the task script', async () => {
    const prepared = (await handler({
      mode: 'prepare',
      startedAt: STARTED,
      executionName: 'scheduled-7c5e3f1a-9b2d-4c6e',
    })) as Record<string, unknown>;
    expect(prepared.keyBase).toMatch(/^dumps\/pg-dr-primary\/2026\/12\/01\/20261201T030004Z-[a-z0-9]{1,16}$/);
    expect(prepared).toMatchObject({
      sourceInstance: 'pg-dr-primary',
      subnets: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
      securityGroups: ['sg-0123456789abcdef0'],
    });
    // What the task will read from PG_DR_DUMP: valid for it, naming the secret, never a credential.
    const dump = scheduledDumpSchema.parse(JSON.parse(String(prepared.dump)));
    expect(dump).toEqual({
      source: { secretId: 'pg-dr/postgres-master', host: 'primary.example', port: 5432, database: 'app' },
      sourceInstance: 'pg-dr-primary',
      bucket: BUCKET,
      keyBase: prepared.keyBase,
    });
    const url = new URL(String(prepared.runtimeUrl));
    expect(url.hostname).toBe(`${ENV.RUNTIME_BUCKET}.s3.us-west-2.amazonaws.com`);
    expect(url.pathname).toBe(`/${ENV.RUNTIME_KEY}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
  });

  it('dumps a green writer with its own secret, and a writer of the other region after a failover', () => {
    const settings = {
      bucket: BUCKET,
      prefix: 'dumps/',
      databaseName: 'app',
      port: 5432,
      masterSecretName: 'pg-dr/postgres-master',
    };
    const green = {
      ...writer,
      instanceIdentifier: 'pg-dr-green-3',
      secretId: 'pg-dr/green-3',
      port: undefined,
    };
    const prepared = prepareDump(topology({ writer: green }), settings, {
      startedAt: STARTED,
      executionName: 'x',
    });
    expect(JSON.parse(prepared.dump)).toMatchObject({
      source: { secretId: 'pg-dr/green-3', host: 'primary.example', port: 5432 },
      sourceInstance: 'pg-dr-green-3',
    });
    expect(prepared.keyBase).toMatch(/^dumps\/pg-dr-green-3\//);
    const promoted = {
      region: 'us-east-1',
      instanceIdentifier: 'pg-dr-replica',
      endpoint: 'replica.example',
    };
    expect(
      JSON.parse(
        prepareDump(topology({ writer: promoted }), settings, { startedAt: STARTED, executionName: 'x' })
          .dump,
      ),
    ).toMatchObject({ source: { host: 'replica.example' }, sourceInstance: 'pg-dr-replica' });
  });

  it('keeps two runs of one second apart by their execution names', () => {
    expect(runToken('7C5E3F1A-9B2D-4C6E-8F00-0123456789AB')).toBe('8f000123456789ab');
    expect(runToken('manual_2026-12-01')).toBe('manual20261201');
    expect(runToken('---')).toBe('run');
  });

  it('concludes a run whose container exited 0 and whose manifest is whole: DumpSucceeded 1, its size and duration', async () => {
    const bucket = bucketInMemory(s3);
    bucket.objects.set(`${KEY_BASE}.manifest.json`, Buffer.from(JSON.stringify(manifest())));
    const concluded = await handler({
      mode: 'conclude',
      startedAt: STARTED,
      keyBase: KEY_BASE,
      sourceInstance: 'pg-dr-primary',
      task: stoppedTask(0),
    });
    expect(concluded).toMatchObject({
      dumpKey: `${KEY_BASE}.dump`,
      manifestKey: `${KEY_BASE}.manifest.json`,
      bytes: 4,
      lsn: '0/3000148',
    });
    const published = figures().find((f) => 'DumpSucceeded' in f);
    expect(published).toMatchObject({ DumpSucceeded: 1, DumpBytes: 4, service: 'dr-dump' });
    expect(published?.DumpDuration).toEqual(expect.any(Number));
  });

  it.each([
    ['the dump container exited 1', stoppedTask(1), /the dump container exited 1; EssentialContainerExited/],
    [
      'the dump container never started (the runtime could not be fetched)',
      stoppedTask(undefined, {
        Containers: [
          { Name: 'runtime', ExitCode: 1 },
          { Name: DUMP_CONTAINER, Reason: 'dependency failed' },
        ],
        StopCode: 'EssentialContainerExited',
      }),
      /the dump container never exited; dependency failed/,
    ],
  ])('fails DumpFailed when %s, with what ECS says', async (_case, task, message) => {
    bucketInMemory(s3);
    const error = await handler({
      mode: 'conclude',
      startedAt: STARTED,
      keyBase: KEY_BASE,
      sourceInstance: 'pg-dr-primary',
      task,
    }).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ name: 'DumpFailed' });
    expect((error as Error).message).toMatch(message);
  });

  it.each([
    ['no manifest', undefined, /cannot be read \(NoSuchKey/],
    ['a manifest that is not JSON', 'not json', /is not JSON/],
    [
      'a manifest without its checksum',
      JSON.stringify({ ...manifest(), sha256: undefined }),
      /not whole: sha256/,
    ],
    [
      'a manifest of another instance',
      JSON.stringify(manifest({ sourceInstance: 'pg-dr-green-1' })),
      /of pg-dr-green-1/,
    ],
  ])('fails DumpMissing on %s, even when the container exited 0', async (_case, body, message) => {
    const bucket = bucketInMemory(s3);
    if (body !== undefined) bucket.objects.set(`${KEY_BASE}.manifest.json`, Buffer.from(body));
    const error = await handler({
      mode: 'conclude',
      startedAt: STARTED,
      keyBase: KEY_BASE,
      sourceInstance: 'pg-dr-primary',
      task: stoppedTask(0),
    }).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ name: 'DumpMissing' });
    expect((error as Error).message).toMatch(message);
    expect(figures().some((f) => f.DumpSucceeded === 1)).toBe(false);
  });

  it('explains a task runTask.sync failed from its cause, never repeating it (it holds the script URL)', async () => {
    const url = 'https://bucket.s3.us-west-2.amazonaws.com/x.js?X-Amz-Security-Token=SECRETTOKEN';
    const cause = JSON.stringify({
      ...stoppedTask(2),
      Overrides: {
        ContainerOverrides: [{ Name: 'runtime', Environment: [{ Name: 'DUMP_TASK_URL', Value: url }] }],
      },
    });
    const explained = await handler({
      mode: 'explain',
      sourceInstance: 'pg-dr-primary',
      failure: { Error: 'States.TaskFailed', Cause: cause },
    }).catch((e: unknown) => e as Error);
    expect(explained).toMatchObject({ name: 'DumpFailed' });
    expect((explained as Error).message).toBe(
      "the dump of pg-dr-primary failed: the dump container exited 2; EssentialContainerExited; Essential container in task exited (the task's log says why)",
    );
    const notStarted = JSON.stringify(
      stoppedTask(undefined, {
        Containers: [
          { Name: 'runtime', Reason: 'CannotPullContainerError: pull image manifest has been retried' },
          { Name: DUMP_CONTAINER },
        ],
        StopCode: 'TaskFailedToStart',
        StoppedReason: 'CannotPullContainerError',
      }),
    );
    await expect(
      handler({
        mode: 'explain',
        sourceInstance: 'pg-dr-primary',
        failure: { Error: 'States.TaskFailed', Cause: notStarted },
      }),
    ).rejects.toThrow(
      'the dump container never exited; the runtime container never exited; CannotPullContainerError: pull image manifest has been retried; TaskFailedToStart; CannotPullContainerError',
    );
    const opaque = await handler({
      mode: 'explain',
      sourceInstance: 'pg-dr-primary',
      failure: { Error: 'ECS.AccessDeniedException', Cause: `not json ${url}` },
    }).catch((e: unknown) => e as Error);
    expect((opaque as Error).message).toMatch(
      /did not run to its end: ECS.AccessDeniedException, with no stopped task/,
    );
    expect(printed.lines.join('') + (opaque as Error).message).not.toContain('SECRETTOKEN');
  });

  it('cuts a stop reason longer than it reads instead of refusing the task (ECS documents no length)', async () => {
    const long = `ResourceInitializationError: ${'x'.repeat(3000)}`;
    const explained = await handler({
      mode: 'explain',
      sourceInstance: 'pg-dr-primary',
      failure: {
        Error: 'States.TaskFailed',
        Cause: JSON.stringify(stoppedTask(undefined, { StoppedReason: long })),
      },
    }).catch((e: unknown) => e as Error);
    expect(explained).toMatchObject({ name: 'DumpFailed' });
    expect((explained as Error).message).toContain(long.slice(0, 1024));
    expect((explained as Error).message).not.toContain(long.slice(0, 1025));
  });

  it('records a failed run as DumpSucceeded 0', async () => {
    await expect(handler({ mode: 'failed', startedAt: STARTED })).resolves.toEqual({ recorded: 'failed' });
    expect(figures().find((f) => 'DumpSucceeded' in f)).toMatchObject({ DumpSucceeded: 0 });
  });
});
