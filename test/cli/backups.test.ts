import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { BackupsIo } from '../../lib/cli/backups-command';
import { runCli } from '../../lib/cli/program';
import type { Topology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { followingIo, stackOutputs } from '../support/cli';
import { parameterStore } from '../support/parameter-store';

const SM_ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-restore-test';
const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);
const rds = mockClient(RDSClient);
const s3 = mockClient(S3Client);
const PRIMARY_BUCKET = 'pg-dr-backups-111122223333-us-west-2';
const DR_BUCKET = 'pg-dr-backups-111122223333-us-east-1';
const DUMP_LOCATIONS = JSON.stringify({
  prefix: 'dumps/',
  buckets: [
    { region: 'us-west-2', bucket: PRIMARY_BUCKET },
    { region: 'us-east-1', bucket: DR_BUCKET },
  ],
});
const dumpKey = (stamp: string) =>
  `dumps/pg-dr-primary/${stamp.slice(0, 4)}/${stamp.slice(4, 6)}/${stamp.slice(6, 8)}/${stamp}-a1b2c3`;

const TOPOLOGY: Topology = {
  generation: 1,
  writer: { region: 'us-west-2', instanceIdentifier: 'pg-dr-primary', endpoint: 'p.example' },
  replica: { region: 'us-east-1', instanceIdentifier: 'pg-dr-replica', endpoint: 'r.example' },
  retired: [],
  changedBy: 'first deploy',
};

async function dr(argv: string[]) {
  parameterStore({ [topologyParameterNames('pg-dr').document]: JSON.stringify(TOPOLOGY) });
  const { io, written, cli } = followingIo('2026-12-01T06:00:00Z');
  const backupsIo: BackupsIo = {
    ...io,
    rds: new RDSClient({ region: 'us-east-1' }),
    ssm: new SSMClient({ region: 'us-east-1' }),
    s3: (region) => new S3Client({ region }),
  };
  const code = await runCli(argv, cli({ backupsIo: () => backupsIo }));
  return { code, ...written };
}

beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
  rds.reset();
  s3.reset();
  stackOutputs(
    cloudFormation,
    { RestoreTestStateMachineArn: SM_ARN, DumpLocations: DUMP_LOCATIONS },
    'pg-dr-secondary',
  );
  // The primary bucket has yesterday's and today's dump (today's dump file without its manifest is not one
  // yet); the DR bucket has only yesterday's replicated so far.
  s3.on(ListObjectsV2Command, { Bucket: PRIMARY_BUCKET }).resolves({
    Contents: [
      { Key: `${dumpKey('20261130T030001Z')}.dump`, Size: 4096 },
      { Key: `${dumpKey('20261130T030001Z')}.manifest.json` },
      { Key: `${dumpKey('20261201T030002Z')}.dump`, Size: 4096 },
      { Key: `${dumpKey('20261201T030002Z')}.manifest.json` },
      { Key: `${dumpKey('20261201T050000Z')}.dump`, Size: 4096 },
    ],
  });
  s3.on(ListObjectsV2Command, { Bucket: DR_BUCKET }).resolves({
    Contents: [
      { Key: `${dumpKey('20261130T030001Z')}.dump`, Size: 4096 },
      { Key: `${dumpKey('20261130T030001Z')}.manifest.json` },
    ],
  });
  rds.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({
    DBInstanceAutomatedBackups: [
      {
        DBInstanceIdentifier: 'pg-dr-primary',
        Region: 'us-west-2',
        Status: 'replicating',
        RestoreWindow: { LatestTime: new Date('2026-12-01T05:50:00Z') },
      },
    ],
  });
  rds.on(DescribeDBInstancesCommand).resolves({
    DBInstances: [
      {
        DBInstanceIdentifier: 'pg-dr-restore-test-20261101t0500',
        DBInstanceStatus: 'available',
        TagList: [{ Key: 'pg-dr:role', Value: 'restore-test' }],
      },
      { DBInstanceIdentifier: 'pg-dr-replica', DBInstanceStatus: 'available' },
    ],
  });
  sfn.on(ListExecutionsCommand).resolves({
    executions: [
      {
        executionArn: `${SM_ARN}:monthly-1`,
        stateMachineArn: SM_ARN,
        name: 'monthly-1',
        status: 'SUCCEEDED',
        startDate: new Date('2026-11-01T05:00:00Z'),
        stopDate: new Date('2026-11-01T05:48:00Z'),
      },
    ],
  });
});

describe('dr backups', () => {
  it('says how old the writer’s newest restorable point in the DR region is, the last tests, and a throwaway left behind', async () => {
    const { code, out } = await dr(['backups', '--region', 'us-east-1']);
    expect(code).toBe(0);
    expect(out).toBe(
      [
        'Backups of the writer pg-dr-primary in us-east-1:',
        '  newest restorable point 2026-12-01T05:50:00.000Z (10 min ago), replicated from the writer’s region',
        'Restore tests (newest first):',
        '  monthly-1  SUCCEEDED  started 2026-11-01T05:00:00.000Z, ended 2026-11-01T05:48:00.000Z',
        'Throwaway instances (the next test deletes any a stopped test left):',
        '  pg-dr-restore-test-20261101t0500  available',
        'Logical dumps (the newest in each region’s backup bucket):',
        `  us-west-2  2026-12-01T03:00:02.000Z (3.0 h ago), of pg-dr-primary: s3://${PRIMARY_BUCKET}/${dumpKey('20261201T030002Z')}.manifest.json`,
        `  us-east-1  2026-11-30T03:00:01.000Z (27.0 h ago), of pg-dr-primary: s3://${DR_BUCKET}/${dumpKey('20261130T030001Z')}.manifest.json`,
        '',
      ].join('\n'),
    );
  });

  it('reports a bucket it cannot list, and a stack deployed before the dumps, instead of failing', async () => {
    s3.on(ListObjectsV2Command, { Bucket: DR_BUCKET }).rejects(
      Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }),
    );
    const denied = await dr(['backups', '--region', 'us-east-1', '--json']);
    expect(denied.code).toBe(0);
    expect((JSON.parse(denied.out) as { dumps: unknown[] }).dumps[1]).toEqual({
      region: 'us-east-1',
      bucket: DR_BUCKET,
      error: `cannot list s3://${DR_BUCKET}/dumps/ (AccessDenied: Access Denied)`,
    });
    stackOutputs(cloudFormation, { RestoreTestStateMachineArn: SM_ARN }, 'pg-dr-secondary');
    const older = await dr(['backups', '--region', 'us-east-1']);
    expect(older.code).toBe(0);
    expect(older.out).toContain(
      'Logical dumps (the newest in each region’s backup bucket):\n  unknown: stack pg-dr-secondary has no DumpLocations output: deploy this version\n',
    );
  });

  it('reports a writer without backups in the DR region instead of failing, in JSON too', async () => {
    rds.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({ DBInstanceAutomatedBackups: [] });
    const { code, out } = await dr(['backups', '--region', 'us-east-1', '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(out) as { ok: boolean; backup: { error: string } };
    expect(report.ok).toBe(true);
    expect(report.backup.error).toMatch(
      /^no restorable automated backup of pg-dr-primary \(of us-west-2\) in us-east-1/,
    );
  });

  it('refuses a limit that is not a whole number from 1 to 100, before any AWS call', async () => {
    const { code, err } = await dr(['backups', '--region', 'us-east-1', '--limit', '1000']);
    expect(code).toBe(2);
    expect(err).toContain('--limit');
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('dr backups restore-test', () => {
  it('starts the restore test and follows it to its end, with how long the restore took', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${SM_ARN}:x`, startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'SUCCEEDED',
      output: JSON.stringify({ conclusion: { restoreSeconds: 2700 } }),
    } as never);
    const { code, out } = await dr(['backups', 'restore-test', '--region', 'us-east-1']);
    expect(code).toBe(0);
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start).toMatchObject({ stateMachineArn: SM_ARN, input: '{}' });
    expect(start?.name).toMatch(/^restore-test-20261201-0600-[0-9a-f]{12}$/);
    expect(out).toMatch(/Restore test SUCCEEDED\. The restore took 45 min\.\n$/);
  });

  it('follows a test already running instead of starting a second, and exits 1 when it fails', async () => {
    const executionArn = `${SM_ARN.replace(':stateMachine:', ':execution:')}:monthly-2`;
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn,
          stateMachineArn: SM_ARN,
          name: 'monthly-2',
          status: 'RUNNING',
          startDate: new Date(),
        },
      ],
    });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'FAILED',
      error: 'RestoreChecksFailed',
      cause: 'missing table(s) public.order',
    } as never);
    const { code, out } = await dr(['backups', 'restore-test', '--region', 'us-east-1']);
    expect(code).toBe(1);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(out).toContain('Restore test monthly-2 is running: following it');
    expect(out).toContain('Restore test FAILED. Failed: RestoreChecksFailed: missing table(s) public.order');
  });
});
