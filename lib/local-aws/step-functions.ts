/**
 * SIMULATED Step Functions API, following the catalogue (lib/local-aws/catalogue/step-functions.ts): the
 * executions the local runner ran (or is running), with their AWS-shaped history (TaskStateEntered with
 * stateEnteredEventDetails.name, TaskScheduled/Started/Succeeded/Failed, previousEventId chains),
 * ListExecutions newest first, DescribeExecution, and StartExecution's name rules and idempotency.
 */
import type { Simulator, SimulatorCall } from './world';
import { str } from './input';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: Date;
  readonly type: string;
  readonly [details: string]: unknown;
}

export interface SimulatedExecution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  status: ExecutionStatus;
  readonly startDate: Date;
  stopDate?: Date;
  readonly input: string;
  output?: string;
  error?: string;
  cause?: string;
  readonly events: HistoryEvent[];
}

/** What the local runner reports as it goes (aws-local-stepfunctions' event log, simplified). */
export interface LocalRunEvent {
  readonly type: string;
  readonly timestamp: number;
  readonly state?: {
    readonly name: string;
    readonly type: string;
    readonly input?: unknown;
    readonly output?: unknown;
  };
  readonly Error?: string;
  readonly Cause?: unknown;
  readonly resource?: string;
}

/** StartExecution's name rule: 1-80 characters, none of whitespace, < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : / or control characters. */
const validName = (name: string) =>
  name.length >= 1 &&
  name.length <= 80 &&
  !Array.from(name).some(
    (c) =>
      /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/.test(c) ||
      c.charCodeAt(0) < 32 ||
      (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f),
  );

/** A task an execution scheduled on an activity: a worker takes it (GetActivityTask) and answers it. */
export interface SimulatedActivityTask {
  readonly activityArn: string;
  readonly taskToken: string;
  /** The Task state's effective input, as GetActivityTask gives it (a JSON string). */
  readonly input: string;
  state: 'scheduled' | 'started' | 'closed';
  heartbeats: number;
}

export class StepFunctionsSimulator implements Simulator {
  readonly service = 'states' as const;
  readonly label = 'SIMULATED Step Functions';
  readonly executions = new Map<string, SimulatedExecution>();
  readonly stateMachines = new Map<string, { creationDate: Date }>();
  readonly activities = new Set<string>();
  readonly activityTasks = new Map<
    string,
    SimulatedActivityTask & { settle: (outcome: { output: unknown } | { error: Error }) => void }
  >();
  /** How long GetActivityTask holds a poll with no task (AWS: 60 s; shorter here so a test or CLI loop ends). */
  activityPollMs = 60_000;
  private readonly taskScheduled = new Set<() => void>();
  /** Called when StartExecution starts a new execution (a test or the rehearsal runs it). */
  onStart?: (execution: SimulatedExecution) => void;

  constructor(private readonly options: { now?: () => number } = {}) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  addStateMachine(arn: string, creationDate = new Date(this.now())): void {
    this.stateMachines.set(arn, { creationDate });
  }

  addActivity(arn: string): void {
    this.activities.add(arn);
  }

  /**
   * An execution's Task state scheduled a task on an activity: resolves with the worker's output
   * (SendTaskSuccess) or rejects with its error (SendTaskFailure, named as the worker named it).
   */
  scheduleActivityTask(activityArn: string, input: unknown): Promise<unknown> {
    const taskToken = `local-${this.activityTasks.size + 1}-${Math.random().toString(16).slice(2, 14)}`;
    return new Promise((resolve, reject) => {
      this.activityTasks.set(taskToken, {
        activityArn,
        taskToken,
        input: JSON.stringify(input ?? {}),
        state: 'scheduled',
        heartbeats: 0,
        settle: (outcome) => {
          if ('error' in outcome) reject(outcome.error);
          else resolve(outcome.output);
        },
      });
      for (const wake of [...this.taskScheduled]) wake();
    });
  }

  /** Closes a task as Step Functions does when its TimeoutSeconds or HeartbeatSeconds pass. */
  expireActivityTask(taskToken: string, error: 'States.Timeout' | 'States.HeartbeatTimeout'): void {
    const task = this.activityTasks.get(taskToken);
    if (task === undefined || task.state === 'closed') return;
    task.state = 'closed';
    task.settle({ error: Object.assign(new Error(`the activity task ${error}`), { name: error }) });
  }

  private async takeActivityTask(activityArn: string): Promise<Record<string, unknown>> {
    const started = Date.now();
    for (let round = 0; round < 10_000; round++) {
      const task = [...this.activityTasks.values()].find(
        (t) => t.activityArn === activityArn && t.state === 'scheduled',
      );
      if (task !== undefined) {
        task.state = 'started';
        return { taskToken: task.taskToken, input: task.input };
      }
      const left = this.activityPollMs - (Date.now() - started);
      if (left <= 0) return {};
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.taskScheduled.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.taskScheduled.add(wake);
      });
    }
    return {};
  }

  private openTask(call: SimulatorCall): SimulatedActivityTask & {
    settle: (outcome: { output: unknown } | { error: Error }) => void;
  } {
    const task = this.activityTasks.get(str(call.input.taskToken));
    if (task === undefined) return call.fail('InvalidToken', 'Invalid Token');
    if (task.state === 'closed') return call.fail('TaskTimedOut', 'Task Timed Out');
    return task;
  }

  /** Registers an execution the local runner is starting. */
  begin(stateMachineArn: string, name: string, input: unknown): SimulatedExecution {
    if (!this.stateMachines.has(stateMachineArn)) this.addStateMachine(stateMachineArn);
    const execution: SimulatedExecution = {
      executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`,
      stateMachineArn,
      name,
      status: 'RUNNING',
      startDate: new Date(this.now()),
      input: JSON.stringify(input ?? {}),
      events: [],
    };
    this.executions.set(execution.executionArn, execution);
    this.push(execution, 'ExecutionStarted', 0, {
      executionStartedEventDetails: {
        input: execution.input,
        roleArn: 'arn:aws:iam::111122223333:role/local',
      },
    });
    return execution;
  }

  private push(
    execution: SimulatedExecution,
    type: string,
    previousEventId: number,
    details: object,
  ): number {
    const id = execution.events.length + 1;
    execution.events.push({ id, previousEventId, timestamp: new Date(this.now()), type, ...details });
    return id;
  }

  /**
   * Records one event of the local run as AWS records it. A Task whose Resource is a Lambda function ARN (the
   * legacy Lambda form these workflows use) becomes TaskStateEntered, LambdaFunctionScheduled,
   * LambdaFunctionStarted, then LambdaFunctionSucceeded and TaskStateExited (or LambdaFunctionFailed); a service
   * integration (SNS publish, StartExecution) records Task* events instead (TaskScheduled, TaskStarted,
   * TaskSucceeded or TaskFailed). Events chain by previousEventId.
   */
  record(execution: SimulatedExecution, event: LocalRunEvent, chains: Map<string, number>): void {
    const state = event.state;
    if (state === undefined) return;
    const key = state.name;
    const last = chains.get(key) ?? execution.events.length;
    const typeName = `${state.type}State`;
    const resource = event.resource ?? 'invoke';
    const lambda = resource.startsWith('arn:aws:lambda:');
    const integration = /^arn:aws:states:::([a-z0-9-]+):(.+)$/.exec(resource);
    const resourceType = integration?.[1] ?? 'lambda';
    const integrationResource = integration?.[2] ?? resource;
    const schedule = (from: number): number => {
      if (lambda) {
        const id = this.push(execution, 'LambdaFunctionScheduled', from, {
          lambdaFunctionScheduledEventDetails: { resource, input: JSON.stringify(state.input ?? {}) },
        });
        return this.push(execution, 'LambdaFunctionStarted', id, {});
      }
      const id = this.push(execution, 'TaskScheduled', from, {
        taskScheduledEventDetails: {
          resourceType,
          resource: integrationResource,
          parameters: JSON.stringify(state.input ?? {}),
        },
      });
      return this.push(execution, 'TaskStarted', id, {
        taskStartedEventDetails: { resourceType, resource: integrationResource },
      });
    };
    if (event.type === 'StateEntered') {
      let id = this.push(execution, `${typeName}Entered`, last, {
        stateEnteredEventDetails: { name: state.name, input: JSON.stringify(state.input ?? {}) },
      });
      if (state.type === 'Task') id = schedule(id);
      chains.set(key, id);
    } else if (event.type === 'StateExited') {
      let id = last;
      const output = JSON.stringify(state.output ?? {});
      if (state.type === 'Task')
        id = lambda
          ? this.push(execution, 'LambdaFunctionSucceeded', id, {
              lambdaFunctionSucceededEventDetails: { output },
            })
          : this.push(execution, 'TaskSucceeded', id, {
              taskSucceededEventDetails: { resourceType, resource: integrationResource, output },
            });
      this.push(execution, `${typeName}Exited`, id, {
        stateExitedEventDetails: { name: state.name, output },
      });
      chains.delete(key);
    } else if (event.type === 'StateFailed' && state.type === 'Task') {
      const failure = {
        error: event.Error,
        cause: typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause ?? ''),
      };
      const id = lambda
        ? this.push(execution, 'LambdaFunctionFailed', last, { lambdaFunctionFailedEventDetails: failure })
        : this.push(execution, 'TaskFailed', last, {
            taskFailedEventDetails: { resourceType, resource: integrationResource, ...failure },
          });
      chains.set(key, id);
    } else if (event.type === 'StateRetried' && state.type === 'Task') {
      chains.set(key, schedule(last));
    }
  }

  /** Closes an execution with its end status. */
  finish(
    execution: SimulatedExecution,
    status: Exclude<ExecutionStatus, 'RUNNING'>,
    end: { output?: unknown; error?: string; cause?: string } = {},
  ): void {
    execution.status = status;
    execution.stopDate = new Date(this.now());
    const last = execution.events.length;
    if (status === 'SUCCEEDED') {
      execution.output = JSON.stringify(end.output ?? {});
      this.push(execution, 'ExecutionSucceeded', last, {
        executionSucceededEventDetails: { output: execution.output },
      });
      return;
    }
    if (end.error !== undefined) execution.error = end.error;
    if (end.cause !== undefined) execution.cause = end.cause;
    const type = { FAILED: 'ExecutionFailed', TIMED_OUT: 'ExecutionTimedOut', ABORTED: 'ExecutionAborted' }[
      status
    ];
    const detail = {
      FAILED: 'executionFailedEventDetails',
      TIMED_OUT: 'executionTimedOutEventDetails',
      ABORTED: 'executionAbortedEventDetails',
    }[status];
    this.push(execution, type, last, { [detail]: { error: end.error, cause: end.cause } });
  }

  handle(call: SimulatorCall): unknown {
    const input = call.input;
    switch (call.operation) {
      case 'ListExecutions': {
        const arn = str(input.stateMachineArn);
        if (!this.stateMachines.has(arn))
          call.fail('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
        const max = Number(input.maxResults ?? 0) || 100;
        const list = [...this.executions.values()]
          .filter((e) => e.stateMachineArn === arn)
          .filter((e) => input.statusFilter === undefined || e.status === input.statusFilter)
          .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
        return {
          executions: list.slice(0, max).map((e) => ({
            executionArn: e.executionArn,
            stateMachineArn: e.stateMachineArn,
            name: e.name,
            status: e.status,
            startDate: e.startDate,
            ...(e.stopDate === undefined ? {} : { stopDate: e.stopDate }),
          })),
          ...(list.length > max ? { nextToken: String(max) } : {}),
        };
      }
      case 'DescribeExecution': {
        const e = this.execution(call);
        return {
          executionArn: e.executionArn,
          stateMachineArn: e.stateMachineArn,
          name: e.name,
          status: e.status,
          startDate: e.startDate,
          input: e.input,
          ...(e.stopDate === undefined ? {} : { stopDate: e.stopDate }),
          ...(e.status === 'SUCCEEDED' ? { output: e.output } : {}),
          ...(e.error === undefined ? {} : { error: e.error }),
          ...(e.cause === undefined ? {} : { cause: e.cause }),
        };
      }
      case 'GetExecutionHistory': {
        const e = this.execution(call);
        const ordered = input.reverseOrder === true ? [...e.events].reverse() : e.events;
        const max = Number(input.maxResults ?? 0) || 100;
        const from = Number(input.nextToken ?? 0);
        const page = ordered.slice(from, from + max);
        return {
          events: page.map((event) =>
            input.includeExecutionData === false
              ? Object.fromEntries(
                  Object.entries(event).map(([k, v]) => [
                    k,
                    typeof v === 'object' && v !== null && !(v instanceof Date)
                      ? Object.fromEntries(
                          Object.entries(v).filter(([field]) => field !== 'input' && field !== 'output'),
                        )
                      : v,
                  ]),
                )
              : event,
          ),
          ...(from + max < ordered.length ? { nextToken: String(from + max) } : {}),
        };
      }
      case 'StartExecution': {
        const arn = str(input.stateMachineArn);
        if (!this.stateMachines.has(arn))
          call.fail('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
        const name = str(input.name, `${this.now().toString(16)}-${Math.random().toString(16).slice(2, 10)}`);
        if (!validName(name)) call.fail('InvalidName', `Invalid Name: '${name}'`);
        const text = str(input.input, '{}');
        const existing = this.executions.get(`${arn.replace(':stateMachine:', ':execution:')}:${name}`);
        if (existing !== undefined) {
          if (existing.status === 'RUNNING' && existing.input === text)
            return { executionArn: existing.executionArn, startDate: existing.startDate };
          call.fail('ExecutionAlreadyExists', `Execution Already Exists: '${existing.executionArn}'`);
        }
        const started = this.begin(arn, name, JSON.parse(text) as unknown);
        this.onStart?.(started);
        return { executionArn: started.executionArn, startDate: started.startDate };
      }
      case 'StopExecution': {
        const e = this.execution(call);
        if (e.status === 'RUNNING')
          this.finish(e, 'ABORTED', {
            ...(input.error === undefined ? {} : { error: str(input.error) }),
            ...(input.cause === undefined ? {} : { cause: str(input.cause) }),
          });
        return { stopDate: e.stopDate ?? new Date(this.now()) };
      }
      case 'DescribeStateMachine': {
        const arn = str(input.stateMachineArn);
        const machine = this.stateMachines.get(arn);
        if (machine === undefined)
          return call.fail('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
        return {
          stateMachineArn: arn,
          name: arn.split(':').at(-1),
          status: 'ACTIVE',
          type: 'STANDARD',
          creationDate: machine.creationDate,
          definition: '{}',
          roleArn: 'arn:aws:iam::111122223333:role/local',
        };
      }
      case 'GetActivityTask':
      case 'SendTaskSuccess':
      case 'SendTaskFailure':
      case 'SendTaskHeartbeat':
        return this.handleActivity(call);
      default:
        throw new Error(`${this.label}: ${call.operation} is catalogued but not simulated`);
    }
  }

  /** The activity worker's side: take a task, answer it, keep it alive. */
  private handleActivity(call: SimulatorCall): unknown {
    const input = call.input;
    switch (call.operation) {
      case 'GetActivityTask': {
        const arn = str(input.activityArn);
        if (!this.activities.has(arn))
          return call.fail('ActivityDoesNotExist', `Activity Does Not Exist: '${arn}'`);
        return this.takeActivityTask(arn);
      }
      case 'SendTaskSuccess': {
        const task = this.openTask(call);
        let output: unknown;
        try {
          output = JSON.parse(str(input.output));
        } catch {
          return call.fail('InvalidOutput', 'Invalid Output');
        }
        task.state = 'closed';
        task.settle({ output });
        return {};
      }
      case 'SendTaskFailure': {
        const task = this.openTask(call);
        task.state = 'closed';
        task.settle({
          error: Object.assign(new Error(str(input.cause, '')), {
            name: str(input.error, 'States.TaskFailed'),
          }),
        });
        return {};
      }
      case 'SendTaskHeartbeat': {
        this.openTask(call).heartbeats += 1;
        return {};
      }
      default:
        throw new Error(`${this.label}: ${call.operation} is catalogued but not simulated`);
    }
  }

  private execution(call: SimulatorCall): SimulatedExecution {
    const arn = str(call.input.executionArn);
    const e = this.executions.get(arn);
    if (e === undefined) return call.fail('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return e;
  }
}
