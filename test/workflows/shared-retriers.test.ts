import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AslState,
  sharedRetriers,
  STATEMACHINES,
  workflowDefinition,
} from '../../lib/workflow-definition';

/**
 * Each retry policy is written once, in statemachines/retriers.json, and the ASL files name it. These hold the
 * rule: the loader fills every reference in (and refuses one it cannot), every shared retrier is used, and no
 * file writes Lambda's transient errors out again.
 */
const FILES = readdirSync(STATEMACHINES).filter((f) => f.endsWith('.asl.json'));
const LAMBDA_TRANSIENT = sharedRetriers().LambdaTransient as { ErrorEquals: string[] };

function states(file: string, expanded: boolean): [string, AslState][] {
  const definition = expanded
    ? workflowDefinition(file)
    : (JSON.parse(readFileSync(join(STATEMACHINES, file), 'utf8')) as { States: Record<string, AslState> });
  const found: [string, AslState][] = [];
  const walk = (s: Record<string, AslState>) => {
    for (const [name, state] of Object.entries(s)) {
      found.push([name, state]);
      for (const branch of state.Branches ?? []) walk(branch.States);
    }
  };
  walk(definition.States);
  return found;
}

describe('shared retriers (statemachines/retriers.json)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-dr-retriers-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const probe = (name: string, definition: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(definition));
    return file;
  };

  it.each(FILES)('%s: every reference is filled in with the named retrier', (file) => {
    const raw = states(file, false);
    const expanded = new Map(states(file, true));
    const retriers = sharedRetriers();
    for (const [name, state] of raw)
      (state.Retry ?? []).forEach((retrier, i) => {
        const ref = /#\/(\w+)$/.exec((retrier.$ref as string | undefined) ?? '')?.[1];
        expect(expanded.get(name)?.Retry?.[i]).toEqual(ref === undefined ? retrier : retriers[ref]);
      });
    expect(JSON.stringify(workflowDefinition(file))).not.toContain('$ref');
  });

  it.each(FILES)('%s: a retrier that names one of Lambda’s transient errors names them all', (file) => {
    for (const [name, state] of states(file, true))
      for (const retrier of state.Retry ?? []) {
        const errors = retrier.ErrorEquals as string[];
        if (!errors.some((e) => LAMBDA_TRANSIENT.ErrorEquals.includes(e))) continue;
        expect({
          state: name,
          missing: LAMBDA_TRANSIENT.ErrorEquals.filter((e) => !errors.includes(e)),
        }).toEqual({
          state: name,
          missing: [],
        });
      }
  });

  it('every shared retrier is used, and no file writes one out again (or repeats its own)', () => {
    const key = (retrier: Record<string, unknown>) =>
      JSON.stringify(
        { ...retrier, ErrorEquals: [...(retrier.ErrorEquals as string[])].sort() },
        Object.keys(retrier).sort(),
      );
    const shared = new Map(Object.entries(sharedRetriers()).map(([name, retrier]) => [key(retrier), name]));
    const used = new Set<string>();
    const inline = new Map<string, string>();
    for (const file of FILES)
      for (const [name, state] of states(file, false))
        for (const retrier of state.Retry ?? []) {
          if (retrier.$ref !== undefined) {
            used.add((retrier.$ref as string).replace('retriers.json#/', ''));
            continue;
          }
          const where = `${file} ${name}`;
          expect({ where, sameAs: shared.get(key(retrier)) ?? inline.get(key(retrier)) }).toEqual({ where });
          inline.set(key(retrier), where);
        }
    expect([...used].sort()).toEqual([...shared.values()].sort());
  });

  it('refuses a reference it cannot fill in, or one outside a Retry array', () => {
    const task = (retry: unknown) => ({
      StartAt: 'A',
      States: { A: { Type: 'Task', Resource: '${AFunctionArn}', Retry: [retry], End: true } },
    });
    expect(() =>
      workflowDefinition(probe('unknown.asl.json', task({ $ref: 'retriers.json#/Nope' }))),
    ).toThrow(
      /state A: a Retry entry's \$ref must be the only field and name a retrier of retriers\.json \(LambdaTransient, /,
    );
    expect(() =>
      workflowDefinition(
        probe('extra.asl.json', task({ $ref: 'retriers.json#/LambdaTransient', MaxAttempts: 9 })),
      ),
    ).toThrow(/must be the only field/);
    expect(() =>
      workflowDefinition(probe('elsewhere.asl.json', task({ $ref: 'other.json#/LambdaTransient' }))),
    ).toThrow(/must be the only field and name a retrier/);
    expect(() =>
      workflowDefinition(
        probe('catch.asl.json', {
          StartAt: 'A',
          States: {
            A: {
              Type: 'Task',
              Resource: '${AFunctionArn}',
              Catch: [{ $ref: 'retriers.json#/LambdaTransient' }],
              End: true,
            },
          },
        }),
      ),
    ).toThrow('catch.asl.json: a $ref outside a Retry array of a state (only those are expanded)');
    expect(
      workflowDefinition(probe('ok.asl.json', task({ $ref: 'retriers.json#/LambdaTransient' }))).States.A
        ?.Retry,
    ).toEqual([LAMBDA_TRANSIENT]);
  });
});
