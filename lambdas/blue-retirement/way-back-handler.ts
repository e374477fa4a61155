import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { WAY_BACK_NAME } from '../cutover/way-back';
import { databaseRefSchema, lambdaResolver, withConnection } from '../shared/database';
import { DatabaseError } from '../shared/postgres-errors';
import { describeRunning, runningExecutions } from '../shared/running-workflows';
import { rdsInstanceIdentifier } from '../shared/schemas';
import { SQL_IDENTIFIER } from '../shared/sql-identifier';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { readTopology } from '../shared/topology';
import { topologyLocation } from '../shared/topology-location';
import { refuseTopologyMember } from './topology-member';
import { dropWayBackOnWriter, dropWayBackSubscription, type WayBackEnded } from './end-way-back';

const sqlName = z.string().regex(SQL_IDENTIFIER, { error: 'must be an identifier' });

export const endWayBackEventSchema = z.strictObject({
  /** Blue, the previous writer: it must not be the topology's writer now. */
  instanceIdentifier: rdsInstanceIdentifier,
  retiring: databaseRefSchema,
  writer: databaseRefSchema,
  /** The migration's wayBack: its names (the replication user's secret is not needed to end it). */
  wayBack: z.strictObject({
    replicationSecretId: databaseRefSchema.shape.secretId.optional(),
    publication: sqlName.default(WAY_BACK_NAME),
    subscription: sqlName.default(WAY_BACK_NAME),
  }),
});

const CONNECT = { connectTimeoutMs: 10_000, statementTimeoutMs: 30_000, applicationName: 'pg-dr-retire' };
const instrumentation = stepInstrumentation('end-way-back');
let ssm: SSMClient | undefined;
let sfn: SFNClient | undefined;

/** Blue could not be reached at all (as opposed to a statement it refused). */
function unreachable(error: unknown): boolean {
  return error instanceof DatabaseError && (error.kind === 'unreachable' || error.kind === 'timeout');
}

/**
 * Ends the way back when its window closes: nothing when blue is the writer again (superseded: a cutover back to
 * it since), refuses while a migration runs (a rollback would be reading the way back), then drops blue's subscription and the writer's slot and
 * publication. Blue unreachable: the slot is dropped on the writer alone.
 */
export async function endWayBackHandler(event: unknown): Promise<WayBackEnded> {
  return runStep(instrumentation, async () => {
    const input = parseInput(endWayBackEventSchema, event);
    const located = topologyLocation();
    ssm ??= new SSMClient({ region: located.region });
    const topology = await readTopology(ssm, located.names);
    if (topology.writer.instanceIdentifier === input.instanceIdentifier) {
      instrumentation.logger.info('blue is the writer again: this retirement is superseded', {
        generation: topology.generation,
      });
      return {
        superseded: true,
        blueReached: false,
        subscriptionDropped: false,
        slotDroppedOnWriter: false,
        publicationDropped: false,
      };
    }
    refuseTopologyMember(topology, input.instanceIdentifier);
    const exclusive = (process.env.EXCLUSIVE_WITH ?? '').split(',').filter((arn) => arn !== '');
    if (exclusive.length === 0)
      throw new StepError('StepMisconfigured', 'missing EXCLUSIVE_WITH (the migration workflow)');
    sfn ??= new SFNClient({});
    const running = await runningExecutions(sfn, exclusive);
    if (running.length > 0)
      throw new StepError(
        'WorkflowRunning',
        `a migration is running (${describeRunning(running)}): the way back is not ended while a rollback may read it`,
      );
    const resolve = lambdaResolver();
    const blue = await resolve(input.retiring);
    const writer = await resolve(input.writer);
    let blueReached = true;
    let subscriptionDropped = false;
    try {
      subscriptionDropped = await withConnection(blue, CONNECT, (client) =>
        dropWayBackSubscription(client, input.wayBack.subscription),
      );
    } catch (error) {
      if (!unreachable(error)) throw error;
      blueReached = false;
      instrumentation.logger.warn('blue unreachable: the way back slot is dropped on the writer', {
        error: (error as Error).message,
      });
    }
    const onWriter = await withConnection(writer, CONNECT, (client) =>
      dropWayBackOnWriter(client, {
        publication: input.wayBack.publication,
        slot: input.wayBack.subscription,
      }),
    );
    const ended: WayBackEnded = {
      superseded: false,
      blueReached,
      subscriptionDropped,
      slotDroppedOnWriter: onWriter.slotDropped,
      publicationDropped: onWriter.publicationDropped,
    };
    instrumentation.logger.info('way back ended', { ...ended });
    return ended;
  });
}
