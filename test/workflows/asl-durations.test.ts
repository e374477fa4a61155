import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WAY_BACK_WINDOW_HOURS_MAX } from '../../lambdas/shared/provisioning-tags';
import { drNames } from '../../lib/names';
import { STATEMACHINES, workflowDefinition } from '../../lib/workflow-definition';
import { testConfig } from '../infra/test-config';
import { testWorld } from '../support/world';

/**
 * Every state machine survives its own limits: the worst-case duration of every path through its ASL file
 * (waits times loop bounds, each task's timeout times its attempts plus the retry intervals, the longest branch
 * of a Parallel) fits in the machine's TimeoutSeconds. A Lambda task's attempt lasts at most the shorter of the
 * task's TimeoutSeconds and the function's own timeout, read from the synthesized template.
 */

interface Retrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds?: number;
  readonly MaxAttempts?: number;
  readonly BackoffRate?: number;
  readonly MaxDelaySeconds?: number;
}
interface State {
  readonly Type: string;
  readonly Resource?: string;
  readonly TimeoutSeconds?: number;
  readonly Seconds?: number;
  readonly SecondsPath?: string;
  readonly TimestampPath?: string;
  readonly Next?: string;
  readonly Default?: string;
  readonly End?: boolean;
  readonly Choices?: readonly Record<string, unknown>[];
  readonly Catch?: readonly { readonly Next: string }[];
  readonly Retry?: readonly Retrier[];
  readonly Branches?: readonly Machine[];
  readonly Parameters?: Record<string, unknown>;
  readonly ResultPath?: string | null;
}
interface Machine {
  readonly StartAt: string;
  readonly States: Record<string, State>;
  readonly TimeoutSeconds?: number;
}

const NAMES = drNames(testConfig());
/** Each ASL file and the state machine the app deploys from it. A new file must be added here. */
const MACHINES: Record<string, string> = {
  'blue-green-migration.asl.json': NAMES.blueGreenStateMachine,
  'failover-drill.asl.json': NAMES.drillStateMachine,
  'dr-rebuild.asl.json': NAMES.drRebuildStateMachine,
  'blue-green-safety-net.asl.json': NAMES.migrationSafetyNetStateMachine,
  'region-failover.asl.json': NAMES.regionFailoverStateMachine,
  'retired-writer-guard.asl.json': NAMES.retiredWriterGuardStateMachine,
  'green-provisioning.asl.json': NAMES.greenProvisioningStateMachine,
  'blue-retirement.asl.json': NAMES.blueRetirementStateMachine,
  'restore-test.asl.json': NAMES.restoreTestStateMachine,
  'dump.asl.json': NAMES.dumpStateMachine,
  'dump-restore-test.asl.json': NAMES.dumpRestoreTestStateMachine,
};

/** The Lambda timeout (seconds) of every function the app deploys, by its resolved ARN. */
function lambdaTimeouts(): Map<string, number> {
  const world = testWorld();
  try {
    const timeouts = new Map<string, number>();
    for (const { stack, logicalId, resource } of world.app.resources('AWS::Lambda::Function')) {
      const arn = String(world.app.resolve(stack, { 'Fn::GetAtt': [logicalId, 'Arn'] }));
      timeouts.set(arn, Number(resource.Properties?.Timeout ?? 3));
    }
    return timeouts;
  } finally {
    world.close();
  }
}

/** Every Next a state can take (Choice rules, Default, Catch). */
function successors(state: State): string[] {
  return [
    ...(state.Next === undefined ? [] : [state.Next]),
    ...(state.Default === undefined ? [] : [state.Default]),
    ...(state.Choices ?? []).map((c) => String(c.Next)),
    ...(state.Catch ?? []).map((c) => c.Next),
  ];
}

/** Strongly connected components (Tarjan): each loop of states, and every other state alone. */
function components(states: Record<string, State>): string[][] {
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (name: string) => {
    order.set(name, index);
    low.set(name, index++);
    stack.push(name);
    on.add(name);
    for (const next of successors(states[name] as State)) {
      if (!order.has(next)) {
        visit(next);
        low.set(name, Math.min(low.get(name) ?? 0, low.get(next) ?? 0));
      } else if (on.has(next)) low.set(name, Math.min(low.get(name) ?? 0, order.get(next) ?? 0));
    }
    if (low.get(name) === order.get(name)) {
      const component: string[] = [];
      for (;;) {
        const top = stack.pop() as string;
        on.delete(top);
        component.push(top);
        if (top === name) break;
      }
      found.push(component);
    }
  };
  for (const name of Object.keys(states)) if (!order.has(name)) visit(name);
  return found;
}

/** The counter a loop increments (a Pass with States.MathAdd(<path>, 1)) and the path it lands at. */
function counterOf(states: Record<string, State>, loop: readonly string[]): string | undefined {
  for (const name of loop) {
    const state = states[name] as State;
    if (state.Type !== 'Pass') continue;
    for (const [key, value] of Object.entries(state.Parameters ?? {})) {
      const m = /^States\.MathAdd\((\$\.[A-Za-z0-9_.]+), 1\)$/.exec(String(value));
      if (key.endsWith('.$') && m !== null) {
        const base = state.ResultPath ?? '$';
        return `${base}.${key.slice(0, -2)}`;
      }
    }
  }
  return undefined;
}

/** How many times a loop can run: its counter checked against a bound by a Choice whose rule leaves the loop. */
function loopBound(states: Record<string, State>, loop: readonly string[]): number {
  const counter = counterOf(states, loop);
  if (counter === undefined) throw new Error(`loop ${loop.join(' → ')} has no counter (States.MathAdd)`);
  for (const name of loop) {
    for (const rule of states[name]?.Choices ?? []) {
      if (rule.Variable !== counter || loop.includes(String(rule.Next))) continue;
      const bound = rule.NumericGreaterThanEquals ?? rule.NumericGreaterThan;
      // Conservative: one more pass than the bound allows.
      if (typeof bound === 'number') return bound + 1;
    }
  }
  throw new Error(`loop ${loop.join(' → ')} never leaves on its counter ${counter}`);
}

/** Seconds one retrier adds at most: its intervals, each backed off and capped. */
function retryDelays(r: Retrier): number {
  let total = 0;
  for (let k = 0; k < (r.MaxAttempts ?? 3); k++)
    total += Math.min((r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** k, r.MaxDelaySeconds ?? Infinity);
  return total;
}

interface Context {
  readonly file: string;
  readonly lambdas: Map<string, number>;
  readonly substitutions: Record<string, string>;
  /** Upper bounds of SecondsPath waits, with where they come from. */
  readonly waitBounds: Record<string, number>;
}

function stateCost(ctx: Context, name: string, state: State): number {
  switch (state.Type) {
    case 'Task': {
      if (state.TimeoutSeconds === undefined)
        throw new Error(`${ctx.file}: Task ${name} has no TimeoutSeconds`);
      const resource = (state.Resource ?? '').replace(
        /\$\{(\w+)\}/g,
        (_m, k: string) => ctx.substitutions[k] ?? '',
      );
      const fn = ctx.lambdas.get(resource);
      if (resource.startsWith('arn:aws:lambda:') && fn === undefined)
        throw new Error(`${ctx.file}: ${name} invokes ${resource}, which the app does not deploy`);
      // A task that times out must leave no Lambda running behind it: the next attempt (or the failure path)
      // would otherwise race it (a late flip to green after the rollback to blue, two fence lifts at once).
      if (fn !== undefined && state.TimeoutSeconds < fn)
        throw new Error(
          `${ctx.file}: ${name} times out after ${state.TimeoutSeconds} s, before its Lambda (${fn} s) must have ended`,
        );
      const attempt = Math.min(state.TimeoutSeconds, fn ?? Infinity);
      const retriers = state.Retry ?? [];
      const attempts = 1 + retriers.reduce((n, r) => n + (r.MaxAttempts ?? 3), 0);
      return attempts * attempt + retriers.reduce((n, r) => n + retryDelays(r), 0);
    }
    case 'Wait': {
      if (state.Seconds !== undefined) return state.Seconds;
      const bound = ctx.waitBounds[name];
      if (bound === undefined)
        throw new Error(
          `${ctx.file}: Wait ${name} (${state.SecondsPath ?? state.TimestampPath ?? '?'}) has no known bound`,
        );
      return bound;
    }
    case 'Parallel':
      return Math.max(...(state.Branches ?? []).map((b) => worstCase(ctx, b)));
    case 'Map':
      throw new Error(`${ctx.file}: Map state ${name}: add its bound to this test`);
    default:
      return 0;
  }
}

/** The longest path from StartAt to an end, each loop counted its bound times over (every state in it, each pass). */
function worstCase(ctx: Context, machine: Machine): number {
  const { States: states } = machine;
  const groups = components(states);
  const groupOf = new Map<string, number>();
  groups.forEach((g, i) => {
    for (const name of g) groupOf.set(name, i);
  });
  const memo = new Map<number, number>();
  const longest = (g: number): number => {
    const known = memo.get(g);
    if (known !== undefined) return known;
    const members = groups[g] as string[];
    const isLoop =
      members.length > 1 || successors(states[members[0] as string] as State).includes(members[0] as string);
    const once = members.reduce((n, name) => n + stateCost(ctx, name, states[name] as State), 0);
    const own = isLoop ? once * loopBound(states, members) : once;
    const next = new Set<number>();
    for (const name of members)
      for (const s of successors(states[name] as State)) {
        const target = groupOf.get(s);
        if (target === undefined) throw new Error(`${ctx.file}: ${name} goes to ${s}, which does not exist`);
        if (target !== g) next.add(target);
      }
    const total = own + Math.max(0, ...[...next].map(longest));
    memo.set(g, total);
    return total;
  };
  return longest(groupOf.get(machine.StartAt) as number);
}

describe('every state machine survives its own limits (worst-case duration within TimeoutSeconds)', () => {
  const lambdas = lambdaTimeouts();
  const world = testWorld();
  afterAll(() => {
    world.close();
  });

  it('knows every ASL file the app deploys', () => {
    expect(
      readdirSync(STATEMACHINES)
        .filter((f) => f.endsWith('.asl.json'))
        .sort(),
    ).toEqual(Object.keys(MACHINES).sort());
  });

  it.each(Object.entries(MACHINES))('%s', (file, name) => {
    const machine = workflowDefinition(file) as unknown as Machine;
    const substitutions = world.substitutions(name);
    // The safety net waits at most the longest step timeout (+5 s) it is told, from its function's environment.
    const assessArn = substitutions.MigrationSafetyNetAssessFunctionArn;
    const stepTimeout =
      assessArn === undefined
        ? undefined
        : Number(
            (
              world.app
                .resources('AWS::Lambda::Function')
                .find(
                  ({ stack, logicalId }) =>
                    String(world.app.resolve(stack, { 'Fn::GetAtt': [logicalId, 'Arn'] })) === assessArn,
                )?.resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined
            )?.Variables?.STEP_TIMEOUT_SECONDS,
          );
    const ctx: Context = {
      file,
      lambdas,
      substitutions,
      waitBounds: {
        ...(stepTimeout === undefined ? {} : { WaitForSteps: stepTimeout + 5 }),
        // The blue retirement waits out the way back's window: at most the config's longest.
        WaitForWindow: WAY_BACK_WINDOW_HOURS_MAX * 3600,
      },
    };
    expect(machine.TimeoutSeconds).toEqual(expect.any(Number));
    const worst = worstCase(ctx, machine);
    process.stderr.write(
      `${file}: worst case ${Math.ceil(worst)} s, TimeoutSeconds ${machine.TimeoutSeconds ?? '-'}\n`,
    );
    expect(worst).toBeLessThanOrEqual(machine.TimeoutSeconds ?? 0);
    // docs/limits.md quotes both figures.
    const row = readFileSync(join(__dirname, '..', '..', 'docs', 'limits.md'), 'utf8')
      .split('\n')
      .find((line) => line.startsWith(`| \`${name}\``));
    expect(row).toContain(`| ${Math.ceil(worst).toLocaleString('en-US')} s`);
    expect(row).toContain(`| ${(machine.TimeoutSeconds ?? 0).toLocaleString('en-US')} s`);
  });

  it('finds a loop without a bound, and a path longer than the timeout (the analysis can fail)', () => {
    const ctx: Context = { file: 'probe', lambdas, substitutions: {}, waitBounds: {} };
    const unbounded: Machine = {
      StartAt: 'A',
      TimeoutSeconds: 100,
      States: {
        A: { Type: 'Wait', Seconds: 10, Next: 'B' },
        B: { Type: 'Choice', Choices: [], Default: 'A' },
      },
    };
    expect(() => worstCase(ctx, unbounded)).toThrow(/has no counter/);
    const bounded: Machine = {
      StartAt: 'Start',
      TimeoutSeconds: 100,
      States: {
        Start: { Type: 'Pass', Next: 'Wait' },
        Wait: { Type: 'Wait', Seconds: 10, Next: 'Count' },
        Count: { Type: 'Pass', Parameters: { 'n.$': 'States.MathAdd($.n, 1)' }, Next: 'Check' },
        Check: {
          Type: 'Choice',
          Choices: [{ Variable: '$.n', NumericGreaterThanEquals: 20, Next: 'Done' }],
          Default: 'Wait',
        },
        Done: { Type: 'Succeed' },
      },
    };
    expect(worstCase(ctx, bounded)).toBe(210);
    expect(worstCase(ctx, bounded)).toBeGreaterThan(bounded.TimeoutSeconds ?? 0);
    const task: Machine = {
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sns:publish',
          TimeoutSeconds: 60,
          Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }],
          End: true,
        },
      },
    };
    // 4 attempts of 60 s, and 2 + 4 + 8 s between them.
    expect(worstCase(ctx, task)).toBe(254);
    const [someFunction, itsTimeout] = [...lambdas][0] ?? ['', 0];
    const early: Machine = {
      StartAt: 'T',
      States: { T: { Type: 'Task', Resource: someFunction, TimeoutSeconds: itsTimeout - 1, End: true } },
    };
    expect(() => worstCase(ctx, early)).toThrow(/before its Lambda/);
  });
});
