import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeRuleCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
} from '@aws-sdk/client-eventbridge';
import { GetHealthCheckCommand, Route53Client, UpdateHealthCheckCommand } from '@aws-sdk/client-route-53';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { DrillIo } from '../../lib/cli/drill-command';
import { runCli } from '../../lib/cli/program';
import { buildDrillReport } from '../../lambdas/drill/report';
import { EXAMPLE_DRILL_ARN, EXAMPLE_INVERT_CHECK, exampleDrillInput } from '../support/drill-input';
import { parameterStore } from '../support/parameter-store';

const DRILL_ARN = EXAMPLE_DRILL_ARN;
const EXEC = (name: string) => `${DRILL_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
const PARENT = EXAMPLE_INVERT_CHECK;
const INPUT = exampleDrillInput();

const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);
const events = mockClient(EventBridgeClient);
const route53 = mockClient(Route53Client);

async function dr(argv: string[], ask?: (question: string) => Promise<string>) {
  let out = '';
  let err = '';
  let clock = Date.parse('2026-11-24T10:00:00Z');
  const io: DrillIo = {
    out: (t) => (out += t),
    sfn: new SFNClient({ region: 'us-east-1' }),
    cloudFormation: new CloudFormationClient({ region: 'us-east-1' }),
    events: new EventBridgeClient({ region: 'us-east-1' }),
    route53: new Route53Client({ region: 'us-east-1' }),
    ssm: new SSMClient({ region: 'us-east-1' }),
    now: () => clock,
    sleep: (ms) => {
      clock += ms;
      return Promise.resolve();
    },
  };
  const code = await runCli(argv, {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: {},
    drillIo: () => io,
    ...(ask === undefined ? {} : { ask }),
  });
  return { code, out, err };
}

const report = buildDrillReport(
  {
    invertedAt: 0,
    failover: { observedAfterMs: 41_000, leftPreviousAfterMs: 41_000 },
    secondaryReads: { servedAfterMs: 52_000 },
    restoredAt: 60_000,
    failback: { observedAfterMs: 38_000 },
    primaryWrites: { servedAfterMs: 45_000 },
    s3: { replicatedAfterMs: 8_000 },
    heartbeat: { replicatedAfterMs: 100 },
  },
  INPUT.budgets,
);

beforeEach(() => {
  for (const m of [sfn, cloudFormation, events, route53]) m.reset();
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'pg-dr-orchestration',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [{ OutputKey: 'FailoverDrillStateMachineArn', OutputValue: DRILL_ARN }],
      },
    ],
  });
  events
    .on(ListTargetsByRuleCommand, { Rule: 'pg-dr-weekly-failover-drill' })
    .resolves({ Targets: [{ Id: 'Target0', Arn: DRILL_ARN, Input: JSON.stringify(INPUT) }] });
  events.on(DescribeRuleCommand).resolves({
    Name: 'pg-dr-weekly-failover-drill',
    State: 'ENABLED',
    ScheduleExpression: 'cron(0 2 ? * SUN *)',
  });
});

describe('dr drill', () => {
  it('starts the drill with the schedule input and follows it', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: EXEC('manual-20261124-1000'), startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        {
          id: 2,
          timestamp: new Date(),
          type: 'TaskStateEntered',
          stateEnteredEventDetails: { name: 'Preflight' },
        },
      ],
    });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({
        status: 'RUNNING',
        executionArn: EXEC('x'),
        stateMachineArn: DRILL_ARN,
        startDate: new Date(),
      })
      .resolves({
        status: 'SUCCEEDED',
        executionArn: EXEC('x'),
        stateMachineArn: DRILL_ARN,
        startDate: new Date(),
        output: JSON.stringify({ report }),
      });
    const result = await dr(['drill']);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: DRILL_ARN,
      name: 'manual-20261124-1000',
      input: JSON.stringify(INPUT),
    });
    expect(result.out).toContain('→ Preflight');
    expect(result.out).toContain('Drill SUCCEEDED: within budget: disruption 52 s, DNS failover 41 s');
  });

  it('asks the person at the terminal before it moves production DNS, and starts only when they type the record', async () => {
    const production = { ...INPUT, dns: { ...INPUT.dns, production: true } };
    events
      .on(ListTargetsByRuleCommand, { Rule: 'pg-dr-weekly-failover-drill' })
      .resolves({ Targets: [{ Id: 'Target0', Arn: DRILL_ARN, Input: JSON.stringify(production) }] });
    const asked: string[] = [];
    const refused = await dr(['drill'], (question) => {
      asked.push(question);
      return Promise.resolve('yes');
    });
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('not confirmed: the drill of db.provability-fabric.org was not started');
    expect(asked[0]).toContain('This drill fails production DNS (db.provability-fabric.org)');
    expect(sfn.commandCalls(StartExecutionCommand)).toEqual([]);
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXEC('m'), startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'SUCCEEDED',
      executionArn: EXEC('m'),
      stateMachineArn: DRILL_ARN,
      startDate: new Date(),
      output: JSON.stringify({ report }),
    });
    const confirmed = await dr(['drill'], () => Promise.resolve('DB.provability-fabric.org. '));
    expect(confirmed.code).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('exits 1 with the reason when the drill fails', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXEC('manual'), startDate: new Date() });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'FAILED',
      executionArn: EXEC('manual'),
      stateMachineArn: DRILL_ARN,
      startDate: new Date(),
      error: 'DrillRefused',
      cause: 'refusing to start the drill: replica: unreachable',
    });
    const result = await dr(['drill']);
    expect(result.code).toBe(1);
    expect(result.out).toContain(
      'Drill FAILED: DrillRefused refusing to start the drill: replica: unreachable',
    );
  });

  it('restores the drill health check (never disables it)', async () => {
    route53.on(GetHealthCheckCommand).resolves({
      HealthCheck: {
        Id: PARENT,
        CallerReference: 'x',
        HealthCheckVersion: 4,
        HealthCheckConfig: { Type: 'CALCULATED', Inverted: true },
      },
    });
    route53.on(UpdateHealthCheckCommand).resolves({});
    const result = await dr(['drill', 'restore']);
    expect(result.code).toBe(0);
    expect(route53.commandCalls(UpdateHealthCheckCommand).map((c) => c.args[0].input)).toEqual([
      { HealthCheckId: PARENT, HealthCheckVersion: 4, Inverted: false },
    ]);
    expect(result.out).toContain(`Health check ${PARENT} restored (Inverted: false)`);
  });
});

describe('dr status', () => {
  const AFTER_FAILOVER = {
    generation: 4,
    writer: {
      region: 'us-east-1',
      instanceIdentifier: 'pg-dr-replica',
      endpoint: 'replica.east.rds.example',
    },
    replica: null,
    retired: [
      { region: 'us-west-2', instanceIdentifier: 'pg-dr-primary', endpoint: 'primary.west.rds.example' },
    ],
    changedAt: '2026-11-23T04:05:06.000Z',
    changedBy: 'failover exec-1',
  };

  it('shows the topology first: the writer, its replica (or DR degraded), the retired', async () => {
    parameterStore({ '/pg-dr/topology/document': JSON.stringify(AFTER_FAILOVER) });
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const result = await dr(['status']);
    expect(result.out.split('\n').slice(0, 4)).toEqual([
      'Topology (generation 4, failover exec-1 at 2026-11-23T04:05:06.000Z):',
      '  writer   pg-dr-replica in us-east-1 (replica.east.rds.example)',
      '  replica  none: DR is degraded (no cross-region replica of the writer)',
      '  retired  pg-dr-primary in us-west-2 (primary.west.rds.example) (fenced: never to take writes again)',
    ]);
    // Under another prefix, the parameters it names; none yet is said plainly.
    parameterStore({});
    const other = await dr(['status', '--resource-prefix', 'acme-dr']);
    expect(other.out.split('\n')[0]).toBe(
      'Topology: none yet (the failover DNS stack writes it when first deployed).',
    );
    expect((await dr(['status', '--resource-prefix', 'Acme_DR'])).err).toContain(
      '--resource-prefix must be 2-20 lower-case letters, digits or hyphens, starting with a letter',
    );
  });

  it('lists the last drills with their figures against the budgets, marking misses', async () => {
    parameterStore({ '/pg-dr/topology/document': JSON.stringify(AFTER_FAILOVER) });
    const over = buildDrillReport(
      {
        invertedAt: 0,
        failover: { observedAfterMs: 70_000, leftPreviousAfterMs: 70_000 },
        secondaryReads: { servedAfterMs: 80_000 },
      },
      INPUT.budgets,
    );
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: EXEC('b'),
          stateMachineArn: DRILL_ARN,
          name: 'b',
          status: 'FAILED',
          startDate: new Date('2026-11-22T02:00:00Z'),
        },
        {
          executionArn: EXEC('a'),
          stateMachineArn: DRILL_ARN,
          name: 'a',
          status: 'SUCCEEDED',
          startDate: new Date('2026-11-15T02:00:00Z'),
        },
      ],
    });
    sfn.on(DescribeExecutionCommand, { executionArn: EXEC('a') }).resolves({
      executionArn: EXEC('a'),
      stateMachineArn: DRILL_ARN,
      status: 'SUCCEEDED',
      startDate: new Date(),
      output: JSON.stringify({ report }),
    });
    sfn.on(DescribeExecutionCommand, { executionArn: EXEC('b') }).resolves({
      executionArn: EXEC('b'),
      stateMachineArn: DRILL_ARN,
      status: 'FAILED',
      startDate: new Date(),
      error: 'DrillOverBudget',
      cause: over.summary,
    });
    const result = await dr(['status']);
    expect(result.code).toBe(0);
    const lines = result.out.trimEnd().split('\n').slice(4);
    expect(lines[0]).toBe(
      'Schedule cron(0 2 ? * SUN *) (UTC): on. Budgets: disruption 90 s, DNS failover 60 s, S3 replication 60 s.',
    );
    expect(lines[2]).toMatch(/^2026-11-22 02:00 +over-budget/);
    expect(lines[3]).toBe(`  DrillOverBudget: ${over.summary}`);
    expect(lines[4]).toMatch(/^2026-11-15 02:00 +succeeded +52 +41 +38 +/);
    expect(sfn.commandCalls(ListExecutionsCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: DRILL_ARN,
      maxResults: 10,
    });
  });

  it('prints machine-readable JSON', async () => {
    parameterStore({ '/pg-dr/topology/document': JSON.stringify(AFTER_FAILOVER) });
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const result = await dr(['status', '--json']);
    expect(JSON.parse(result.out)).toMatchObject({
      ok: true,
      topology: AFTER_FAILOVER,
      scheduleEnabled: true,
      drills: [],
    });
  });
});
