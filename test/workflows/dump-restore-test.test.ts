import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { DumpCheckReport } from '../../lambdas/backups/dump-check-report';
import { DUMP_CONTAINER } from '../../lambdas/backups/dump-runtime';
import { runInWorld } from '../../lib/local-aws/workflow';
import { asPrincipal } from '../../lib/local-aws/world';
import { drNames } from '../../lib/names';
import { testConfig } from '../infra/test-config';
import { testWorld } from '../support/world';

const CONFIG = testConfig();
const NAMES = drNames(CONFIG);
const DR = CONFIG.secondaryRegion;
const BUCKET = NAMES.backupBucket(DR);
const CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE00',
  AWS_SECRET_ACCESS_KEY: 'example-not-a-real-secret-key-0000000000',
};

type RunTaskParameters = {
  Overrides: { ContainerOverrides: { Name: string; Environment: { Name: string; Value: string }[] }[] };
};

const report = (ok: boolean): DumpCheckReport => ({
  ok,
  dumpKey: 'dumps/pg-dr-primary/2026/12/01/20261201T030002Z-x.dump',
  sourceInstance: 'pg-dr-primary',
  checks: [
    { name: 'checksum', passed: true, detail: 'sha256 aa' },
    {
      name: 'rows',
      passed: ok,
      detail: ok ? 'as the manifest' : 'public.account: 299 rows, the manifest says 300',
    },
  ],
  restoreSeconds: 12,
});

/**
 * The dump restore test workflow in the local world: its steps as their own role, the ECS task played by a
 * handler that writes the report as the task definition's role (so the report's put is authorized by it) and
 * ends as runTask.sync does (a non-zero exit fails the state with the stopped task as its cause).
 */
describe('the dump restore test, in the local world', () => {
  async function run(task: 'passes' | 'checks fail' | 'never starts') {
    const world = testWorld();
    const taskRole = world.iam.principal(NAMES.stacks.secondary, 'DumpRestoreTestRuntimeTask');
    try {
      return await runInWorld({
        world,
        file: 'dump-restore-test.asl.json',
        stateMachineName: NAMES.dumpRestoreTestStateMachine,
        input: {},
        environment: CREDENTIALS,
        handlers: {
          RunCheck: async (parameters: RunTaskParameters) => {
            const key = parameters.Overrides.ContainerOverrides.find(
              (c) => c.Name === DUMP_CONTAINER,
            )?.Environment.find((e) => e.Name === 'PG_DR_CHECK_REPORT')?.Value;
            const stopped = (exitCode: number | undefined) =>
              JSON.stringify({
                Containers: [
                  { Name: 'runtime', ExitCode: exitCode === undefined ? 1 : 0 },
                  { Name: DUMP_CONTAINER, ...(exitCode === undefined ? {} : { ExitCode: exitCode }) },
                ],
                StopCode: 'EssentialContainerExited',
                Overrides: parameters.Overrides,
              });
            if (task === 'never starts')
              throw Object.assign(new Error(stopped(undefined)), { name: 'States.TaskFailed' });
            await asPrincipal(taskRole, () =>
              new S3Client({ region: DR }).send(
                new PutObjectCommand({
                  Bucket: BUCKET,
                  Key: key,
                  Body: JSON.stringify(report(task === 'passes')),
                }),
              ),
            );
            if (task === 'checks fail')
              throw Object.assign(new Error(stopped(1)), { name: 'States.TaskFailed' });
            return JSON.parse(stopped(0)) as unknown;
          },
        },
      });
    } finally {
      world.close();
    }
  }

  it('passes on the report the task left, every check passed', async () => {
    const result = await run('passes');
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path).toEqual(['Prepare', 'RunCheck', 'Conclude']);
    // The output is the report alone: not the task's presigned script URL, nor the stopped task.
    expect(result.output).toEqual<DumpCheckReport>({
      ok: true,
      dumpKey: expect.any(String) as string,
      sourceInstance: expect.any(String) as string,
      checks: expect.any(Array) as DumpCheckReport['checks'],
      restoreSeconds: 12,
    });
  });

  it('fails RestoreChecksFailed, naming the check, when the task exits 1 after its report', async () => {
    const result = await run('checks fail');
    expect(result.status).toBe('FAILED');
    expect(result.error?.name).toBe('RestoreChecksFailed');
    expect(result.error?.message).toContain('rows: public.account: 299 rows, the manifest says 300');
    expect(result.path.slice(-4)).toEqual(['RunCheck', 'ConcludeAfterFailure', 'RecordFailed', 'TestFailed']);
  });

  it('fails DumpFailed from the stopped task when it never ran, without repeating the cause', async () => {
    const result = await run('never starts');
    expect(result.status).toBe('FAILED');
    expect(result.error?.name).toBe('DumpFailed');
    expect(result.error?.message).toMatch(/^the dump restore check failed: the dump container never exited/);
    expect(result.error?.message).not.toMatch(/X-Amz/);
  });
});
