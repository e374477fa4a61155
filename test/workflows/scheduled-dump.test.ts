import { S3Client } from '@aws-sdk/client-s3';
import { Client } from 'pg';
import { scheduledDumpSchema } from '../../lambdas/backups/dump-keys';
import { DUMP_CONTAINER } from '../../lambdas/backups/dump-runtime';
import { takeScheduledDump } from '../../lambdas/backups/scheduled-dump';
import { secretsManagerResolver } from '../../lambdas/shared/database';
import { applyPendingMigrations } from '../../lambdas/migrations/engine';
import { readMigrationsFolder } from '../../lambdas/migrations/folder';
import { runInWorld } from '../../lib/local-aws/workflow';
import { asPrincipal } from '../../lib/local-aws/world';
import { pgTool } from '../../lib/local-postgres/pg-tools';
import { DUMPABLE_MAJOR_VERSION } from '../../lib/local-postgres/server';
import { drNames } from '../../lib/names';
import { dumpConnection } from '../../lib/rehearsal/backup-restore';
import { testConfig } from '../infra/test-config';
import { EXAMPLES } from '../support/blue-green-harness';
import { databaseSecret } from '../support/lambda';
import { PostgresServer } from '../support/postgres';
import { execute } from '../support/replication';
import { MASTER_SECRET, testWorld } from '../support/world';

// Needs Debian's postgresql-client (pg_dump 15): .ci/run installs it; elsewhere pgTool says what to install.
const CONFIG = testConfig();
const NAMES = drNames(CONFIG);
const DATABASE = CONFIG.database.databaseName;
const BUCKET = NAMES.backupBucket(CONFIG.primaryRegion);
/** The prepare step presigns the task script's URL with whatever credentials the SDK finds: these are fake. */
const CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE00',
  AWS_SECRET_ACCESS_KEY: 'example-not-a-real-secret-key-0000000000',
};

type RunTaskParameters = {
  Cluster: string;
  TaskDefinition: string;
  LaunchType: string;
  NetworkConfiguration: { AwsvpcConfiguration: { Subnets: string[]; SecurityGroups: string[] } };
  Overrides: { ContainerOverrides: { Name: string; Environment: { Name: string; Value: string }[] }[] };
};

/** An override's environment value, as the task's container would see it. */
const overridden = (p: RunTaskParameters, container: string, name: string) =>
  p.Overrides.ContainerOverrides.find((c) => c.Name === container)?.Environment.find((e) => e.Name === name)
    ?.Value;

/**
 * The scheduled dump workflow in the local world: the synthesized app's prepare and conclude steps as their own
 * roles, and the ECS task played by the task's real work (takeScheduledDump) as the task definition's task
 * role, so its Secrets Manager read and its puts into the backup bucket are authorized by that role. A real
 * PostgreSQL 15 is the writer.
 */
describe('the scheduled dump, in the local world', () => {
  let writer: PostgresServer;

  beforeAll(async () => {
    writer = await PostgresServer.start({ name: 'dump-writer', majorVersion: DUMPABLE_MAJOR_VERSION });
    await execute(writer, 'postgres', `CREATE DATABASE ${DATABASE}`);
    const client = new Client(writer.clientConfig(DATABASE));
    await client.connect();
    try {
      await applyPendingMigrations(client, await readMigrationsFolder(EXAMPLES));
      await client.query(
        "INSERT INTO account (email) SELECT 'u' || g || '@example.org' FROM generate_series(1, 250) AS g",
      );
    } finally {
      await client.end();
    }
  }, 120_000);
  afterAll(async () => {
    await writer.destroy();
  });

  /**
   * Runs the workflow; the task does `task` (its real work by default) and answers as runTask.sync does: the
   * stopped task, its containers' exit codes.
   */
  async function run(task: 'dump' | 'exit 1' | 'exit 0 without a dump' | 'no capacity' = 'dump') {
    const world = testWorld({ secrets: { [MASTER_SECRET]: databaseSecret(writer, DATABASE).SecretString } });
    const taskRole = world.iam.principal(NAMES.stacks.primary, 'ScheduledDumpRuntimeTask');
    const given: RunTaskParameters[] = [];
    try {
      const result = await runInWorld({
        world,
        file: 'dump.asl.json',
        stateMachineName: NAMES.dumpStateMachine,
        input: {},
        environment: CREDENTIALS,
        handlers: {
          RunDump: async (parameters: RunTaskParameters) => {
            given.push(parameters);
            if (task === 'no capacity')
              throw Object.assign(new Error('RESOURCE:FARGATE'), { name: 'AmazonECS.Unknown' });
            // A container that exits non-zero fails runTask.sync itself, its Cause the stopped task as JSON.
            if (task === 'exit 1')
              throw Object.assign(
                new Error(
                  JSON.stringify({
                    LastStatus: 'STOPPED',
                    Containers: [
                      { Name: 'runtime', ExitCode: 0 },
                      { Name: DUMP_CONTAINER, ExitCode: 1 },
                    ],
                    StopCode: 'EssentialContainerExited',
                    StoppedReason: 'Essential container in task exited',
                    Overrides: parameters.Overrides,
                  }),
                ),
                { name: 'States.TaskFailed' },
              );
            let exitCode = 0;
            if (task === 'dump') {
              const input = scheduledDumpSchema.parse(
                JSON.parse(overridden(parameters, DUMP_CONTAINER, 'PG_DR_DUMP') ?? ''),
              );
              const local = dumpConnection(writer, DATABASE);
              await asPrincipal(taskRole, async () => {
                await takeScheduledDump(input, {
                  // The credentials from the secret, as the task reads them; the address of the local server.
                  resolve: async (ref) => ({
                    ...local.settings,
                    ...(await secretsManagerResolver({ ca: local.settings.ca ?? '' })(ref)),
                    host: local.settings.host,
                    port: local.settings.port,
                  }),
                  s3: new S3Client({ region: CONFIG.primaryRegion }),
                  pgDump: pgTool('pg_dump'),
                  workDir: writer.rootDir,
                  caFile: local.caFile ?? '',
                });
              }).catch(() => {
                exitCode = 1;
              });
            }
            return {
              LastStatus: 'STOPPED',
              Containers: [
                { Name: 'runtime', ExitCode: 0 },
                { Name: DUMP_CONTAINER, ExitCode: exitCode },
              ],
              StopCode: 'EssentialContainerExited',
              StoppedReason: 'Essential container in task exited',
            };
          },
        },
      });
      return { result, given, world, keys: world.s3.keys(BUCKET) };
    } finally {
      world.close();
    }
  }

  it('dumps the writer the topology names into the backup bucket, and passes on its whole manifest', async () => {
    const { result, given, keys, world } = await run();
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    // The output is the dump alone: not the task's presigned script URL, nor the stopped task.
    const output = result.output as { manifestKey: string; dumpKey: string; bytes: number };
    expect(Object.keys(output).sort()).toEqual(['bytes', 'dumpKey', 'lsn', 'manifestKey', 'seconds']);
    expect(keys).toEqual([output.dumpKey, output.manifestKey].sort());
    expect(output.manifestKey).toMatch(
      new RegExp(`^dumps/${CONFIG.database.primaryInstanceIdentifier}/\\d{4}/\\d{2}/\\d{2}/\\d{8}T\\d{6}Z-`),
    );
    expect(output.bytes).toBeGreaterThan(0);
    // The task as the machine starts it: this app's cluster and task definition, Fargate, the prepared
    // network, and the script's URL for the first container.
    const substitutions = world.substitutions(NAMES.dumpStateMachine);
    const parameters = given[0] as RunTaskParameters;
    expect(parameters).toMatchObject({
      Cluster: substitutions.TaskClusterArn,
      TaskDefinition: substitutions.TaskDefinitionArn,
      LaunchType: 'FARGATE',
    });
    expect(parameters.NetworkConfiguration.AwsvpcConfiguration.Subnets.length).toBeGreaterThan(0);
    expect(parameters.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups).toHaveLength(1);
    expect(overridden(parameters, 'runtime', 'DUMP_TASK_URL')).toMatch(/^https:\/\/.*X-Amz-Signature=/);
    expect(result.path).toEqual(['Prepare', 'RunDump', 'Conclude']);
  });

  it('names the container and its exit code when the task fails the state, and keeps its cause out', async () => {
    const { result, keys } = await run('exit 1');
    expect(result.status).toBe('FAILED');
    expect(result.error?.name).toBe('DumpFailed');
    expect(result.error?.message).toMatch(/the dump container exited 1; EssentialContainerExited/);
    expect(result.error?.message).not.toMatch(/X-Amz/);
    expect(result.path.slice(-4)).toEqual(['RunDump', 'ExplainTaskFailure', 'RecordFailed', 'DumpFailed']);
    expect(keys).toEqual([]);
  });

  it.each([
    ['it exits 0 but left no manifest', 'exit 0 without a dump', 'DumpMissing'],
    ['Fargate has no capacity for it', 'no capacity', 'AmazonECS.Unknown'],
  ] as const)('fails, and records the failure, when the task %s', async (_case, task, error) => {
    const { result, keys } = await run(task);
    expect(result.status).toBe('FAILED');
    expect(result.error?.name).toBe(error);
    expect(result.path.slice(-2)).toEqual(['RecordFailed', 'DumpFailed']);
    expect(keys).toEqual([]);
  });
});
