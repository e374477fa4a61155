/**
 * The topology's schema (what the record holds and the rules it keeps), apart from reading it: a step that
 * only needs a member's shape imports no Parameter Store client. topology.ts reads the record.
 */
import { sameHost } from './dns-name';
import { z } from 'zod';
import { RoutableError } from './routable-error';
import { databaseRefSchema } from './database-ref';
import { awsRegion, hostName, rdsInstanceIdentifier } from './schemas';

export const topologyMember = z.strictObject({
  region: awsRegion,
  instanceIdentifier: rdsInstanceIdentifier,
  /** The instance's endpoint host name: what the records answer when it serves. */
  endpoint: hostName,
  /**
   * Its port (RDS `Endpoint.Port`); absent: the port of the secret that opens it. CloudFormation writes it as
   * a string (a `GetAtt` in the first deploy's document), the workflows as a number.
   */
  port: z
    .union([
      z.int(),
      z
        .string()
        .regex(/^\d{1,5}$/)
        .transform(Number),
    ])
    .pipe(z.int().min(1).max(65535))
    .optional(),
  /**
   * The Secrets Manager secret (name or ARN) whose credentials open it; absent: the configured master secret.
   * A blue-green cutover makes green, opened by its own secret, the writer; a physical replica and a promoted
   * replica are opened by their writer's.
   */
  secretId: databaseRefSchema.shape.secretId.optional(),
});
export type TopologyMember = z.infer<typeof topologyMember>;

/** A change is refused when it would retire more than this many instances in one document. */
const MAX_RETIRED = 20;

export const topologySchema = z
  .strictObject({
    /** Counts every change from 1 (the first deploy); a change names the generation it was planned from. */
    generation: z.int().min(1).max(1_000_000),
    writer: topologyMember,
    /** The writer's cross-region read replica, or null while DR is degraded (after a failover, before re-protect). */
    replica: topologyMember.nullable(),
    /** Former writers, fenced: nothing may send them writes again, whatever their health checks say. */
    retired: z.array(topologyMember).max(MAX_RETIRED),
    /** When the change was written (absent for the first deploy's record, which CloudFormation writes). */
    changedAt: z.iso.datetime().optional(),
    /** What wrote it: `first deploy`, or the workflow and its execution. */
    changedBy: z.string().min(1).max(300),
  })
  .superRefine((t, ctx) => {
    if (t.replica !== null && t.replica.region === t.writer.region)
      ctx.addIssue({
        code: 'custom',
        path: ['replica', 'region'],
        message: `must differ from writer.region (${t.writer.region}): the DR replica is in the other region`,
      });
    const members = [
      ['writer', t.writer],
      ...(t.replica === null ? [] : [['replica', t.replica] as const]),
      ...t.retired.map((m, i) => [`retired.${i}`, m] as const),
    ] as const;
    const seen = new Map<string, string>();
    for (const [where, m] of members) {
      const keys = [`${m.region}/${m.instanceIdentifier}`, m.endpoint.toLowerCase()];
      const clash = keys.find((key) => seen.has(key));
      if (clash !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: where.split('.'),
          message: `names the same instance as ${seen.get(clash) ?? ''} (${clash})`,
        });
      for (const key of keys) if (!seen.has(key)) seen.set(key, where);
    }
  });
export type Topology = z.infer<typeof topologySchema>;

/**
 * What the failover records answer. PRIMARY: the writer. SECONDARY, which Route 53 answers whenever the
 * PRIMARY record's health check is unhealthy: the writer's replica, but only while the writer is the
 * health-checked writer (`healthCheckedWriter`: the writer the probes are known to watch, settled; the first
 * deploy's primary, then whichever writer the topology sync confirmed). Right after a role change a probe
 * may still watch a retired database, and its verdict must never send clients to the read-only replica: until
 * the sync confirms the new writer, SECONDARY answers the writer too.
 */
export function recordTargets(
  topology: Topology,
  healthCheckedWriter: string,
): { primary: string; secondary: string } {
  const { writer, replica } = topology;
  const replicaAnswers = replica !== null && sameHost(writer.endpoint, healthCheckedWriter);
  return { primary: writer.endpoint, secondary: (replicaAnswers ? replica : writer).endpoint };
}

/** Where a health probe connects: a member's endpoint, port and the secret that opens it. */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly secretId: string;
}

/** What the health probes watch, by the role their metrics carry (lambdas/health-probe/metric.ts). */
export type ProbeTargets = Readonly<Record<'primary' | 'replica', ProbeTarget>>;

/**
 * What the health probes watch: the `primary` probes (the writer's own region and the remote observer) the
 * writer, the `replica` probe the writer's replica, or the writer while it has none (DR degraded, as the
 * failover and the cutover say; SECONDARY then answers the writer too). A member without a port or secret
 * takes its writer's, then `defaults` (the configured port and master secret).
 */
export function probeTargets(
  topology: Topology,
  defaults: { readonly port: number; readonly secretId: string },
): ProbeTargets {
  const { writer, replica } = topology;
  const writerTarget: ProbeTarget = {
    host: writer.endpoint,
    port: writer.port ?? defaults.port,
    secretId: writer.secretId ?? defaults.secretId,
  };
  return {
    primary: writerTarget,
    replica:
      replica === null
        ? writerTarget
        : {
            host: replica.endpoint,
            port: replica.port ?? writerTarget.port,
            secretId: replica.secretId ?? writerTarget.secretId,
          },
  };
}

export type TopologyErrorName = 'TopologyMissing' | 'TopologyInvalid' | 'TopologyChanged';

export class TopologyError extends RoutableError<TopologyErrorName> {}

export const describeIssues = (error: z.ZodError) =>
  error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ');

/** Parses a topology document (the parameter's text); a refusal names every field that is wrong. */
export function parseTopology(text: string, where: string): Topology {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TopologyError('TopologyInvalid', `${where}: not a JSON document`, { cause: e });
  }
  const parsed = topologySchema.safeParse(json);
  if (!parsed.success)
    throw new TopologyError('TopologyInvalid', `${where}: ${describeIssues(parsed.error)}`, {
      cause: parsed.error,
    });
  return parsed.data;
}
