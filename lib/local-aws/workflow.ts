/**
 * Runs a workflow's ASL file in the local world as Step Functions runs the deployed state machine: the
 * definition gets the substitutions CDK makes (the synthesized ARNs), every Lambda task runs its real handler
 * as that function's principal (so each AWS call is authorized against the function's role), service
 * integrations (SNS publish, StartExecution) run as the state machine's role, and the execution is registered
 * in the simulated Step Functions with an AWS-shaped history that other functions can read.
 */
import { loadDefinition, runLocally, type LocalExecution } from '../rehearsal/local-workflow';
import { taskResources, type AslState } from '../workflow-definition';
import type { LocalWorld } from './from-app';
import type { LocalRunEvent, SimulatedExecution } from './step-functions';
import { environmentOf, functionOf } from './invoke';
import { asPrincipal } from './world';
import type { DrillInput } from '../../lambdas/drill/input';
import type { ServiceName } from './catalogue';

type Handler = (input: never) => unknown;

export interface WorldRun {
  readonly world: LocalWorld;
  /** The ASL file under statemachines/ and the deployed state machine's name. */
  readonly file: string;
  readonly stateMachineName: string;
  readonly input: unknown;
  /**
   * Handlers of integration states (a nested run for startExecution.sync) and overrides of Lambda tasks; every
   * other Lambda task runs the real handler of the function its Resource names (from the template).
   */
  readonly handlers?: Record<string, Handler>;
  /** Wraps every Lambda task's handler (e.g. to run each step twice). */
  readonly wrap?: (state: string, handler: Handler) => Handler;
  /** Sees every notification before it is published, with the state that publishes it. */
  readonly onNotify?: (state: string, input: { Subject?: string; Message?: string }) => void;
  readonly name?: string;
  readonly retryIntervals?: Record<string, number>;
  readonly waits?: Record<string, number>;
  /** Stops the execution (as StopExecution does) when this state is entered. */
  readonly abortAt?: string;
  /** Environment variables over the functions' own (what only exists here: a CA file, a migrations folder). */
  readonly environment?: Record<string, string>;
  /** An execution StartExecution already registered (a nested or CLI-started run) to run under. */
  readonly execution?: SimulatedExecution;
}

export interface WorldExecution extends LocalExecution {
  readonly executionArn: string;
}

/** The service names of Step Functions' AWS SDK integrations, as the simulated AWS knows them. */
const SDK_SERVICES: Readonly<Record<string, ServiceName>> = { eventbridge: 'events' };

let runs = 0;

export async function runInWorld(run: WorldRun): Promise<WorldExecution> {
  const { world } = run;
  const definition = loadDefinition(run.file, world.substitutions(run.stateMachineName)) as {
    States: Record<string, AslState>;
  };
  const stateMachineArn = world.stateMachineArn(run.stateMachineName);
  const machinePrincipal = world.iam.principalOfArn(stateMachineArn);
  const region = stateMachineArn.split(':')[3] ?? 'us-east-1';
  const resources = taskResources(definition);
  const handlers: Record<string, Handler> = {};
  for (const [state, resource] of resources) {
    const given = run.handlers?.[state];
    if (resource.startsWith('arn:aws:lambda:')) {
      const deployed = functionOf(world, resource);
      const handler = (run.wrap ?? ((_s: string, h: Handler) => h))(state, given ?? deployed.handler);
      // The function's environment from the template (as Lambda gives it), then the run's local overrides.
      const environment = { ...environmentOf(world, resource), ...run.environment };
      handlers[state] = (input: never) => {
        Object.assign(process.env, environment);
        return asPrincipal(deployed.principal, () => handler(input));
      };
    } else if (resource === 'arn:aws:states:::sns:publish') {
      handlers[state] = (input: never) => {
        run.onNotify?.(state, input);
        return asPrincipal(machinePrincipal, () =>
          given === undefined
            ? world.aws.call('sns', 'Publish', input as Record<string, unknown>, region)
            : given(input),
        );
      };
    } else if (resource === 'arn:aws:states:::states:startExecution' && given === undefined) {
      // The optimized integration without .sync: StartExecution as the machine's role, answered in the
      // integration's shape (ExecutionArn, StartDate). The started execution does not run by itself here: a
      // test runs it with runInWorld({ execution }).
      handlers[state] = (input: never) =>
        asPrincipal(machinePrincipal, async () => {
          const given = input as { StateMachineArn: string; Name?: string; Input?: unknown };
          const started = (await world.aws.call(
            'states',
            'StartExecution',
            {
              stateMachineArn: given.StateMachineArn,
              ...(given.Name === undefined ? {} : { name: given.Name }),
              input: typeof given.Input === 'string' ? given.Input : JSON.stringify(given.Input ?? {}),
            },
            region,
          )) as { executionArn: string; startDate: Date };
          return { ExecutionArn: started.executionArn, StartDate: started.startDate.toISOString() };
        });
    } else if (/^arn:aws:states:[a-z0-9-]+:\d{12}:activity:/.test(resource) && given === undefined) {
      // An activity: the task waits until a worker (dr failover approve) takes and answers it.
      handlers[state] = (input: never) => world.stepFunctions.scheduleActivityTask(resource, input);
    } else if (resource.startsWith('arn:aws:states:::aws-sdk:') && given === undefined) {
      // An AWS SDK integration (arn:aws:states:::aws-sdk:<service>:<action>): the call as the machine's role.
      const [sdkService = '', action = ''] = resource.split(':').slice(6);
      const service = SDK_SERVICES[sdkService];
      if (service === undefined)
        throw new Error(`${run.file}: ${state}: no simulated service for ${resource}`);
      const operation = `${action.charAt(0).toUpperCase()}${action.slice(1)}`;
      handlers[state] = (input: never) =>
        asPrincipal(machinePrincipal, () =>
          world.aws.call(service, operation, input as Record<string, unknown>, region),
        );
    } else {
      handlers[state] = (input: never) => {
        if (given === undefined) throw new Error(`${run.file}: no handler for the integration task ${state}`);
        return asPrincipal(machinePrincipal, () => given(input));
      };
    }
  }
  const execution =
    run.execution ??
    world.stepFunctions.begin(
      stateMachineArn,
      run.name ?? `local-${++runs}-${Date.now().toString(36)}`,
      run.input,
    );
  const chains = new Map<string, number>();
  const result = await runLocally(
    definition,
    run.input,
    handlers,
    run.retryIntervals ?? {},
    run.waits ?? {},
    {
      executionArn: execution.executionArn,
      onEvent: (event, abort) => {
        const resource = event.state === undefined ? undefined : resources.get(event.state.name);
        world.stepFunctions.record(
          execution,
          { ...(event as LocalRunEvent), ...(resource === undefined ? {} : { resource }) },
          chains,
        );
        if (event.type === 'StateEntered' && event.state?.name === run.abortAt) abort();
      },
    },
  );
  if (result.status === 'SUCCEEDED')
    world.stepFunctions.finish(execution, 'SUCCEEDED', { output: result.output });
  else
    world.stepFunctions.finish(execution, result.status, {
      ...(result.error === undefined ? {} : { error: result.error.name, cause: result.error.message }),
    });
  return { ...result, executionArn: execution.executionArn };
}

/**
 * The drill's input exactly as its schedule sends it (the EventBridge rule's target in the synthesized app),
 * with its limits (and budgets) replaced: what the rehearsal and the drill tests run. Its databases are the
 * topology's, at the ports the world's instances were given.
 */
export function scheduledDrillInput(
  world: LocalWorld,
  ruleKey: string,
  overrides: Pick<DrillInput, 'limits'> & Partial<Pick<DrillInput, 'budgets'>>,
): DrillInput {
  const rule = world.events.rules.get(ruleKey);
  const scheduled = JSON.parse(rule?.targets[0]?.Input ?? '{}') as DrillInput;
  return { ...scheduled, ...overrides };
}
