/**
 * Lambda and EventBridge in the local world, as the synthesized app wires them: a function ARN runs the real
 * handler of that function (its entry file, recorded in the template's metadata, and its exported handler),
 * as that function's principal; an event delivered to EventBridge runs the targets of every rule whose pattern
 * matches it, with the target's input (or the event itself).
 */
import { join } from 'node:path';
import type { LocalWorld } from './from-app';
import { str } from './input';
import { asPrincipal } from './world';

type Handler = (event: unknown, context?: unknown) => unknown;
const ROOT = join(__dirname, '..', '..');

/** The real handler of the function with this ARN, and its principal. */
export function functionOf(world: LocalWorld, functionArn: string): { principal: string; handler: Handler } {
  const principal = world.iam.principalOfArn(functionArn);
  if (principal === undefined) throw new Error(`no function ${functionArn} in the synthesized app`);
  const [stackName, logicalId] = principal.split('/') as [string, string];
  const resource = world.app.stack(stackName).template.Resources[logicalId];
  const entry = resource?.Metadata?.['pg-dr:entry'];
  const exported = str(resource?.Properties?.Handler, 'index.handler').replace(/^index\./, '');
  if (typeof entry !== 'string') throw new Error(`${principal} records no entry file (pg-dr:entry)`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const handler = (require(join(ROOT, entry)) as Record<string, Handler>)[exported];
  if (handler === undefined) throw new Error(`${entry} exports no ${exported}`);
  return { principal, handler };
}

/**
 * Variables that mean something else locally: the runtime's CA bundle (local servers have their own CA, given by
 * DB_CA_FILE) and the migrations folder bundled into the package (a local run reads the configured folder).
 */
const LOCAL_ONLY = new Set(['NODE_EXTRA_CA_CERTS', 'MIGRATIONS_DIR']);

/** A function's environment from the template, resolved. */
export function environmentOf(world: LocalWorld, functionArn: string): Record<string, string> {
  const principal = world.iam.principalOfArn(functionArn);
  if (principal === undefined) throw new Error(`no function ${functionArn} in the synthesized app`);
  const [stackName, logicalId] = principal.split('/') as [string, string];
  const stack = world.app.stack(stackName);
  const properties = stack.template.Resources[logicalId]?.Properties;
  const variables = world.app.resolve(
    stack,
    (properties?.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
  ) as Record<string, unknown>;
  return {
    ...Object.fromEntries(
      Object.entries(variables)
        .filter(([k]) => !LOCAL_ONLY.has(k))
        .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    ),
    // What the Lambda runtime sets: the function's own region.
    AWS_REGION: functionArn.split(':')[3] ?? 'us-east-1',
  };
}

/**
 * Invokes a function as Lambda would: as its own principal, with its environment from the template (and
 * `overrides`) for the duration of the call.
 */
export async function invoke(
  world: LocalWorld,
  functionArn: string,
  event: unknown,
  overrides: Record<string, string> = {},
): Promise<unknown> {
  const { principal, handler } = functionOf(world, functionArn);
  const environment = { ...environmentOf(world, functionArn), ...overrides };
  const saved = Object.fromEntries(Object.keys(environment).map((k) => [k, process.env[k]]));
  Object.assign(process.env, environment);
  try {
    return await asPrincipal(principal, () =>
      Promise.resolve(handler(event, { getRemainingTimeInMillis: () => 60_000 })),
    );
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = v;
    }
  }
}

/** EventBridge pattern matching, for the patterns the app uses: exact values listed per field, nested. */
function matches(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) return pattern.includes(value);
  if (typeof pattern === 'object' && pattern !== null)
    return Object.entries(pattern).every(([k, p]) =>
      matches(
        p,
        typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[k] : undefined,
      ),
    );
  return pattern === value;
}

export interface Delivery {
  readonly rule: string;
  readonly target: string;
  /** What the target returned; for a state machine, the execution started ({ executionArn, input }). */
  readonly result?: unknown;
  readonly error?: string;
}

/**
 * Delivers an event to EventBridge in a region: every rule whose pattern matches runs its targets (Lambda
 * functions, and state machines, whose executions are started for the caller to run) and their results are returned. EventBridge delivers at least once and in the
 * background; here it runs now, so a test can see what the targets did.
 */
export async function deliverEvent(
  world: LocalWorld,
  region: string,
  event: Record<string, unknown>,
  environment: Record<string, string> = {},
): Promise<Delivery[]> {
  const delivered: Delivery[] = [];
  for (const { stack, resource } of world.app.resources('AWS::Events::Rule')) {
    if (stack.region !== region) continue;
    const p = world.app.resolve(stack, resource.Properties) as {
      Name?: string;
      EventPattern?: unknown;
      Targets?: { Arn: string; Input?: string }[];
    };
    if (p.EventPattern === undefined || !matches(p.EventPattern, event)) continue;
    for (const target of p.Targets ?? []) {
      if (/^arn:aws:states:[^:]+:\d+:stateMachine:/.test(target.Arn)) {
        // A state machine target: EventBridge starts an execution with the event as its input (the rule's
        // role may start that state machine only; CDK writes that policy). The test runs it with runInWorld.
        const input: unknown = target.Input === undefined ? event : JSON.parse(target.Input);
        const { executionArn } = (await asPrincipal(undefined, () =>
          world.aws.call(
            'states',
            'StartExecution',
            { stateMachineArn: target.Arn, input: JSON.stringify(input) },
            target.Arn.split(':')[3] ?? region,
          ),
        )) as { executionArn: string };
        delivered.push({ rule: p.Name ?? '', target: target.Arn, result: { executionArn, input } });
        continue;
      }
      if (!target.Arn.startsWith('arn:aws:lambda:')) continue;
      try {
        const input: unknown = target.Input === undefined ? event : JSON.parse(target.Input);
        const result = await invoke(world, target.Arn, input, environment);
        delivered.push({ rule: p.Name ?? '', target: target.Arn, result });
      } catch (error) {
        delivered.push({
          rule: p.Name ?? '',
          target: target.Arn,
          error: `${(error as Error).name}: ${(error as Error).message}`,
        });
      }
    }
  }
  return delivered;
}

/** The event Step Functions emits when an execution of the local world ends (detail-type Execution Status Change). */
export function statusChangeEvent(world: LocalWorld, executionArn: string): Record<string, unknown> {
  const execution = world.stepFunctions.executions.get(executionArn);
  if (execution === undefined) throw new Error(`no execution ${executionArn}`);
  return {
    version: '0',
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    account: world.account,
    region: executionArn.split(':')[3],
    resources: [executionArn],
    detail: {
      executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: execution.startDate.getTime(),
      stopDate: execution.stopDate?.getTime() ?? null,
    },
  };
}
