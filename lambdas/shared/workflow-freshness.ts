import { DescribeStateMachineCommand, ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';

/**
 * Hours since a workflow (the drill, the restore test) last succeeded, or since it was deployed if it never
 * has. Step Functions lists closed executions for 90 days, newest first. The "no success in N days" alarms
 * watch this figure, published hourly: an alarm cannot look back further than 7 days.
 */
export async function hoursSinceLastSuccess(
  sfn: Pick<SFNClient, 'send'>,
  stateMachineArn: string,
  now: number,
): Promise<{ hours: number; since: string; basis: 'last-success' | 'deployed' }> {
  const { executions } = await sfn.send(
    new ListExecutionsCommand({ stateMachineArn, statusFilter: 'SUCCEEDED', maxResults: 1 }),
  );
  const last = executions?.[0]?.stopDate ?? executions?.[0]?.startDate;
  let basis: 'last-success' | 'deployed' = 'last-success';
  let since = last;
  if (since === undefined) {
    const machine = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
    since = machine.creationDate ?? new Date(now);
    basis = 'deployed';
  }
  return {
    hours: Math.max(0, Math.round(((now - since.getTime()) / 3_600_000) * 10) / 10),
    since: since.toISOString(),
    basis,
  };
}
