import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import {
  DescribeExecutionCommand,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { DumpCheckReport } from '../../lambdas/backups/dump-check-report';
import type { BackupsIo } from '../../lib/cli/backups-command';
import { runCli } from '../../lib/cli/program';
import type { Topology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { followingIo, stackOutputs } from '../support/cli';
import { parameterStore } from '../support/parameter-store';

const SM_ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-restore-test';
const DUMP_SM_ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-dump-restore-test';
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
const dumpFile = `${dumpKey('20261101T030001Z')}.dump`;

const TOPOLOGY: Topology = {
  generation: 1,
  writer: { region: 'us-west-2', instanceIdentifier: 'pg-dr-primary', endpoint: 'p.example' },
  replica: { region: 'us-east-1', instanceIdentifier: 'pg-dr-replica', endpoint: 'r.example' },
  retired: [],
  changedBy: 'first deploy',
};

async function dr(argv: string[], topology: Topology = TOPOLOGY) {
  parameterStore({ [topologyParameterNames('pg-dr').document]: JSON.stringify(topology) });
  const { io, written, cli } = followingIo('2026-12-01T06:00:00Z');
  const backupsIo: BackupsIo = {
    ...io,
    rds: new RDSClient({ region: 'us-east-1' }),
    rdsIn: (region) => new RDSClient({ region }),
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
    {
      RestoreTestStateMachineArn: SM_ARN,
      DumpRestoreTestStateMachineArn: DUMP_SM_ARN,
      DumpLocations: DUMP_LOCATIONS,
    },
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
  // The writer's backups replicated to the DR region, and its own in its region (each region answers for its own).
  rds.on(DescribeDBInstanceAutomatedBackupsCommand).callsFake(async (_input, getClient) => {
    const region = await getClient().config.region();
    return {
      DBInstanceAutomatedBackups: [
        region === 'us-east-1'
          ? {
              DBInstanceIdentifier: 'pg-dr-primary',
              Region: 'us-west-2',
              Status: 'replicating',
              RestoreWindow: { LatestTime: new Date('2026-12-01T05:50:00Z') },
            }
          : {
              DBInstanceIdentifier: 'pg-dr-primary',
              Region: 'us-west-2',
              Status: 'active',
              RestoreWindow: { LatestTime: new Date('2026-12-01T05:55:00Z') },
            },
      ],
    };
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
  // The dump restore tests: one running, one whose checks failed, one that passed, one whose task never wrote
  // a report, and one whose report is not one. Each report's key follows from its execution's name and start.
  const dumpRun = (name: string, status: ExecutionStatus, start: string, stop?: string) => ({
    executionArn: `${DUMP_SM_ARN}:${name}`,
    stateMachineArn: DUMP_SM_ARN,
    name,
    status,
    startDate: new Date(start),
    ...(stop === undefined ? {} : { stopDate: new Date(stop) }),
  });
  sfn.on(ListExecutionsCommand, { stateMachineArn: DUMP_SM_ARN }).resolves({
    executions: [
      dumpRun('manual-5', 'RUNNING', '2026-12-01T05:58:00.250Z'),
      dumpRun('monthly-4', 'FAILED', '2026-11-15T06:00:03.900Z', '2026-11-15T06:09:00Z'),
      dumpRun('monthly-3', 'SUCCEEDED', '2026-11-01T06:00:03Z', '2026-11-01T06:08:00Z'),
      dumpRun('monthly-2', 'FAILED', '2026-10-01T06:00:03Z', '2026-10-01T06:01:00Z'),
      dumpRun('monthly-1', 'FAILED', '2026-09-01T06:00:03Z', '2026-09-01T06:08:00Z'),
    ],
  });
  const checks = (failed: string[]): DumpCheckReport['checks'] =>
    ['checksum', 'restore', 'migrations', 'rows', 'smoke query'].map((name) => ({
      name,
      passed: !failed.includes(name),
      detail: failed.includes(name) ? 'public.account: 299 rows, the manifest says 300' : 'ok',
    }));
  const reports: Record<string, unknown> = {
    'dump-restore-checks/20261115T060003Z-monthly4.json': {
      ok: false,
      dumpKey: dumpFile,
      checks: checks(['rows', 'smoke query']),
      restoreSeconds: 40,
    },
    'dump-restore-checks/20261101T060003Z-monthly3.json': {
      ok: true,
      dumpKey: dumpFile,
      checks: checks([]),
      restoreSeconds: 42.5,
    },
    'dump-restore-checks/20260901T060003Z-monthly1.json': { ok: 'maybe' },
  };
  s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    const report = input.Bucket === DR_BUCKET ? reports[input.Key] : undefined;
    if (report === undefined)
      throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    return { Body: Readable.from([Buffer.from(JSON.stringify(report))]) };
  });
});

describe('dr backups', () => {
  it('says how old the writer’s newest restorable point in the DR region is, the last tests, and a throwaway left behind', async () => {
    const { code, out } = await dr(['backups', '--region', 'us-east-1']);
    expect(code).toBe(0);
    expect(out).toBe(
      [
        'Backups of the writer pg-dr-primary (automated backups; the restore test proves those in us-east-1):',
        '  us-east-1  newest restorable point 2026-12-01T05:50:00.000Z (10 min ago), replicated from the writer’s region',
        '  us-west-2  newest restorable point 2026-12-01T05:55:00.000Z (5 min ago), the writer’s own (it is in this region)',
        'Restore tests (newest first):',
        '  monthly-1  SUCCEEDED  started 2026-11-01T05:00:00.000Z, ended 2026-11-01T05:48:00.000Z',
        'Throwaway instances (the next test deletes any a stopped test left):',
        '  pg-dr-restore-test-20261101t0500  available',
        'Logical dumps (the newest in each region’s backup bucket):',
        `  us-west-2  2026-12-01T03:00:02.000Z (3.0 h ago), of pg-dr-primary: s3://${PRIMARY_BUCKET}/${dumpKey('20261201T030002Z')}.manifest.json`,
        `  us-east-1  2026-11-30T03:00:01.000Z (27.0 h ago), of pg-dr-primary: s3://${DR_BUCKET}/${dumpKey('20261130T030001Z')}.manifest.json`,
        'Dump restore tests (newest first):',
        '  manual-5  RUNNING  started 2026-12-01T05:58:00.250Z',
        `  monthly-4  FAILED  started 2026-11-15T06:00:03.900Z, ended 2026-11-15T06:09:00.000Z: checks failed: rows, smoke query, restored in 40 s (${dumpFile})`,
        `  monthly-3  SUCCEEDED  started 2026-11-01T06:00:03.000Z, ended 2026-11-01T06:08:00.000Z: every check passed, restored in 43 s (${dumpFile})`,
        '  monthly-2  FAILED  started 2026-10-01T06:00:03.000Z, ended 2026-10-01T06:01:00.000Z: no report (the check never ran to its end)',
        `  monthly-1  FAILED  started 2026-09-01T06:00:03.000Z, ended 2026-09-01T06:08:00.000Z: report dump-restore-checks/20260901T060003Z-monthly1.json unreadable (DumpFailed: the report s3://${DR_BUCKET}/dump-restore-checks/20260901T060003Z-monthly1.json is not a dump restore check report)`,
        '',
      ].join('\n'),
    );
    // Reports are read from the DR region's bucket only, and only for runs that ended.
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key)).toEqual([
      'dump-restore-checks/20261115T060003Z-monthly4.json',
      'dump-restore-checks/20261101T060003Z-monthly3.json',
      'dump-restore-checks/20261001T060003Z-monthly2.json',
      'dump-restore-checks/20260901T060003Z-monthly1.json',
    ]);
    expect(
      sfn.commandCalls(ListExecutionsCommand, { stateMachineArn: DUMP_SM_ARN })[0]?.args[0].input,
    ).toEqual({ stateMachineArn: DUMP_SM_ARN, maxResults: 5 });
  });

  it('gives a dump restore test that could not check its reason, in JSON too', async () => {
    sfn.on(ListExecutionsCommand, { stateMachineArn: DUMP_SM_ARN }).resolves({
      executions: [
        {
          executionArn: `${DUMP_SM_ARN}:monthly-9`,
          stateMachineArn: DUMP_SM_ARN,
          name: 'monthly-9',
          status: 'FAILED',
          startDate: new Date('2026-12-01T06:00:03Z'),
          stopDate: new Date('2026-12-01T06:01:00Z'),
        },
      ],
    });
    s3.on(GetObjectCommand).callsFake(() => ({
      Body: Readable.from([
        Buffer.from(
          JSON.stringify({
            ok: false,
            checks: [],
            error: { name: 'NoDumpToRestore', message: `no dump in s3://${DR_BUCKET}/dumps/ yet` },
          }),
        ),
      ]),
    }));
    const { code, out } = await dr(['backups', '--region', 'us-east-1', '--json']);
    expect(code).toBe(0);
    expect((JSON.parse(out) as { dumpRestoreTests: unknown }).dumpRestoreTests).toEqual([
      {
        name: 'monthly-9',
        status: 'FAILED',
        startDate: '2026-12-01T06:00:03.000Z',
        stopDate: '2026-12-01T06:01:00.000Z',
        report: {
          ok: false,
          reportKey: 'dump-restore-checks/20261201T060003Z-monthly9.json',
          failedChecks: [],
          error: `NoDumpToRestore: no dump in s3://${DR_BUCKET}/dumps/ yet`,
        },
      },
    ]);
    const text = await dr(['backups', '--region', 'us-east-1']);
    expect(text.out).toContain(
      `  monthly-9  FAILED  started 2026-12-01T06:00:03.000Z, ended 2026-12-01T06:01:00.000Z: could not check: NoDumpToRestore: no dump in s3://${DR_BUCKET}/dumps/ yet\n`,
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
    expect(older.out).toContain(
      'Dump restore tests (newest first):\n  unknown: stack pg-dr-secondary has no DumpLocations output: deploy this version\n',
    );
    stackOutputs(
      cloudFormation,
      { RestoreTestStateMachineArn: SM_ARN, DumpLocations: DUMP_LOCATIONS },
      'pg-dr-secondary',
    );
    const noWorkflow = await dr(['backups', '--region', 'us-east-1']);
    expect(noWorkflow.out).toContain(
      'Dump restore tests (newest first):\n  unknown: stack pg-dr-secondary has no DumpRestoreTestStateMachineArn output: deploy this version\n',
    );
  });

  it('reports a writer without backups in the DR region instead of failing, in JSON too', async () => {
    rds.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({ DBInstanceAutomatedBackups: [] });
    const { code, out } = await dr(['backups', '--region', 'us-east-1', '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(out) as { ok: boolean; backups: { region: string; error: string }[] };
    expect(report.ok).toBe(true);
    expect(report.backups.map((b) => b.region)).toEqual(['us-east-1', 'us-west-2']);
    expect(report.backups[0]?.error).toMatch(
      /^no restorable automated backup of pg-dr-primary \(of us-west-2\) in us-east-1/,
    );
    expect(report.backups[1]?.error).toMatch(
      /^no restorable automated backup of pg-dr-primary \(of us-west-2\) in us-west-2/,
    );
  });

  it('after a failover, lists the writer’s own backups in the DR region and those replicated to its old region', async () => {
    const afterFailover: Topology = {
      ...TOPOLOGY,
      generation: 3,
      writer: { region: 'us-east-1', instanceIdentifier: 'pg-dr-replica', endpoint: 'r.example' },
      // Not re-protected yet: the topology names no other region; the stack's dump locations do.
      replica: null,
    };
    rds.on(DescribeDBInstanceAutomatedBackupsCommand).callsFake(async (_input, getClient) => {
      const region = await getClient().config.region();
      return {
        DBInstanceAutomatedBackups: [
          {
            DBInstanceIdentifier: 'pg-dr-replica',
            Region: 'us-east-1',
            Status: region === 'us-east-1' ? 'active' : 'replicating',
            RestoreWindow: {
              LatestTime: new Date(region === 'us-east-1' ? '2026-12-01T05:58:00Z' : '2026-12-01T05:40:00Z'),
            },
          },
        ],
      };
    });
    const { out } = await dr(['backups', '--region', 'us-east-1'], afterFailover);
    expect(out).toContain(
      [
        'Backups of the writer pg-dr-replica (automated backups; the restore test proves those in us-east-1):',
        '  us-east-1  newest restorable point 2026-12-01T05:58:00.000Z (2 min ago), the writer’s own (it is in this region)',
        '  us-west-2  newest restorable point 2026-12-01T05:40:00.000Z (20 min ago), replicated from the writer’s region',
      ].join('\n'),
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
  it('with --dump, starts the dump restore test and says how long the restore of the dump took', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${DUMP_SM_ARN}:x`, startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'SUCCEEDED',
      // The workflow's output is its report (statemachines/dump-restore-test.asl.json).
      output: JSON.stringify({ ok: true, checks: [], restoreSeconds: 754 }),
    } as never);
    const { code, out } = await dr(['backups', 'restore-test', '--dump', '--region', 'us-east-1']);
    expect(code).toBe(0);
    expect(sfn.commandCalls(ListExecutionsCommand)[0]?.args[0].input).toMatchObject({
      stateMachineArn: DUMP_SM_ARN,
      statusFilter: 'RUNNING',
    });
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start).toMatchObject({ stateMachineArn: DUMP_SM_ARN, input: '{}' });
    expect(start?.name).toMatch(/^dump-restore-test-20261201-0600-[0-9a-f]{12}$/);
    expect(out).toContain('Dump restore test ');
    expect(out).toMatch(/Dump restore test SUCCEEDED\. The restore took 13 min\.\n$/);
  });

  it('run again in the same minute after a quick failure, says it shows that run, not a new one', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' }));
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'FAILED',
      stopDate: new Date('2026-12-01T06:00:20Z'),
      error: 'NoBackupToRestore',
      cause: 'no restorable automated backup',
    } as never);
    const { code, out } = await dr(['backups', 'restore-test', '--region', 'us-east-1']);
    expect(code).toBe(1);
    expect(out).toMatch(
      /^Execution restore-test-20261201-0600-[0-9a-f]{12} already ran \(FAILED, ended 2026-12-01T06:00:20\.000Z\): this is its outcome, not a new run; the same command in a later minute, or another execution name, starts one/,
    );
  });

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
