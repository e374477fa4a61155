/**
 * The region failover's database steps (in the VPC, reading only database secrets):
 * - `measure`: who answers, and what promoting the replica now would lose, refused past the limits unless
 *   forced (an adoption: that the restored instance opens, and what it lacks after its restore point);
 * - `retire`: retire the former writer if it answers (it may not: its region may be gone);
 * - `catch-up`: wait, bounded, until the replica has replayed the retired writer's final position (a planned
 *   switchover loses nothing);
 * - `guard`: retire again every retired former writer that answers (the retired-writer guard's step);
 * - `open`: open the promoted writer (what its former writer's retirement left set, replayed; an adopted
 *   restored instance first takes its secret's current password) and check that every application database
 *   takes writes.
 */
import { z } from 'zod';
import { databaseRefSchema, lambdaResolver, withConnection } from '../shared/database';
import { parseInput, runStep, stepInstrumentation } from '../shared/step';
import { topologyMember } from '../shared/topology-schema';
import { guardRetiredWriters, type GuardResult } from './guard';
import { memberRef } from './member';
import { lambdaSecretVersions } from '../shared/secret-versions';
import { adoptionOrNull } from './adoption';
import { measureAdoption, measureFailover, type FailoverMeasurement } from './measure';
import { openPromoted, takeCurrentPassword, type OpenedWriter } from './open-writer';
import { retireIfReachable, type RetireResult } from './retire-writer';
import { waitForReplay } from './replication-position';

/**
 * A member as the plan gives it: the secret that opens it settled, its port a number (the topology document
 * may hold CloudFormation's string; the plan step's output never does).
 */
const openableMember = topologyMember.extend({
  secretId: databaseRefSchema.shape.secretId,
  port: z.int().min(1).max(65535).optional(),
});

export const failoverDatabaseEventSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('measure'),
    writer: openableMember,
    replica: openableMember,
    database: databaseRefSchema.shape.database.unwrap().default('postgres'),
    limits: z.strictObject({
      maxBytesBehind: z
        .int()
        .min(0)
        .max(1024 ** 4),
      maxSecondsSinceLastReplay: z.int().min(0).max(86_400),
    }),
    force: z.boolean(),
    planned: z.boolean().default(false),
    /**
     * Measured again after a person approved the window: the time bound of a lost writer is not applied
     * again (it grew while they read); the byte bound of a writer that answers still is.
     */
    approved: z.boolean().default(false),
    writerConnectTimeoutMs: z.int().min(500).max(30_000).default(5_000),
    /** The restored instance being adopted (then `replica` is it), or null. */
    adopt: adoptionOrNull,
  }),
  z.strictObject({
    mode: z.literal('retire'),
    /** The former writer (from the plan). */
    member: openableMember,
    connectTimeoutMs: z.int().min(500).max(30_000).default(5_000),
  }),
  z.strictObject({
    mode: z.literal('catch-up'),
    /** The replica to be promoted, and the retired writer's final position it must replay first. */
    member: openableMember,
    targetLsn: z.string().regex(/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/, { error: 'must be a WAL position' }),
    timeoutMs: z.int().min(1_000).max(80_000).default(60_000),
  }),
  z.strictObject({
    mode: z.literal('guard'),
    /** The retired former writers the topology names (from the control step). */
    members: z.array(openableMember).max(20),
    connectTimeoutMs: z.int().min(500).max(30_000).default(3_000),
  }),
  z.strictObject({
    mode: z.literal('open'),
    /** The promoted replica, or the adopted restored instance (from the plan). */
    member: openableMember,
    adopt: adoptionOrNull,
  }),
]);
export type FailoverDatabaseEvent = z.input<typeof failoverDatabaseEventSchema>;

const instrumentation = stepInstrumentation('failover-database');

export async function handler(
  event: unknown,
): Promise<
  FailoverMeasurement | RetireResult | OpenedWriter | GuardResult | { replayLsn: string; waitedMs: number }
> {
  return runStep(instrumentation, async () => {
    const input = parseInput(failoverDatabaseEventSchema, event);
    switch (input.mode) {
      case 'measure': {
        const { adopt } = input;
        const measured =
          adopt === null
            ? await measureFailover(lambdaResolver(), input, input)
            : await measureAdoption(
                lambdaSecretVersions(),
                { ...input, adopt },
                { ...input, now: new Date() },
              );
        instrumentation.logger.info('failover measured', {
          writerReachable: measured.writerReachable,
          window: measured.window.summary,
        });
        return measured;
      }
      case 'retire': {
        const settings = await lambdaResolver()(memberRef(input.member, 'postgres'));
        const result = await retireIfReachable(settings, input.connectTimeoutMs);
        instrumentation.logger.info('former writer', {
          instanceIdentifier: input.member.instanceIdentifier,
          ...result,
        });
        return result;
      }
      case 'catch-up': {
        const settings = await lambdaResolver()(memberRef(input.member, 'postgres'));
        const caughtUp = await withConnection(
          settings,
          { connectTimeoutMs: 10_000, statementTimeoutMs: 10_000, applicationName: 'pg-dr-failover' },
          (client) => waitForReplay(client, input.targetLsn, { timeoutMs: input.timeoutMs, pollMs: 100 }),
        );
        instrumentation.logger.info('replica caught up', { ...caughtUp, targetLsn: input.targetLsn });
        return caughtUp;
      }
      case 'guard': {
        const guarded = await guardRetiredWriters(
          input.members,
          (member) => lambdaResolver()(memberRef(member, 'postgres')),
          input.connectTimeoutMs,
        );
        instrumentation.logger.info('retired writers guarded', { newlyRetired: guarded.newlyRetired });
        return guarded;
      }
      case 'open': {
        const ref = memberRef(input.member, 'postgres');
        const passwordReset =
          input.adopt === null ? undefined : await takeCurrentPassword(lambdaSecretVersions(), ref);
        const opened = await openPromoted(await lambdaResolver()(ref));
        instrumentation.logger.info('promoted writer opened', {
          instanceIdentifier: input.member.instanceIdentifier,
          ...opened,
          ...(passwordReset === undefined ? {} : { passwordReset }),
        });
        return passwordReset === undefined ? opened : { ...opened, passwordReset };
      }
    }
  });
}
