import { DescribeStateMachineCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { hoursSinceLastSuccess } from '../../lambdas/shared/workflow-freshness';
import { buildDrillReport } from '../../lambdas/drill/report';

const BUDGETS = { serviceDisruptionSeconds: 90, dnsFailoverSeconds: 60, s3ReplicationSeconds: 60 };
const COMPLETE = {
  invertedAt: 1_000_000,
  failover: { observedAfterMs: 41_234, leftPreviousAfterMs: 41_234 },
  secondaryReads: { servedAfterMs: 52_000 },
  restoredAt: 1_060_000,
  failback: { observedAfterMs: 38_000 },
  primaryWrites: { servedAfterMs: 45_000 },
  s3: { replicatedAfterMs: 8_400 },
  heartbeat: { replicatedAfterMs: 120 },
};

describe('drill report', () => {
  it('turns the step results into figures and judges them against the budgets', () => {
    const report = buildDrillReport(COMPLETE, BUDGETS);
    expect(report.outcome).toBe('succeeded');
    expect(report.figures).toEqual({
      detectionSeconds: 41.2,
      dnsFailoverSeconds: 41.2,
      serviceDisruptionSeconds: 52,
      dnsFailbackSeconds: 38,
      // From Route 53 answering the replica (1 041 234) to writes accepted again (1 060 000 + 45 000).
      writeOutageSeconds: 63.8,
      s3ReplicationSeconds: 8.4,
      databaseReplicationSeconds: 0.1,
    });
    expect(report.overBudget).toEqual([]);
    expect(report.summary).toMatch(/^within budget: disruption 52 s, DNS failover 41.2 s/);
  });

  it('names every missed budget', () => {
    const report = buildDrillReport(
      { ...COMPLETE, secondaryReads: { servedAfterMs: 95_000 }, s3: { replicatedAfterMs: 61_000 } },
      BUDGETS,
    );
    expect(report.outcome).toBe('over-budget');
    expect(report.overBudget).toEqual([
      'service disruption 95 s > 90 s budget',
      'S3 replication 61 s > 60 s budget',
    ]);
  });

  it('keeps what was measured before a failure, and says where it failed', () => {
    const report = buildDrillReport(
      { invertedAt: 1_000_000, failover: { observedAfterMs: 30_000, leftPreviousAfterMs: null } },
      BUDGETS,
      {
        step: 'VerifySecondaryReads',
        error: 'DisruptionOverBudget',
        cause: '90 s after the simulated failure',
      },
    );
    expect(report.outcome).toBe('failed');
    expect(report.figures.dnsFailoverSeconds).toBe(30);
    expect(report.figures.detectionSeconds).toBeNull();
    expect(report.figures.writeOutageSeconds).toBeNull();
    expect(report.summary).toMatch(
      /^failed at VerifySecondaryReads: DisruptionOverBudget \(90 s after the simulated failure\); measured: disruption n\/a, DNS failover 30 s/,
    );
  });
});

describe('hours since the last successful drill', () => {
  const sfn = mockClient(SFNClient);
  const client = new SFNClient({ region: 'us-east-1' });
  const ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-failover-drill';
  const now = Date.parse('2026-11-24T12:00:00Z');
  beforeEach(() => sfn.reset());

  it('counts from the newest successful execution', async () => {
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: `${ARN}:x`,
          stateMachineArn: ARN,
          name: 'x',
          status: 'SUCCEEDED',
          startDate: new Date('2026-11-22T02:00:00Z'),
          stopDate: new Date('2026-11-22T02:06:00Z'),
        },
      ],
    });
    expect(await hoursSinceLastSuccess(client, ARN, now)).toEqual({
      hours: 57.9,
      since: '2026-11-22T02:06:00.000Z',
      basis: 'last-success',
    });
    expect(sfn.commandCalls(ListExecutionsCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: ARN,
      statusFilter: 'SUCCEEDED',
      maxResults: 1,
    });
  });

  it('counts from the deployment when no drill has ever succeeded', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(DescribeStateMachineCommand).resolves({ creationDate: new Date('2026-11-14T12:00:00Z') });
    expect(await hoursSinceLastSuccess(client, ARN, now)).toEqual({
      hours: 240,
      since: '2026-11-14T12:00:00.000Z',
      basis: 'deployed',
    });
  });
});
