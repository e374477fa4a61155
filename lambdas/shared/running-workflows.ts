/**
 * Workflows that must not run at the same time: each role-changing workflow (failover, switchover, migration)
 * and the drill refuse to start while another of them runs. Step Functions has no lock, so each asks
 * ListExecutions (RUNNING) of the others when it starts; the results are best effort (a just-started execution
 * may be missing: API_ListExecutions), which narrows the race to seconds, never closes it. What changes the
 * topology is also guarded by its generation (topology-change.ts), so two racing role changes cannot both be
 * written.
 */
import { ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';

export interface RunningExecution {
  /** The state machine's name (the last part of its ARN). */
  readonly stateMachine: string;
  readonly name: string;
  readonly executionArn: string;
}

/** The RUNNING executions of these state machines, other than `ownExecutionArn` (at most 10 each). */
export async function runningExecutions(
  sfn: Pick<SFNClient, 'send'>,
  stateMachineArns: readonly string[],
  ownExecutionArn?: string,
): Promise<RunningExecution[]> {
  const found: RunningExecution[] = [];
  for (const stateMachineArn of stateMachineArns) {
    const { executions } = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 10 }),
    );
    for (const e of executions ?? []) {
      if (e.executionArn === undefined || e.executionArn === ownExecutionArn) continue;
      found.push({
        stateMachine: stateMachineArn.split(':').at(-1) ?? stateMachineArn,
        name: e.name ?? e.executionArn,
        executionArn: e.executionArn,
      });
    }
  }
  return found;
}

/** `pg-dr-failover-drill: weekly-2026-11-29, ...; pg-dr-blue-green-migration: m-1`. */
export function describeRunning(running: readonly RunningExecution[]): string {
  const byMachine = new Map<string, string[]>();
  for (const r of running) byMachine.set(r.stateMachine, [...(byMachine.get(r.stateMachine) ?? []), r.name]);
  return [...byMachine].map(([machine, names]) => `${machine}: ${names.join(', ')}`).join('; ');
}
