/**
 * Keeps each health probe watching what the topology says (probeTargets): after a failover, a cutover or a
 * re-protect, the PRIMARY health checks and the alarms behind them watch the new writer, not a retired one.
 * A probe's target is its function's environment (DB_HOST, DB_PORT, DB_SECRET_ID), changed in place with
 * UpdateFunctionConfiguration, so a probe needs no call at run time to learn it (its VPC reaches no
 * Parameter Store, and a probe that depends on another region to know what to probe would go blind with it).
 */
import {
  GetFunctionConfigurationCommand,
  UpdateFunctionConfigurationCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import type { ProbeTarget, ProbeTargets } from '../shared/topology-schema';

/** One probe function, by the role its metrics carry. */
export interface ProbeFunction {
  readonly role: 'primary' | 'primary-remote' | 'replica';
  readonly region: string;
  readonly functionName: string;
}

export type ProbeSyncOutcome =
  /** Its environment already names the target. */
  | 'in-sync'
  /** Its environment was changed to the target. */
  | 'updated'
  /** An update (a deploy, or this sync's last one) is still in progress: the next run tries again. */
  | 'busy'
  /** It could not be read or changed (its region unreachable, access denied): `error` says why. */
  | 'failed';

export interface ProbeSyncResult {
  readonly role: ProbeFunction['role'];
  readonly region: string;
  readonly functionName: string;
  readonly outcome: ProbeSyncOutcome;
  /** What it watches now (for `in-sync` and `updated`) or should watch. */
  readonly target: ProbeTarget;
  /** What it watched before an update. */
  readonly previousHost?: string;
  /**
   * For `in-sync`: when its configuration last changed (Lambda's LastModified, epoch ms), so the sync knows
   * how long its alarm has been fed by this target alone.
   */
  readonly lastModifiedMs?: number;
  readonly error?: string;
}

/** The environment variables of the probe (lambdas/health-probe/handler.ts) that name what it probes. */
export function targetEnvironment(target: ProbeTarget): Record<string, string> {
  return { DB_HOST: target.host, DB_PORT: String(target.port), DB_SECRET_ID: target.secretId };
}

/** Lambda's answers that mean "another update is under way": left for the next run, never forced. */
const BUSY_ERRORS = new Set(['ResourceConflictException', 'PreconditionFailedException']);

const roleTarget = (targets: ProbeTargets, role: ProbeFunction['role']) =>
  role === 'replica' ? targets.replica : targets.primary;

async function syncOne(
  lambdaIn: (region: string) => Pick<LambdaClient, 'send'>,
  probe: ProbeFunction,
  target: ProbeTarget,
): Promise<ProbeSyncResult> {
  const base = { role: probe.role, region: probe.region, functionName: probe.functionName, target };
  const client = lambdaIn(probe.region);
  try {
    const current = await client.send(
      new GetFunctionConfigurationCommand({ FunctionName: probe.functionName }),
    );
    const variables = current.Environment?.Variables ?? {};
    const wanted = targetEnvironment(target);
    if (Object.entries(wanted).every(([key, value]) => variables[key] === value)) {
      const lastModifiedMs = Date.parse(current.LastModified ?? '');
      return {
        ...base,
        // Settled only once Lambda has applied it: an update in progress, failed, or a function not Active
        // may still run (or fail to run) another configuration.
        outcome: current.State === 'Active' && current.LastUpdateStatus === 'Successful' ? 'in-sync' : 'busy',
        ...(Number.isNaN(lastModifiedMs) ? {} : { lastModifiedMs }),
      };
    }
    // While an update is in progress Lambda refuses another (ResourceConflictException): a deploy or this
    // sync's last change. Leave it; CloudFormation's own update must never fail because of this one.
    if (current.State !== 'Active' || current.LastUpdateStatus === 'InProgress')
      return { ...base, outcome: 'busy', ...hostOf(variables) };
    await client.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: probe.functionName,
        // Environment.Variables replaces the whole map: every other variable is written back as it was.
        Environment: { Variables: { ...variables, ...wanted } },
        // Refused (PreconditionFailedException) if the function changed since it was read.
        ...(current.RevisionId === undefined ? {} : { RevisionId: current.RevisionId }),
      }),
    );
    return { ...base, outcome: 'updated', ...hostOf(variables) };
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    if (BUSY_ERRORS.has(name)) return { ...base, outcome: 'busy' };
    const message = error instanceof Error ? error.message : String(error);
    return { ...base, outcome: 'failed', error: `${name}: ${message}` };
  }
}

const hostOf = (variables: Record<string, string>) =>
  variables.DB_HOST === undefined ? {} : { previousHost: variables.DB_HOST };

/**
 * Points every probe at its target. Each probe is synced on its own: one whose region cannot be reached (lost)
 * is reported `failed` and does not stop the others; the next run tries it again.
 */
export async function syncProbeTargets(
  lambdaIn: (region: string) => Pick<LambdaClient, 'send'>,
  probes: readonly ProbeFunction[],
  targets: ProbeTargets,
): Promise<ProbeSyncResult[]> {
  return Promise.all(probes.map((probe) => syncOne(lambdaIn, probe, roleTarget(targets, probe.role))));
}
