import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { blueGreenInputSchema, blueRetirementInputSchema } from '../../lambdas/workflow-input/schema';
import { runCli } from '../../lib/cli/program';
import { followingIo, stackOutputs } from '../support/cli';

const MIGRATION = 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-blue-green-migration';
const RETIREMENT = 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-blue-retirement';
const WAITING = 'arn:aws:states:us-east-1:111122223333:execution:pg-dr-blue-retirement:provision-1';
const STARTED = 'arn:aws:states:us-east-1:111122223333:execution:any:started';
const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);

/** What the migration gave the retirement it scheduled after the cutover to green. */
const RETIREMENT_INPUT = {
  instanceIdentifier: 'pg-dr-primary',
  writerInstanceIdentifier: 'pg-dr-green-20261201',
  retiring: { secretId: 'pg-dr/postgres-master' },
  writer: { secretId: 'pg-dr/pg-dr-green-20261201' },
  retiringEndpoint: 'primary.abc.us-west-2.rds.amazonaws.com',
  writerEndpoint: 'green.abc.us-west-2.rds.amazonaws.com',
  wayBack: { replicationSecretId: 'pg-dr/replication-user' },
  dns: {
    hostedZoneId: 'Z0EXAMPLE12345',
    recordName: 'db.provability-fabric.org',
    setIdentifier: 'db.provability-fabric.org-primary',
    secondarySetIdentifier: 'db.provability-fabric.org-secondary',
  },
  catchUpTimeoutMs: 30000,
};

async function dr(argv: string[]) {
  const { io, written, cli } = followingIo('2026-12-01T10:00:00Z');
  const code = await runCli(argv, cli({ migrateIo: () => io }));
  return { code, ...written };
}

function waiting(executions = [{ executionArn: WAITING, name: 'provision-1' }], state = 'WaitForWindow') {
  sfn.on(GetExecutionHistoryCommand, { executionArn: WAITING }).resolves({
    events: [
      { id: 3, timestamp: new Date(), type: 'WaitStateEntered', stateEnteredEventDetails: { name: state } },
      {
        id: 2,
        timestamp: new Date(),
        type: 'TaskStateExited',
        stateExitedEventDetails: { name: 'PlanRetirement' },
      },
    ],
  });
  sfn.on(ListExecutionsCommand, { stateMachineArn: RETIREMENT, statusFilter: 'RUNNING' }).resolves({
    executions: executions.map((e) => ({
      ...e,
      stateMachineArn: RETIREMENT,
      status: 'RUNNING',
      startDate: new Date(),
    })),
  });
  sfn.on(DescribeExecutionCommand, { executionArn: WAITING }).resolves({
    executionArn: WAITING,
    name: 'provision-1',
    stateMachineArn: RETIREMENT,
    status: 'RUNNING',
    startDate: new Date(),
    input: JSON.stringify(RETIREMENT_INPUT),
  });
  sfn.on(DescribeExecutionCommand, { executionArn: STARTED }).resolves({
    executionArn: STARTED,
    stateMachineArn: MIGRATION,
    status: 'SUCCEEDED',
    startDate: new Date(),
  });
}

beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
  stackOutputs(cloudFormation, {
    BlueGreenStateMachineArn: MIGRATION,
    BlueRetirementStateMachineArn: RETIREMENT,
  });
  sfn.on(StartExecutionCommand).resolves({ executionArn: STARTED, startDate: new Date() });
  sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
});

describe('dr migrate rollback and dr migrate finish (the way back’s window)', () => {
  it('rollback: stops the waiting retirement, then cuts back over to the database it would have retired', async () => {
    waiting();
    const result = await dr([
      'migrate',
      'rollback',
      '--stack',
      'pg-dr-orchestration',
      '--region',
      'us-east-1',
    ]);
    expect(result.code).toBe(0);
    expect(sfn.commandCalls(StopExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: WAITING, cause: 'dr migrate rollback' },
    ]);
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start?.stateMachineArn).toBe(MIGRATION);
    const input = JSON.parse(start?.input ?? '{}') as Record<string, unknown>;
    expect(blueGreenInputSchema.safeParse(input).success).toBe(true);
    // Blue is the current writer; green the previous one, followed by the way back's subscription.
    expect(input).toMatchObject({
      rollback: true,
      blue: { secretId: 'pg-dr/pg-dr-green-20261201' },
      green: { secretId: 'pg-dr/postgres-master' },
      blueEndpoint: 'green.abc.us-west-2.rds.amazonaws.com',
      greenEndpoint: 'primary.abc.us-west-2.rds.amazonaws.com',
      blueInstanceIdentifier: 'pg-dr-green-20261201',
      greenInstanceIdentifier: 'pg-dr-primary',
      subscription: 'dr_way_back',
      wayBack: { replicationSecretId: 'pg-dr/replication-user' },
    });
    // The stop comes before the start: the window cannot close under the rollback.
    const order = sfn.calls().map((c) => (c.args[0] as object).constructor.name);
    expect(order.indexOf('StopExecutionCommand')).toBeLessThan(order.indexOf('StartExecutionCommand'));
  });

  it('finish: stops the waiting retirement and starts it again without a window', async () => {
    waiting();
    const result = await dr(['migrate', 'finish', '--stack', 'pg-dr-orchestration', '--region', 'us-east-1']);
    expect(result.code).toBe(0);
    expect(sfn.commandCalls(StopExecutionCommand)).toHaveLength(1);
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start).toMatchObject({ stateMachineArn: RETIREMENT, name: 'provision-1-finish-20261201t1000' });
    const input = JSON.parse(start?.input ?? '{}') as unknown;
    expect(blueRetirementInputSchema.parse(input)).toEqual({ ...RETIREMENT_INPUT, now: true });
  });

  it('says no way back is open when no retirement waits, and asks which when several do, changing nothing', async () => {
    waiting([]);
    const none = await dr(['migrate', 'rollback', '--stack', 'pg-dr-orchestration', '--region', 'us-east-1']);
    expect(none.code).toBe(2);
    expect(none.err).toContain('no way back is open');
    sfn.reset();
    waiting([
      { executionArn: WAITING, name: 'provision-1' },
      { executionArn: `${WAITING}b`, name: 'provision-1b' },
    ]);
    const several = await dr([
      'migrate',
      'finish',
      '--stack',
      'pg-dr-orchestration',
      '--region',
      'us-east-1',
    ]);
    expect(several.code).toBe(2);
    expect(several.err).toContain('several blue retirements are waiting (provision-1, provision-1b)');
    expect(sfn.commandCalls(StopExecutionCommand)).toHaveLength(0);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses a retirement past its window (the way back is ending): nothing stopped or started', async () => {
    waiting(undefined, 'Retire');
    for (const command of ['rollback', 'finish']) {
      const result = await dr([
        'migrate',
        command,
        '--stack',
        'pg-dr-orchestration',
        '--region',
        'us-east-1',
      ]);
      expect(result.code).toBe(2);
      expect(result.err).toContain('the blue retirement provision-1 is past its window (in Retire)');
    }
    expect(sfn.commandCalls(StopExecutionCommand)).toHaveLength(0);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('starts the retirement again when the rollback fails: the way back stays open for another window', async () => {
    waiting();
    sfn.on(DescribeExecutionCommand, { executionArn: STARTED }).resolves({
      executionArn: STARTED,
      stateMachineArn: MIGRATION,
      status: 'FAILED',
      startDate: new Date(),
    });
    const result = await dr([
      'migrate',
      'rollback',
      '--stack',
      'pg-dr-orchestration',
      '--region',
      'us-east-1',
    ]);
    expect(result.code).toBe(1);
    const starts = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(starts.map((i) => i.stateMachineArn)).toEqual([MIGRATION, RETIREMENT]);
    expect(starts[1]?.name).toBe('provision-1-kept-20261201t1000');
    expect(JSON.parse(starts[1]?.input ?? '{}')).toEqual(RETIREMENT_INPUT);
    expect(result.out).toContain('blue retirement started again');
  });

  it('keeps dr migrate’s own required options to dr migrate', async () => {
    const result = await dr(['migrate', '--dns-zone', 'Z0EXAMPLE12345']);
    expect(result.code).toBe(2);
    expect(result.err).toContain("required option '--blue-db-secret <arn|name>' not specified");
  });
});
