import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  GetActivityTaskCommand,
  GetExecutionHistoryCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { followingIo, stackOutputs } from '../support/cli';
import type { FailoverIo } from '../../lib/cli/failover-command';
import { derivedExecutionName } from '../../lib/cli/follow-execution';
import { runCli } from '../../lib/cli/program';

const SM_ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-region-failover';
const ACTIVITY_ARN = 'arn:aws:states:us-east-1:111122223333:activity:pg-dr-failover-approval';
const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);

/** What the approval task carries: the workflow's plan and measured window. */
const APPROVAL_INPUT = JSON.stringify({
  executionName: 'failover-20261130-1800',
  plan: {
    generation: 4,
    writer: { instanceIdentifier: 'pg-dr-primary', region: 'us-west-2' },
    replica: { instanceIdentifier: 'pg-dr-replica', region: 'us-east-1', endpoint: 'replica.example' },
  },
  measured: {
    writerReachable: false,
    writerWritable: false,
    window: { summary: 'the writer cannot be asked: commits after 2026-11-30T17:58:00Z may be lost' },
  },
});

async function dr(argv: string[], answers: string[] = []) {
  const asked: string[] = [];
  const { io: following, written, cli } = followingIo('2026-11-30T18:00:00Z');
  const io: FailoverIo = {
    ...following,
    user: 'oncall',
    ask: (question) => {
      asked.push(question);
      return Promise.resolve(answers.shift() ?? '');
    },
  };
  const code = await runCli(argv, cli({ failoverIo: () => io }));
  return { code, ...written, asked };
}

beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
  stackOutputs(cloudFormation, {
    RegionFailoverStateMachineArn: SM_ARN,
    FailoverApprovalActivityArn: ACTIVITY_ARN,
  });
});

describe('dr failover', () => {
  it('starts the failover approved with --promote, follows it, and reports the writer, when it took writes and the RPO', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${SM_ARN}:failover-20261130-1800`, startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'SUCCEEDED',
      output: JSON.stringify({
        status: 'failed-over',
        writer: { instanceIdentifier: 'pg-dr-replica', region: 'us-east-1' },
        rpo: { summary: 'the replica has replayed everything the writer has written (0/3000060)' },
        writableAt: '2026-11-30T18:04:30.000Z',
      }),
    } as never);
    const { code, out } = await dr(['failover', '--promote', '--region', 'us-east-1']);
    expect(code).toBe(0);
    const started = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    // The minute and a digest of the input: the same command attaches, a retry with other flags starts anew.
    expect(started?.stateMachineArn).toBe(SM_ARN);
    expect(started?.name).toMatch(/^failover-20261130-1800-[0-9a-f]{12}$/);
    expect(JSON.parse(started?.input ?? '{}')).toEqual({ approved: true, force: false, planned: false });
    expect(out).toContain('Approved as started (--promote)');
    expect(out).toContain('Writer: pg-dr-replica in us-east-1, taking writes since 2026-11-30T18:04:30.000Z');
    expect(out).toContain(
      'Data loss (RPO), measured before the promotion: the replica has replayed everything',
    );
  });

  it('without --promote, says it waits for dr failover approve; a failed failover exits 1', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${SM_ARN}:x`, startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'FAILED',
      error: 'FailoverRefused',
      cause: 'Nothing was changed; see the on-call notification.',
    } as never);
    const { code, out } = await dr(['failover', '--force', '--region', 'us-east-1']);
    expect(code).toBe(1);
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}')).toEqual({
      approved: false,
      force: true,
      planned: false,
    });
    expect(out).toContain('It pages on-call and waits for: dr failover approve');
    expect(out).toContain('Failed: FailoverRefused');
  });
});

describe('dr failover --adopt', () => {
  it('starts a failover that adopts the restored instance, and says what became of the former replica', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${SM_ARN}:adopt-20261130-1800`, startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'SUCCEEDED',
      output: JSON.stringify({
        status: 'failed-over',
        writer: { instanceIdentifier: 'pg-dr-restored', region: 'us-west-2' },
        adopted: { restoredFrom: 'pg-dr-primary', formerReplica: 'pg-dr-replica' },
        rpo: { summary: 'pg-dr-restored holds pg-dr-primary as of 2026-11-30T17:00:00.000Z' },
        writableAt: '2026-11-30T18:04:30.000Z',
      }),
    } as never);
    const { code, out } = await dr(['failover', '--adopt', 'pg-dr-restored', '--region', 'us-east-1']);
    expect(code).toBe(0);
    const started = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(started?.name).toMatch(/^adopt-20261130-1800-[0-9a-f]{12}$/);
    expect(JSON.parse(started?.input ?? '{}')).toEqual({
      approved: false,
      force: false,
      planned: false,
      adopt: { instanceIdentifier: 'pg-dr-restored' },
    });
    expect(out).toContain('Adopting pg-dr-restored: it retires the writer, then opens the restored instance');
    expect(out).toContain('It pages on-call and waits for: dr failover approve');
    expect(out).toContain('Writer: pg-dr-restored in us-west-2');
    expect(out).toContain('The former replica pg-dr-replica is no longer in the topology: delete it');
  });

  it('refuses --adopt with --force, and an identifier RDS would refuse, before any call', async () => {
    const forced = await dr(['failover', '--adopt', 'pg-dr-restored', '--force', '--region', 'us-east-1']);
    expect(forced.code).toBe(2);
    expect(forced.err).toMatch(/--force.*cannot be used with option '--adopt/);
    const bad = await dr(['failover', '--adopt', 'not_an_id', '--region', 'us-east-1']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--adopt');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('dr failover approve shows an adoption as one: the restore point, the former replica, the instance to type', async () => {
    sfn.on(GetActivityTaskCommand).resolves({
      taskToken: 'token-4',
      input: JSON.stringify({
        executionName: 'adopt-20261130-1800',
        plan: {
          generation: 4,
          writer: { instanceIdentifier: 'pg-dr-primary', region: 'us-west-2' },
          replica: {
            instanceIdentifier: 'pg-dr-restored',
            region: 'us-west-2',
            endpoint: 'restored.example',
          },
          adopt: {
            restoredFrom: 'pg-dr-primary',
            restorePoint: '2026-11-30T17:00:00.000Z',
            formerReplica: 'pg-dr-replica',
          },
        },
        measured: { writerReachable: true, writerWritable: true, window: { summary: 'lacks the last hour' } },
      }),
    });
    sfn.on(SendTaskSuccessCommand).resolves({});
    const { code, out, asked } = await dr(
      ['failover', 'approve', '--region', 'us-east-1'],
      ['pg-dr-restored'],
    );
    expect(code).toBe(0);
    expect(out).toContain(
      'adopt    pg-dr-restored in us-west-2 (restored.example), restored from pg-dr-primary (restore point 2026-11-30T17:00:00.000Z), as the writer',
    );
    expect(out).toContain('drop     pg-dr-replica, the replica, from the topology');
    expect(out).toContain('answer the adopted writer');
    expect(asked).toEqual([
      'Type pg-dr-restored to adopt it (anything else asks again; three tries, then it keeps waiting): ',
    ]);
  });
});

describe('execution names', () => {
  it('attach a repeated command, and start a retry with other flags anew (the same minute)', () => {
    const t = Date.parse('2026-11-30T18:00:10Z');
    const plain = { approved: false, force: false, planned: false };
    expect(derivedExecutionName('failover', plain, t)).toBe(
      derivedExecutionName('failover', plain, t + 30_000),
    );
    expect(derivedExecutionName('failover', plain, t)).not.toBe(
      derivedExecutionName('failover', { ...plain, force: true }, t),
    );
  });
});

describe('dr switchover', () => {
  it('starts the workflow planned and approved (the command is the decision), and follows it', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${SM_ARN}:switchover-20261130-1800`, startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', output: '{}' } as never);
    const { code, out } = await dr(['switchover', '--region', 'us-east-1', '--json']);
    expect(code).toBe(0);
    const started = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(started?.name).toMatch(/^switchover-20261130-1800-[0-9a-f]{12}$/);
    expect(JSON.parse(started?.input ?? '{}')).toEqual({ approved: true, force: false, planned: true });
    expect(out).toContain('Planned: it retires the writer, waits for the replica to replay its last write');
    expect(JSON.parse(out.trim().split('\n').at(-1) ?? '{}')).toMatchObject({
      ok: true,
      command: 'switchover',
    });
  });
});

describe('dr failover approve', () => {
  it('shows the plan and the window, and approves only when the replica’s identifier is typed', async () => {
    sfn.on(GetActivityTaskCommand).resolves({ taskToken: 'token-1', input: APPROVAL_INPUT });
    sfn.on(SendTaskSuccessCommand).resolves({});
    const { code, out, asked, err } = await dr(
      ['failover', 'approve', '--region', 'us-east-1'],
      ['pg-dr-replica'],
    );
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(sfn.commandCalls(GetActivityTaskCommand)[0]?.args[0].input).toMatchObject({
      activityArn: ACTIVITY_ARN,
    });
    expect(out).toContain('promote  pg-dr-replica in us-east-1 (replica.example) to the writer');
    expect(out).toContain('it does not answer (its region lost?)');
    expect(out).toContain('data-loss window  the writer cannot be asked: commits after 2026-11-30T17:58:00Z');
    expect(asked).toEqual([
      'Type pg-dr-replica to promote it (anything else asks again; three tries, then it keeps waiting): ',
    ]);
    const answer = sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input;
    expect(answer?.taskToken).toBe('token-1');
    expect(JSON.parse(answer?.output ?? '{}')).toMatchObject({ approvedBy: 'oncall' });
  });

  it('leaves the failover waiting on any other answer (exit 1), and never approves without a person or --yes', async () => {
    sfn.on(GetActivityTaskCommand).resolves({ taskToken: 'token-2', input: APPROVAL_INPUT });
    const wrong = await dr(['failover', 'approve', '--region', 'us-east-1'], ['yes', 'y', 'pg-dr-replca']);
    expect(wrong.code).toBe(1);
    expect(wrong.asked).toHaveLength(3);
    expect(wrong.out).toContain('Not approved: the failover keeps waiting');
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
    expect(sfn.commandCalls(SendTaskFailureCommand)).toHaveLength(0);

    sfn.on(SendTaskSuccessCommand).resolves({});
    const scripted = await dr(['failover', 'approve', '--yes', '--region', 'us-east-1']);
    expect(scripted.code).toBe(0);
    expect(scripted.asked).toEqual([]);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
  });

  it('declines with --decline, and says so when no failover waits', async () => {
    sfn.on(GetActivityTaskCommand).resolves({ taskToken: 'token-3', input: APPROVAL_INPUT });
    sfn.on(SendTaskFailureCommand).resolves({});
    const declined = await dr(['failover', 'approve', '--decline', '--region', 'us-east-1']);
    expect(declined.code).toBe(0);
    expect(sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input).toMatchObject({
      taskToken: 'token-3',
      error: 'Declined',
    });
    expect(declined.out).toContain('Declined:');

    sfn.reset();
    sfn.on(GetActivityTaskCommand).resolves({});
    const none = await dr(['failover', 'approve', '--wait', '1', '--region', 'us-east-1']);
    expect(none.code).toBe(1);
    expect(none.out).toContain('No region failover is waiting for approval.');
    expect(sfn.commandCalls(GetActivityTaskCommand).length).toBeLessThanOrEqual(2);
  });

  it('refuses to take the approval without a terminal to ask, unless --yes or --decline says the answer', async () => {
    let out = '';
    const code = await runCli(['failover', 'approve', '--region', 'us-east-1'], {
      out: (t) => (out += t),
      err: (t) => (out += t),
      env: {},
      failoverIo: () => ({
        out: () => undefined,
        sfn: new SFNClient({ region: 'us-east-1' }),
        cloudFormation: new CloudFormationClient({ region: 'us-east-1' }),
        now: Date.now,
        sleep: () => Promise.resolve(),
        user: 'cron',
      }),
    });
    expect(code).toBe(2);
    expect(out).toContain('no terminal to ask: pass --yes to approve, or --decline to refuse');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('refuses a bad --wait as a usage error before any call', async () => {
    const { code } = await dr(['failover', 'approve', '--wait', '0']);
    expect(code).toBe(2);
    expect(sfn.calls()).toHaveLength(0);
  });
});
