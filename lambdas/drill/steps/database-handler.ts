import { z } from 'zod';
import { databaseRefSchema, lambdaResolver, withConnection } from '../../shared/database';
import { parseInput, runStep, StepError, stepInstrumentation } from '../../shared/step';
import { HOST, RECENT_EPOCH_MS } from '../input';
import { checkDatabases } from '../preflight-databases';
import { resolveRecord } from '../record-resolver';
import { DRILL_SERVICE } from '../report';
import { probeDatabaseReplication } from '../heartbeat';
import { verifyThroughRecord } from '../through-record';

const endpointRef = databaseRefSchema.required({ host: true });
const pollMs = z.number().int().min(50).max(10_000);
const CONNECT_TIMEOUT_MS = 5_000;

export const drillDatabaseEventSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('preflight'),
    primary: endpointRef,
    replica: endpointRef,
    maxReplicaLagSeconds: z.number().int().min(1).max(600),
    pollMs,
    /** Problems the control-plane preflight found: refused together with the databases' own. */
    problems: z.array(z.string().max(1000)).max(50),
  }),
  z.strictObject({
    mode: z.literal('heartbeat'),
    primary: endpointRef,
    replica: endpointRef,
    timeoutSeconds: z.number().int().min(1).max(600),
    pollMs,
  }),
  z.strictObject({
    mode: z.literal('through-record'),
    recordName: HOST,
    expect: z.enum(['primary', 'replica']),
    primary: endpointRef,
    replica: endpointRef,
    /** Epoch ms of the inversion (failover) or the restore (failback). */
    since: RECENT_EPOCH_MS,
    maxWaitSeconds: z.number().int().min(1).max(600),
    pollMs,
  }),
]);

const instrumentation = stepInstrumentation('drill-database', DRILL_SERVICE);

/**
 * The drill's database steps, run inside the VPC: `preflight` (primary writable, replica replaying, a heartbeat
 * arriving in time; refuses with every problem as PreflightRefused), `heartbeat` (the data-loss window), and
 * `through-record` (what a client of the record gets: DisruptionOverBudget or PrimaryNotServed past the limit).
 */
export async function handler(event: unknown): Promise<unknown> {
  return runStep(instrumentation, async () => {
    const input = parseInput(drillDatabaseEventSchema, event);
    const resolve = lambdaResolver();
    const [primary, replica] = await Promise.all([resolve(input.primary), resolve(input.replica)]);
    if (input.mode === 'preflight') {
      const report = await checkDatabases({
        primary,
        replica,
        maxReplicaLagSeconds: input.maxReplicaLagSeconds,
        timeoutMs: CONNECT_TIMEOUT_MS,
        pollMs: input.pollMs,
      });
      const problems = [...input.problems, ...report.problems];
      if (problems.length > 0)
        throw new StepError('PreflightRefused', `refusing to start the drill: ${problems.join('; ')}`);
      instrumentation.logger.info('preflight passed', { replicaLagMs: report.replicaLagMs });
      return { replicaLagMs: report.replicaLagMs };
    }
    if (input.mode === 'heartbeat') {
      const options = { connectTimeoutMs: CONNECT_TIMEOUT_MS, statementTimeoutMs: CONNECT_TIMEOUT_MS };
      const result = await withConnection(primary, { ...options, applicationName: 'dr-drill' }, (p) =>
        withConnection(replica, { ...options, applicationName: 'dr-drill' }, (r) =>
          probeDatabaseReplication(p, r, { timeoutMs: input.timeoutSeconds * 1000, pollMs: input.pollMs }),
        ),
      );
      instrumentation.logger.info('heartbeat replicated', { replicatedAfterMs: result.replicatedAfterMs });
      return result;
    }
    const result = await verifyThroughRecord(
      { resolveCname: resolveRecord },
      {
        recordName: input.recordName,
        expect: input.expect,
        endpoints: [
          { settings: primary, role: 'primary' },
          { settings: replica, role: 'replica' },
        ],
        since: input.since,
        maxWaitMs: input.maxWaitSeconds * 1000,
        pollMs: input.pollMs,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
      },
    );
    instrumentation.logger.info('served through the record', { expect: input.expect, ...result });
    return result;
  });
}
