import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { DumpCheckReport } from '../../lambdas/backups/dump-check-report';
import { handler } from '../../lambdas/backups/dump-check-steps-handler';
import { DUMP_CONTAINER } from '../../lambdas/backups/dump-runtime';
import { capturePrinted } from '../support/lambda';
import { bucketInMemory } from '../support/s3-bucket';

const BUCKET = 'pg-dr-backups-111122223333-us-east-1';
const ENV = {
  DUMP_BUCKET: BUCKET,
  DUMP_PREFIX: 'dumps/',
  RUNTIME_BUCKET: 'cdk-hnb659fds-assets-111122223333-us-east-1',
  RUNTIME_KEY: 'def456.zip',
  DUMP_SUBNET_IDS: 'subnet-0123456789abcdef0',
  DUMP_SECURITY_GROUP_ID: 'sg-0123456789abcdef0',
  AWS_REGION: 'us-east-1',
  // The presigner signs with whatever credentials the SDK finds: these are not real.
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE00',
  AWS_SECRET_ACCESS_KEY: 'example-not-a-real-secret-key-0000000000',
};
const REPORT_KEY = 'dump-restore-checks/20261201T060003Z-a1b2c3.json';

const passed: DumpCheckReport = {
  ok: true,
  dumpKey: 'dumps/pg-dr-primary/2026/12/01/20261201T030002Z-x.dump',
  sourceInstance: 'pg-dr-primary',
  dumpStartedAt: '2026-12-01T03:00:02.000Z',
  checks: ['checksum', 'restore', 'migrations', 'rows', 'smoke query'].map((name) => ({
    name,
    passed: true,
    detail: 'ok',
  })),
  restoreSeconds: 42.5,
};

describe('the dump restore test steps', () => {
  const s3 = mockClient(S3Client);
  const before = { ...process.env };
  let printed: ReturnType<typeof capturePrinted>;

  beforeEach(() => {
    s3.reset();
    Object.assign(process.env, ENV);
    printed = capturePrinted();
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
  const failure = (event: unknown): Promise<Error> =>
    handler(event).then(
      () => new Error('did not fail'),
      (e: unknown) => e as Error,
    );

  it('names the run’s report by its start and execution, and gives the task its script and network', async () => {
    const prepared = (await handler({
      mode: 'prepare',
      startedAt: '2026-12-01T06:00:03.123Z',
      executionName: 'monthly-A1B2C3',
    })) as Record<string, unknown>;
    expect(prepared.reportKey).toBe('dump-restore-checks/20261201T060003Z-monthlya1b2c3.json');
    expect(prepared).toMatchObject({
      subnets: ['subnet-0123456789abcdef0'],
      securityGroups: ['sg-0123456789abcdef0'],
    });
    expect(String(prepared.runtimeUrl)).toMatch(/^https:\/\/cdk-hnb659fds-assets-.*\/def456\.zip\?/);
  });

  it('passes on a report whose every check passed: DumpRestoreTestSucceeded 1 and the restore’s duration', async () => {
    bucketInMemory(s3).objects.set(REPORT_KEY, Buffer.from(JSON.stringify(passed)));
    // The stopped task is read only without a report: one shaped unlike any this reads fails nothing here.
    const oddTask = { Containers: Array.from({ length: 12 }, () => ({ Reason: 'x'.repeat(5000) })) };
    await expect(handler({ mode: 'conclude', reportKey: REPORT_KEY, task: oddTask })).resolves.toMatchObject({
      ok: true,
    });
    expect(figures().find((f) => 'DumpRestoreTestSucceeded' in f)).toMatchObject({
      DumpRestoreTestSucceeded: 1,
      DumpRestoreDuration: 42.5,
    });
  });

  it('fails RestoreChecksFailed naming each failed check, even when the task failed the state', async () => {
    const report = {
      ...passed,
      ok: false,
      checks: [
        { name: 'checksum', passed: false, detail: 'sha256 aa, the manifest says bb' },
        { name: 'restore', passed: true, detail: 'ok' },
      ],
    };
    bucketInMemory(s3).objects.set(REPORT_KEY, Buffer.from(JSON.stringify(report)));
    const error = await failure({
      mode: 'conclude',
      reportKey: REPORT_KEY,
      failure: { Error: 'States.TaskFailed', Cause: '{}' },
    });
    expect(error.name).toBe('RestoreChecksFailed');
    expect(error.message).toContain('failed its checks: checksum: sha256 aa, the manifest says bb');
    expect(figures().some((f) => f.DumpRestoreTestSucceeded === 1)).toBe(false);
  });

  it('fails with what kept the check from running (no dump replicated yet)', async () => {
    const report = {
      ok: false,
      checks: [],
      error: { name: 'NoDumpToRestore', message: 'no dump with its manifest under s3://b/dumps/' },
    };
    bucketInMemory(s3).objects.set(REPORT_KEY, Buffer.from(JSON.stringify(report)));
    const error = await failure({ mode: 'conclude', reportKey: REPORT_KEY });
    expect(error.name).toBe('NoDumpToRestore');
  });

  it('explains a task that left no report from its cause, never repeating the cause', async () => {
    bucketInMemory(s3);
    const cause = JSON.stringify({
      Containers: [
        { Name: 'runtime', ExitCode: 1 },
        { Name: DUMP_CONTAINER, Reason: 'dependency failed' },
      ],
      StopCode: 'EssentialContainerExited',
      Overrides: { X: 'https://x/?X-Amz-Security-Token=SECRETTOKEN' },
    });
    const error = await failure({
      mode: 'conclude',
      reportKey: REPORT_KEY,
      failure: { Error: 'States.TaskFailed', Cause: cause },
    });
    expect(error.name).toBe('DumpFailed');
    expect(error.message).toMatch(
      /^the dump restore check failed: the dump container never exited; dependency failed; the runtime container exited 1/,
    );
    expect(error.message).not.toContain('SECRETTOKEN');
    const silent = await failure({ mode: 'conclude', reportKey: REPORT_KEY });
    expect(silent.message).toMatch(/left no report at dump-restore-checks\//);
    // A caught error without a Cause (Step Functions may leave it out) is still explained.
    const causeless = await failure({
      mode: 'conclude',
      reportKey: REPORT_KEY,
      failure: { Error: 'ECS.AccessDeniedException' },
    });
    expect(causeless.message).toMatch(
      /did not run to its end: ECS.AccessDeniedException, with no stopped task/,
    );
  });

  it('explains from the stopped task a run that ended normally without a report (runTask.sync may end so)', async () => {
    bucketInMemory(s3);
    const task = {
      Containers: [
        { Name: 'runtime', ExitCode: 0 },
        {
          Name: DUMP_CONTAINER,
          ExitCode: 137,
          Reason: 'OutOfMemoryError: Container killed due to memory usage',
        },
      ],
      StopCode: 'EssentialContainerExited',
      StoppedReason: 'Essential container in task exited',
      Overrides: { X: 'https://x/?X-Amz-Security-Token=SECRETTOKEN' },
    };
    const error = await failure({ mode: 'conclude', reportKey: REPORT_KEY, task });
    expect(error.name).toBe('DumpFailed');
    expect(error.message).toBe(
      "the dump restore check failed: the dump container exited 137; OutOfMemoryError: Container killed due to memory usage; EssentialContainerExited; Essential container in task exited (the task's log says why); it left no report at " +
        REPORT_KEY,
    );
    // A task whose check container exited 0 but left no report: only that.
    const quiet = await failure({
      mode: 'conclude',
      reportKey: REPORT_KEY,
      task: { ...task, Containers: [{ Name: DUMP_CONTAINER, ExitCode: 0 }] },
    });
    expect(quiet.message).toBe(`the dump restore check left no report at ${REPORT_KEY}`);
  });

  it('refuses a report that is not one, and records a failed run as DumpRestoreTestSucceeded 0', async () => {
    bucketInMemory(s3).objects.set(REPORT_KEY, Buffer.from('{"ok": "yes"}'));
    expect((await failure({ mode: 'conclude', reportKey: REPORT_KEY })).message).toMatch(
      /is not a dump restore check report/,
    );
    await expect(handler({ mode: 'failed' })).resolves.toEqual({ recorded: 'failed' });
    expect(figures().find((f) => 'DumpRestoreTestSucceeded' in f)).toMatchObject({
      DumpRestoreTestSucceeded: 0,
    });
  });
});
