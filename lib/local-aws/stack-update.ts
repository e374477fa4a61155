/**
 * SIMULATED CloudFormation stack update: what deploying a newly synthesized app over the deployed one changes,
 * decided as CloudFormation decides it. A resource whose template properties are unchanged is not touched (so
 * its dynamic references are not read again); a changed one is updated, or replaced when a changed property
 * causes replacement. Which properties do comes from the CloudFormation resource specification as the CDK team
 * publishes it (@aws-cdk/aws-service-spec): `yes`, or `maybe` where it depends on the values (CloudFormation's
 * change sets say "Conditional").
 */
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import type { CfnResource, StackTemplate } from './deployed-app';

export interface ResourceChange {
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  /** The top-level properties whose template value changed. */
  readonly properties: readonly string[];
  readonly replacement: 'yes' | 'maybe' | 'no';
}

export interface StackUpdatePlan {
  readonly updated: readonly ResourceChange[];
  readonly added: readonly { readonly stack: string; readonly logicalId: string; readonly type: string }[];
  readonly removed: readonly { readonly stack: string; readonly logicalId: string; readonly type: string }[];
}

let spec: ReturnType<typeof loadAwsServiceSpecSync> | undefined;
const replacing = new Map<string, ReadonlyMap<string, 'yes' | 'maybe'>>();

/** The properties of a resource type that cause replacement when changed, from the specification. */
function replacingProperties(type: string): ReadonlyMap<string, 'yes' | 'maybe'> {
  const known = replacing.get(type);
  if (known !== undefined) return known;
  spec ??= loadAwsServiceSpecSync();
  const [resource] = spec.lookup('resource', 'cloudFormationType', 'equals', type);
  const found = new Map<string, 'yes' | 'maybe'>();
  for (const [name, property] of Object.entries(resource?.properties ?? {}))
    if (property.causesReplacement === 'yes' || property.causesReplacement === 'maybe')
      found.set(name, property.causesReplacement);
  replacing.set(type, found);
  return found;
}

/** A value in a canonical form: objects with sorted keys, so key order never reads as a change. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );

function changeOf(
  stack: string,
  logicalId: string,
  before: CfnResource,
  after: CfnResource,
): ResourceChange | undefined {
  const names = new Set([...Object.keys(before.Properties ?? {}), ...Object.keys(after.Properties ?? {})]);
  const properties = [...names].filter(
    (name) => canonical(before.Properties?.[name]) !== canonical(after.Properties?.[name]),
  );
  if (properties.length === 0) return undefined;
  const causes = replacingProperties(after.Type);
  const replacement = properties.some((p) => causes.get(p) === 'yes')
    ? 'yes'
    : properties.some((p) => causes.get(p) === 'maybe')
      ? 'maybe'
      : 'no';
  return { stack, logicalId, type: after.Type, properties: properties.sort(), replacement };
}

/** What deploying `next` over `deployed` would do, stack by stack. */
export function planStackUpdate(
  deployed: readonly StackTemplate[],
  next: readonly StackTemplate[],
): StackUpdatePlan {
  const updated: ResourceChange[] = [];
  const added: StackUpdatePlan['added'][number][] = [];
  const removed: StackUpdatePlan['removed'][number][] = [];
  for (const stack of next) {
    const before = deployed.find((s) => s.stackName === stack.stackName)?.template.Resources ?? {};
    for (const [logicalId, resource] of Object.entries(stack.template.Resources)) {
      const previous = before[logicalId];
      if (previous === undefined) added.push({ stack: stack.stackName, logicalId, type: resource.Type });
      else if (previous.Type !== resource.Type)
        updated.push({
          stack: stack.stackName,
          logicalId,
          type: resource.Type,
          properties: [],
          replacement: 'yes',
        });
      else {
        const change = changeOf(stack.stackName, logicalId, previous, resource);
        if (change !== undefined) updated.push(change);
      }
    }
    for (const [logicalId, resource] of Object.entries(before))
      if (stack.template.Resources[logicalId] === undefined)
        removed.push({ stack: stack.stackName, logicalId, type: resource.Type });
  }
  return { updated, added, removed };
}
