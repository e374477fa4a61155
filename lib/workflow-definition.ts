/**
 * The workflows' ASL files as Step Functions gets them. CDK deploys, and the local runs execute, what this
 * module returns, so the two can never differ.
 *
 * An ASL file names a shared retry policy instead of repeating it: a Retry entry
 * `{ "$ref": "retriers.json#/<Name>" }` (a JSON Reference) stands for the retrier of that name in
 * `statemachines/retriers.json`, the one place each policy is written. Nothing else in a file is expanded;
 * `${Name}` substitutions are CDK's (definitionSubstitutions) and stay as they are.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The folder of the ASL files. */
export const STATEMACHINES = join(__dirname, '..', 'statemachines');

const RETRIERS = 'retriers.json';
const RETRIER_REF = /^retriers\.json#\/([A-Za-z][A-Za-z0-9]*)$/;

export interface AslState {
  readonly Type?: string;
  readonly Resource?: string;
  readonly Retry?: readonly Record<string, unknown>[];
  readonly Branches?: readonly { readonly States: Record<string, AslState> }[];
  readonly [field: string]: unknown;
}

export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly TimeoutSeconds?: number;
  readonly [field: string]: unknown;
}

/** The named retriers of statemachines/retriers.json. */
export function sharedRetriers(): Readonly<Record<string, Record<string, unknown>>> {
  return JSON.parse(readFileSync(join(STATEMACHINES, RETRIERS), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
}

/** An ASL file (a name under statemachines/, or a path) with its shared retriers filled in, before substitution. */
export function workflowDefinition(file: string): AslDefinition {
  const definition = JSON.parse(readFileSync(resolve(STATEMACHINES, file), 'utf8')) as AslDefinition;
  const retriers = sharedRetriers();
  const expand = (state: string, retrier: Record<string, unknown>): Record<string, unknown> => {
    if (!('$ref' in retrier)) return retrier;
    const match = RETRIER_REF.exec(String(retrier.$ref));
    const shared = match === null ? undefined : retriers[match[1] ?? ''];
    if (shared === undefined || Object.keys(retrier).length !== 1)
      throw new Error(
        `${file}: state ${state}: a Retry entry's $ref must be the only field and name a retrier of ` +
          `${RETRIERS} (${Object.keys(retriers).join(', ')}), as "${RETRIERS}#/<Name>"`,
      );
    return shared;
  };
  const walk = (states: Record<string, AslState>): Record<string, AslState> =>
    Object.fromEntries(
      Object.entries(states).map(([name, state]) => [
        name,
        {
          ...state,
          ...(state.Retry === undefined ? {} : { Retry: state.Retry.map((r) => expand(name, r)) }),
          ...(state.Branches === undefined
            ? {}
            : { Branches: state.Branches.map((b) => ({ ...b, States: walk(b.States) })) }),
        },
      ]),
    );
  const expanded = { ...definition, States: walk(definition.States) };
  // Only Retry arrays of states and parallel branches are expanded; a reference anywhere else would reach
  // Step Functions as it is, and be refused at deploy.
  if (JSON.stringify(expanded).includes('"$ref"'))
    throw new Error(`${file}: a $ref outside a Retry array of a state (only those are expanded)`);
  return expanded;
}

/** The same, as the text CDK deploys (definitionBody) and the local runs substitute into. */
export function workflowDefinitionText(file: string): string {
  return JSON.stringify(workflowDefinition(file), null, 2);
}

/** Every Task state of a definition (branches included) with its Resource. */
export function taskResources(definition: {
  readonly States: Record<string, AslState>;
}): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (states: Record<string, AslState>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task' && state.Resource !== undefined) found.set(name, state.Resource);
      for (const branch of state.Branches ?? []) walk(branch.States);
    }
  };
  walk(definition.States);
  return found;
}
