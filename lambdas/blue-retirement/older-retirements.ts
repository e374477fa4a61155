import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';

/** The state machine of an execution: `arn:…:execution:<machine>:<name>` → `arn:…:stateMachine:<machine>`. */
export function machineOf(executionArn: string): string {
  const parts = executionArn.split(':');
  return [...parts.slice(0, 5), 'stateMachine', parts[6] ?? ''].join(':');
}

/**
 * The newest cutover decides the window: older retirements of the same instance that still wait (a rollback and
 * a roll forward each schedule one) are stopped, so none closes the way back early under a newer one. Returns
 * their names. At most the 100 newest running executions are looked at (ListExecutions' page).
 */
export async function stopOlderRetirements(
  sfn: Pick<SFNClient, 'send'>,
  own: { readonly executionArn: string; readonly startedAt: Date; readonly instance: string },
): Promise<string[]> {
  const { executions = [] } = await sfn.send(
    new ListExecutionsCommand({
      stateMachineArn: machineOf(own.executionArn),
      statusFilter: 'RUNNING',
      maxResults: 100,
    }),
  );
  const stopped: string[] = [];
  for (const e of executions) {
    if (e.executionArn === undefined || e.executionArn === own.executionArn) continue;
    if (e.startDate !== undefined && e.startDate.getTime() > own.startedAt.getTime()) continue;
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
    let instance: unknown;
    try {
      instance = (JSON.parse(described.input ?? '{}') as { instanceIdentifier?: unknown }).instanceIdentifier;
    } catch {
      continue;
    }
    if (instance !== own.instance) continue;
    await sfn.send(
      new StopExecutionCommand({
        executionArn: e.executionArn,
        cause: `superseded by ${own.executionArn.split(':').at(-1) ?? ''}: a newer cutover decides the window`,
      }),
    );
    stopped.push(e.name ?? e.executionArn);
  }
  return stopped;
}
