import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { DATABASE_ROLES } from '../health-probe/metric';
import { setIdentifier } from '../workflow-input/schema';
import { ROUTE53_METRICS_REGION } from '../shared/health-check-status';
import { DNS_RECORD_NAME } from '../shared/patterns';
import { awsRegion, hostedZoneId } from '../shared/schemas';
import { runStep, StepError, stepInstrumentation } from '../shared/step';
import { probeTargets, readTopology } from '../shared/topology';
import { topologyLocation } from '../shared/topology-location';
import { syncProbeTargets, type ProbeSyncResult } from './probes';
import { syncRecords, type RecordSyncResult } from './records';
import { relayReplicaLag, type ReplicaLagRelay } from './replica-lag';
import { relayStorage, type StorageRelay } from './storage';

const json = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be JSON' });
    return z.NEVER;
  }
});
const healthCheckId = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

const environmentSchema = z.object({
  /** The probe functions, as JSON: `[{"role": "primary", "region": "us-west-2", "functionName": "…"}, …]`. */
  PROBES: json.pipe(
    z
      .array(
        z.strictObject({
          role: z.enum(DATABASE_ROLES),
          region: awsRegion,
          functionName: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
        }),
      )
      .min(1)
      .max(10),
  ),
  /** What a topology member without a port or secret of its own takes (the configured database). */
  DATABASE_PORT: z.coerce.number().int().min(1).max(65535),
  MASTER_SECRET_NAME: z.string().min(1).max(512),
  /** The zone of the followed records, and the sets (JSON): `[{"recordName", "setIdentifier", "follows"}]`. */
  HOSTED_ZONE_ID: hostedZoneId,
  RECORDS: json.pipe(
    z
      .array(
        z.strictObject({
          recordName: z.string().regex(DNS_RECORD_NAME),
          setIdentifier,
          follows: z.enum(['primary', 'secondary']),
        }),
      )
      .max(4),
  ),
  /** The PRIMARY record's database health checks (comma-separated): healthy before a writer is confirmed. */
  WRITER_HEALTH_CHECK_IDS: z
    .string()
    .transform((ids) => ids.split(','))
    .pipe(z.array(healthCheckId).min(1).max(3)),
  /** How long the probes must have watched a writer before their alarms count as being about it. */
  SETTLE_SECONDS: z.coerce.number().int().min(60).max(3600),
});

const instrumentation = stepInstrumentation('topology-sync');
let clients: { ssm: SSMClient; route53: Route53Client; cloudwatch: CloudWatchClient } | undefined;
/** One client per service and region, made once per container. */
function perRegion<T>(make: (region: string) => T): (region: string) => T {
  const made = new Map<string, T>();
  return (region) => {
    let client = made.get(region);
    if (client === undefined) {
      client = make(region);
      made.set(region, client);
    }
    return client;
  };
}
/**
 * A region that hangs instead of refusing (lost, or partitioned) must not hold the run past its 55 s: each
 * call to another region gives up after seconds, and the next minute tries again.
 */
const REGIONAL = { maxAttempts: 2, requestHandler: { connectionTimeout: 3_000, requestTimeout: 8_000 } };
const lambdaIn = perRegion((region) => new LambdaClient({ region, ...REGIONAL }));
const cloudwatchIn = perRegion((region) => new CloudWatchClient({ region, ...REGIONAL }));
let local: CloudWatchClient | undefined;

/** Route 53 usually applies a change within 60 s; the next run confirms one that took longer. */
const FLIP_TIMING = { pollIntervalMs: 2_000, maxWaitMs: 8_000, maxRetries: 2, retryBaseMs: 500 };

export interface TopologySyncResult {
  readonly probes: readonly ProbeSyncResult[];
  readonly records: RecordSyncResult;
  readonly replicaLag: ReplicaLagRelay;
  readonly storage: StorageRelay;
}

/**
 * Every minute: points each health probe at what the topology says it watches, then keeps the records on it
 * (the health-checked writer, SECONDARY, the drill record: records.ts), and relays the lag of the replica it
 * names (replica-lag.ts) and the storage of the writer and replica (storage.ts). Fails (so the function's Errors alarm
 * pages) when a probe could not be read or changed, or the storage not relayed, after syncing the others and
 * the records all the same.
 */
export async function handler(): Promise<TopologySyncResult> {
  return runStep(instrumentation, async () => {
    const parsed = environmentSchema.safeParse(process.env);
    if (!parsed.success)
      throw new StepError(
        'StepMisconfigured',
        `invalid or missing environment variable(s) ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
      );
    const env = parsed.data;
    const { region, names } = topologyLocation();
    clients ??= {
      ssm: new SSMClient({ region }),
      // Route 53's API, and the HealthCheckStatus metric it publishes, live in us-east-1.
      route53: new Route53Client({ region: 'us-east-1' }),
      cloudwatch: new CloudWatchClient({ region: ROUTE53_METRICS_REGION }),
    };
    const topology = await readTopology(clients.ssm, names);
    const targets = probeTargets(topology, { port: env.DATABASE_PORT, secretId: env.MASTER_SECRET_NAME });
    // The probes and the lag relay reach other regions: side by side, so one that hangs delays the other
    // by nothing, and both finish before the records (a Route 53 failure there silences neither).
    local ??= new CloudWatchClient({});
    const relayDeps = { cloudwatchIn, local, now: Date.now() };
    const [probes, replicaLag, storage] = await Promise.all([
      syncProbeTargets(lambdaIn, env.PROBES, targets),
      relayReplicaLag(relayDeps, topology),
      relayStorage(relayDeps, topology),
    ]);
    if (replicaLag.error !== undefined)
      instrumentation.logger.warn('replica lag not read: the alarm sees none', { ...replicaLag });
    for (const member of storage.members)
      if (member.error !== undefined)
        instrumentation.logger.warn('storage metrics not read: the storage alarms see none', { ...member });
    for (const result of probes) {
      if (result.outcome === 'updated')
        instrumentation.logger.info('probe now watches the topology', { ...result });
      else if (result.outcome === 'failed') instrumentation.logger.error('probe not synced', { ...result });
    }
    const records = await syncRecords({ ...clients, flipTiming: FLIP_TIMING }, names, {
      topology,
      probes,
      settleMs: env.SETTLE_SECONDS * 1000,
      writerHealthCheckIds: env.WRITER_HEALTH_CHECK_IDS,
      hostedZoneId: env.HOSTED_ZONE_ID,
      records: env.RECORDS,
    });
    if (records.withdrawn)
      instrumentation.logger.warn(
        'a primary probe watched something else: SECONDARY answers the writer until they settle',
        {
          healthCheckedWriter: records.healthCheckedWriter,
        },
      );
    if (records.waitingFor !== undefined)
      instrumentation.logger.info('the writer is not confirmed yet', { waitingFor: records.waitingFor });
    if (records.skipped.length > 0)
      instrumentation.logger.info('a role change landed during this run: left for the next', {
        skipped: records.skipped,
      });
    if (records.confirmed)
      instrumentation.logger.info('the probes watch the writer: SECONDARY may answer its replica', {
        healthCheckedWriter: records.healthCheckedWriter,
      });
    for (const change of records.changed)
      instrumentation.logger.info('record follows the topology', { ...change });
    const failed = probes.filter((r) => r.outcome === 'failed');
    if (failed.length > 0)
      throw new StepError(
        'ProbeSyncFailed',
        failed
          .map((r) => `${r.role} probe ${r.functionName} in ${r.region}: ${r.error ?? 'failed'}`)
          .join('; '),
      );
    // Storage not relayed leaves its alarms with no data, which they do not count: fail, so the sync's own
    // alarm pages instead of a quiet free-storage alarm (the lag alarm counts a missing lag as over by itself).
    const unread = storage.members.filter((m) => m.error !== undefined);
    if (unread.length > 0)
      throw new StepError(
        'RelayFailed',
        unread
          .map((m) => `storage of the ${m.role} ${m.instanceIdentifier} not read: ${m.error ?? 'failed'}`)
          .join('; '),
      );
    return { probes, records, replicaLag, storage };
  });
}
