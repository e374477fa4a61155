import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { followingIo, stackOutputs } from '../support/cli';
import { executionName, workflowInput } from '../../lib/cli/migrate-command';
import { blueGreenInputSchema, greenProvisioningInputSchema } from '../../lambdas/workflow-input/schema';
import { runCli } from '../../lib/cli/program';
import { MIGRATE_ARGV } from '../support/bad-values';

const SM_ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-blue-green-migration';
const EXEC_ARN = 'arn:aws:states:us-east-1:111122223333:execution:pg-dr-blue-green-migration:run';
const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);

const BASE = [...MIGRATE_ARGV, '--poll-interval', '1000'];

const entered = (name: string, id: number): HistoryEvent => ({
  id,
  timestamp: new Date(),
  type: 'TaskStateEntered',
  stateEnteredEventDetails: { name },
});

async function dr(argv: string[]) {
  const { io, written, cli } = followingIo('2026-11-24T10:00:00Z');
  const code = await runCli(argv, cli({ migrateIo: () => io }));
  return { code, ...written };
}

beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
  stackOutputs(cloudFormation, { BlueGreenStateMachineArn: SM_ARN });
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXEC_ARN, startDate: new Date() });
});

/** Options as commander gives them for a real cutover (MIGRATE_ARGV's values). */
const baseOptions = () => ({
  blueDbSecret: 'pg-dr/blue',
  greenDbSecret: 'pg-dr/green',
  blueEndpoint: 'blue.example.org',
  greenEndpoint: 'green.example.org',
  greenInstanceId: 'green',
  dnsZone: 'Z0EXAMPLE12345',
  dnsRecord: 'db.provability-fabric.org',
  subscription: 'dr_blue_green',
  catchUpTimeout: 30000,
  stack: 'pg-dr-orchestration',
  pollInterval: 2000,
  timeout: 60000,
});

describe('dr migrate', () => {
  it('starts the workflow found in the stack output with secret references only, and follows it step by step', async () => {
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: [entered('CheckConnectivity', 2)], nextToken: 'page-2' })
      .resolvesOnce({ events: [entered('PlanMigrations', 5)] })
      .resolvesOnce({ events: [entered('FlipDns', 20)] });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({
        executionArn: EXEC_ARN,
        stateMachineArn: SM_ARN,
        status: 'RUNNING',
        startDate: new Date(),
      })
      .resolves({
        executionArn: EXEC_ARN,
        stateMachineArn: SM_ARN,
        status: 'SUCCEEDED',
        startDate: new Date(),
        output: JSON.stringify({
          status: 'cut-over',
          drMessage: 'DR is degraded: the cross-region read replica still follows blue.',
        }),
      });

    const result = await dr(BASE);

    expect(result.code).toBe(0);
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start?.stateMachineArn).toBe(SM_ARN);
    expect(start?.name).toMatch(/^migrate-20261124-1000-[0-9a-f]{12}$/);
    expect(JSON.parse(start?.input ?? '{}')).toEqual({
      dryRun: false,
      blue: { secretId: 'pg-dr/blue' },
      green: { secretId: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:pg-dr/green-AbCdEf' },
      blueEndpoint: 'blue.abc.us-west-2.rds.amazonaws.com',
      greenEndpoint: 'green.def.us-west-2.rds.amazonaws.com',
      greenInstanceIdentifier: 'pg-dr-green',
      dns: {
        hostedZoneId: 'Z0EXAMPLE12345',
        recordName: 'db.provability-fabric.org',
        setIdentifier: 'db.provability-fabric.org-primary',
        secondarySetIdentifier: 'db.provability-fabric.org-secondary',
      },
      smokeTestUrl: 'https://api.provability-fabric.org/health',
      subscription: 'dr_blue_green',
      catchUpTimeoutMs: 30000,
      allowUnsynchronizedFlip: false,
    });
    expect(sfn.commandCalls(GetExecutionHistoryCommand).map((c) => c.args[0].input.nextToken)).toEqual([
      undefined,
      'page-2',
      undefined,
    ]);
    expect(result.out).toContain('[   0.0 s] → CheckConnectivity');
    expect(result.out).toContain('[   1.0 s] → FlipDns');
    expect(result.out).toContain('Execution SUCCEEDED.');
    expect(result.out).toContain('DR is degraded');
  });

  it('prints the plan of a dry run, which needs no endpoints', async () => {
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXEC_ARN,
      stateMachineArn: SM_ARN,
      status: 'SUCCEEDED',
      startDate: new Date(),
      output: JSON.stringify({
        status: 'dry-run',
        plan: {
          plan: {
            pending: ['20240201000000_index'],
            failed: [],
            drift: [{ name: '20240101_init', reason: 'modified' }],
          },
        },
      }),
    });
    const argv = BASE.filter(
      (a, i) =>
        !['--blue-endpoint', '--green-endpoint'].includes(a) &&
        !['--blue-endpoint', '--green-endpoint'].includes(BASE[i - 1] ?? ''),
    );
    const result = await dr([...argv, '--dry-run']);
    expect(result.code).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.name).toMatch(/^plan-/);
    expect(result.out).toContain('Pending migrations on green (1):\n  20240201000000_index');
    expect(result.out).toContain('Warning: 20240101_init was edited after it was applied');
  });

  it('exits 1 with the cause when the workflow fails', async () => {
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        {
          id: 9,
          timestamp: new Date(),
          type: 'TaskFailed',
          taskFailedEventDetails: {
            resourceType: 'lambda',
            resource: 'invoke',
            error: 'VerificationFailed',
            cause: '1 of 3 checks failed',
          },
        },
      ],
    });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXEC_ARN,
      stateMachineArn: SM_ARN,
      status: 'FAILED',
      startDate: new Date(),
      error: 'MigrationFailed',
      cause: 'See the on-call notification',
    });
    const result = await dr([...BASE, '--json']);
    expect(result.code).toBe(1);
    expect(result.out).toContain('✗ VerificationFailed: 1 of 3 checks failed');
    expect(JSON.parse(result.out.trim().split('\n').at(-1) ?? '{}')).toMatchObject({
      ok: false,
      status: 'FAILED',
      error: 'MigrationFailed',
    });
  });

  it('follows the existing execution when the same command already started one', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' }));
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXEC_ARN,
      stateMachineArn: SM_ARN,
      status: 'SUCCEEDED',
      startDate: new Date(),
      output: '{}',
    });
    const result = await dr([...BASE, '--execution-name', 'migrate-once']);
    expect(result.code).toBe(0);
    expect(sfn.commandCalls(DescribeExecutionCommand)[0]?.args[0].input.executionArn).toBe(
      'arn:aws:states:us-east-1:111122223333:execution:pg-dr-blue-green-migration:migrate-once',
    );
  });

  it('builds inputs the workflow itself accepts', () => {
    const base = {
      blueDbSecret: 'pg-dr/blue',
      greenDbSecret: 'pg-dr/green',
      dnsZone: 'Z0EXAMPLE12345',
      dnsRecord: 'db.provability-fabric.org',
      subscription: 'dr_blue_green',
      catchUpTimeout: 30000,
      stack: 'pg-dr-orchestration',
      pollInterval: 2000,
      timeout: 60000,
    };
    for (const options of [
      { ...base, dryRun: true },
      {
        ...base,
        blueEndpoint: 'blue.example.org',
        greenEndpoint: 'green.example.org',
        greenInstanceId: 'green',
        smokeTestUrl: 'https://api.example.org/health',
      },
      {
        ...base,
        blueEndpoint: 'blue.example.org',
        greenEndpoint: 'green.example.org',
        rebuildDr: true,
        greenInstanceId: 'green',
      },
    ]) {
      expect(blueGreenInputSchema.safeParse(workflowInput(options)).success).toBe(true);
    }
  });

  it('names executions after the input and the minute', () => {
    const t = Date.parse('2026-11-24T10:00:30Z');
    expect(executionName({ a: 1 }, t)).toBe(executionName({ a: 1 }, t + 20_000));
    expect(executionName({ a: 1 }, t)).not.toBe(executionName({ a: 2 }, t));
  });

  it('gives up following after the timeout, saying the execution goes on', async () => {
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXEC_ARN,
      stateMachineArn: SM_ARN,
      status: 'RUNNING',
      startDate: new Date(),
    });
    const result = await dr([...BASE, '--timeout', '5000']);
    expect(result.code).toBe(1);
    expect(result.out).toContain('FollowTimeout: still running after 5000 ms; it goes on in Step Functions');
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(6);
  });

  it.each([
    [
      ['--blue-db-secret', 'postgresql://u:Pw-leak@h/db'],
      '--blue-db-secret must be a Secrets Manager secret ARN or name',
    ],
    [['--green-endpoint', 'not a host'], '--green-endpoint must be a host name'],
    [['--dns-zone', 'zone1'], '--dns-zone must be a Route 53 hosted zone id'],
    [
      ['--smoke-test-url', 'https://user:pw@api/health'],
      '--smoke-test-url must be an http(s) URL without credentials',
    ],
    [['--catch-up-timeout', '-5'], '--catch-up-timeout must be a whole number from 100 to 600000 ms'],
    [['--green-instance-id', 'Green_DB'], '--green-instance-id must be an RDS instance identifier'],
    // The cutover records green as the writer in the topology, by its instance identifier.
    [['--green-instance-id', null], '--green-instance-id is required unless --dry-run'],
  ] as [[string, string | null], string][])(
    'rejects %j with exit 2 before calling AWS',
    async (override, message) => {
      const argv = [...BASE];
      const at = argv.indexOf(override[0]);
      if (override[1] === null) argv.splice(at, 2);
      else if (at >= 0) argv[at + 1] = override[1];
      else argv.push('--rebuild-dr', override[0], override[1]);
      const result = await dr(argv);
      expect(result.code).toBe(2);
      expect(result.err).toContain(message);
      expect(result.err + result.out).not.toContain('Pw-leak');
      expect(sfn.calls()).toHaveLength(0);
    },
  );

  it('sends a record written with its final dot as the workflow accepts it (checked by the workflow schema)', async () => {
    const argv = [...BASE];
    argv[argv.indexOf('--dns-record') + 1] = 'db.provability-fabric.org.';
    await dr(argv);
    const sent = JSON.parse(
      sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}',
    ) as unknown;
    expect(blueGreenInputSchema.safeParse(sent).success).toBe(true);
    expect(sent).toMatchObject({
      dns: { recordName: 'db.provability-fabric.org', setIdentifier: 'db.provability-fabric.org-primary' },
    });
  });

  it('requires the secrets and the DNS record', async () => {
    const result = await dr(['migrate', '--dns-zone', 'Z0EXAMPLE12345']);
    expect(result.code).toBe(2);
    expect(result.err).toContain("required option '--blue-db-secret <arn|name>' not specified");
  });

  it('with --provision-green, starts green provisioning with blue, the green to make and the migration, defaults from the config', async () => {
    const PROVISION_ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-green-provisioning';
    stackOutputs(cloudFormation, {
      BlueGreenStateMachineArn: SM_ARN,
      GreenProvisioningStateMachineArn: PROVISION_ARN,
    });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [entered('CreateGreen', 2)] });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXEC_ARN,
      stateMachineArn: PROVISION_ARN,
      status: 'SUCCEEDED',
      startDate: new Date(),
      output: JSON.stringify({ status: 'cut-over' }),
    });
    const result = await dr([
      'migrate',
      '--provision-green',
      'pg-dr-green-20261201',
      '--blue-db-secret',
      'pg-dr/blue',
      '--blue-endpoint',
      'blue.abc.us-west-2.rds.amazonaws.com',
      '--dns-zone',
      'Z0EXAMPLE12345',
      '--dns-record',
      'db.provability-fabric.org',
      '--smoke-test-url',
      'https://api.provability-fabric.org/health',
      '--poll-interval',
      '1000',
    ]);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start?.stateMachineArn).toBe(PROVISION_ARN);
    expect(start?.name).toMatch(/^provision-20261124-1000-[0-9a-f]{12}$/);
    const input: unknown = JSON.parse(start?.input ?? '{}');
    expect(input).toEqual({
      blueInstanceIdentifier: 'pg-dr-primary',
      greenInstanceIdentifier: 'pg-dr-green-20261201',
      greenReplicaInstanceIdentifier: 'pg-dr-green-20261201-dr',
      database: 'app',
      replicationSecretId: 'pg-dr/replication-user',
      migration: {
        dryRun: false,
        blue: { secretId: 'pg-dr/blue' },
        blueEndpoint: 'blue.abc.us-west-2.rds.amazonaws.com',
        dns: {
          hostedZoneId: 'Z0EXAMPLE12345',
          recordName: 'db.provability-fabric.org',
          setIdentifier: 'db.provability-fabric.org-primary',
          secondarySetIdentifier: 'db.provability-fabric.org-secondary',
        },
        smokeTestUrl: 'https://api.provability-fabric.org/health',
        subscription: 'dr_blue_green',
        catchUpTimeoutMs: 30000,
      },
    });
    expect(greenProvisioningInputSchema.safeParse(input).success).toBe(true);
    expect(result.out).toContain('Green provisioning provision-20261124-1000-');
  });

  it.each([
    [
      ['--green-db-secret', 'pg-dr/green'],
      '--provision-green makes green itself: leave out --green-db-secret',
    ],
    [['--dry-run'], 'leave out --dry-run'],
    [['--green-instance-id', 'pg-dr-green-x'], 'leave out --green-instance-id'],
    [['--blue-instance-id', 'Not_An-Id'], '--blue-instance-id'],
    [[], '--smoke-test-url'],
  ])('refuses %j with --provision-green, exit 2, nothing started', async (extra, message) => {
    const result = await dr([
      'migrate',
      '--provision-green',
      'pg-dr-green-1',
      '--blue-db-secret',
      'pg-dr/blue',
      '--blue-endpoint',
      'blue.abc.us-west-2.rds.amazonaws.com',
      '--dns-zone',
      'Z0EXAMPLE12345',
      '--dns-record',
      'db.provability-fabric.org',
      ...extra,
    ]);
    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('asks for the way back with --way-back, and rolls back with --rollback on the way back’s subscription', async () => {
    // Blue is retired when the way back's window closes: its instance is required.
    expect(() =>
      workflowInput({ ...baseOptions(), wayBack: true, replicationSecret: 'pg-dr/replication-user' }),
    ).toThrow('--blue-instance-id is required with the way back');
    const withWayBack = workflowInput({
      ...baseOptions(),
      wayBack: true,
      replicationSecret: 'pg-dr/replication-user',
      blueInstanceId: 'pg-dr-primary',
    });
    expect(withWayBack).toMatchObject({
      subscription: 'dr_blue_green',
      wayBack: { replicationSecretId: 'pg-dr/replication-user' },
      blueInstanceIdentifier: 'pg-dr-primary',
    });
    expect(withWayBack).not.toHaveProperty('rollback');
    const rollback = workflowInput({
      ...baseOptions(),
      rollback: true,
      replicationSecret: 'pg-dr/replication-user',
      blueInstanceId: 'pg-dr-green-20261201',
    });
    expect(rollback).toMatchObject({
      rollback: true,
      subscription: 'dr_way_back',
      wayBack: { replicationSecretId: 'pg-dr/replication-user' },
    });
    // Through the command line: the config's replication secret is the default.
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXEC_ARN,
      stateMachineArn: SM_ARN,
      status: 'SUCCEEDED',
      startDate: new Date(),
    });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    const result = await dr([...BASE, '--rollback']);
    expect(result.code).toBe(0);
    const input = JSON.parse(
      sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}',
    ) as Record<string, unknown>;
    expect(input).toMatchObject({
      rollback: true,
      subscription: 'dr_way_back',
      wayBack: { replicationSecretId: 'pg-dr/replication-user' },
    });
    expect(blueGreenInputSchema.safeParse(input).success).toBe(true);
    const dry = await dr([...BASE, '--rollback', '--dry-run']);
    expect(dry.code).toBe(2);
    expect(dry.err).toContain('--rollback cannot be a dry run');
  });

  it('needs green’s secret, or --provision-green to make green', async () => {
    const argv = MIGRATE_ARGV.filter(
      (a, i, all) => a !== '--green-db-secret' && all[i - 1] !== '--green-db-secret',
    );
    const result = await dr(argv);
    expect(result.code).toBe(2);
    expect(result.err).toContain('--green-db-secret is required (or --provision-green to make green first)');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('says how to proceed when the stack has no workflow output', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'x', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }],
    });
    const result = await dr(BASE);
    expect(result.code).toBe(2);
    expect(result.err).toContain(
      'stack pg-dr-orchestration has no BlueGreenStateMachineArn output; pass --state-machine-arn',
    );
  });
});
