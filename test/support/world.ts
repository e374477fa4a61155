import { localWorld, type LocalWorld, type LocalWorldOptions } from '../../lib/local-aws/from-app';
import { SSMClient } from '@aws-sdk/client-ssm';
import { readTopology, type Topology } from '../../lambdas/shared/topology';
import { changeTopology } from '../../lambdas/shared/topology-change';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { workflowDefinition } from '../../lib/workflow-definition';
import { scanForSecrets } from './secret-scan';
import { REQUIRED_CONFIG } from '../infra/test-config';

/** The configuration the workflow tests deploy in the local world (cdk.json's required keys, defaults otherwise). */
export const TEST_CONFIG: Record<string, unknown> = { ...REQUIRED_CONFIG };
export const ZONE = REQUIRED_CONFIG.hostedZoneId;
export const RECORD = 'db.provability-fabric.org';
export const DRILL_RECORD = 'db-drill.provability-fabric.org';
export const MASTER_SECRET = 'pg-dr/postgres-master';

/**
 * A local world for one test: the app synthesized with TEST_CONFIG (cached), simulated AWS seeded from its
 * templates, IAM enforced from its roles, installed behind the SDK clients until `close`.
 */
export function testWorld(options: Partial<LocalWorldOptions> = {}): LocalWorld & { close: () => void } {
  const world = localWorld({ config: TEST_CONFIG, ...options });
  const undo = world.aws.install();
  return {
    ...world,
    close: () => {
      undo();
      scanForSecrets('simulated AWS calls', JSON.stringify(world.aws.calls));
    },
  };
}

/** Subject → publish state, from an ASL file: which notification a simulated SNS publish was. */
export function notificationStates(file: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (
    states: Record<
      string,
      { Resource?: string; Parameters?: { Subject?: string }; Branches?: { States: never }[] }
    >,
  ) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Resource === 'arn:aws:states:::sns:publish' && state.Parameters?.Subject !== undefined)
        found.set(state.Parameters.Subject, name);
      for (const branch of state.Branches ?? []) walk(branch.States);
    }
  };
  walk(workflowDefinition(file).States as never);
  return found;
}

export const TOPOLOGY = topologyParameterNames('pg-dr');
const topologyClient = () => new SSMClient({ region: 'us-east-1' });

/** The topology as the installed world holds it (read through the simulated Parameter Store). */
export function topologyOf(): Promise<Topology> {
  return readTopology(topologyClient(), TOPOLOGY);
}

/**
 * The installed world's topology as a blue-green cutover to `green` (in the writer's region) leaves it: no
 * replica yet.
 */
export async function afterCutoverTo(green: {
  instanceIdentifier: string;
  endpoint: string;
}): Promise<Topology> {
  const { topology } = await changeTopology(topologyClient(), TOPOLOGY, {
    expectedGeneration: 1,
    changedBy: 'blue-green migration (test)',
    now: new Date(),
    next: (t) => ({ writer: { region: t.writer.region, ...green }, replica: null, retired: [] }),
  });
  return topology;
}

/** The installed world's topology as a region failover leaves it: the replica is the writer, with no replica. */
export async function afterFailover(): Promise<Topology> {
  const { topology } = await changeTopology(topologyClient(), TOPOLOGY, {
    expectedGeneration: 1,
    changedBy: 'region failover (test)',
    now: new Date(),
    next: (t) => {
      if (t.replica === null) throw new Error('the first deploy names a replica');
      return { writer: t.replica, replica: null, retired: [t.writer] };
    },
  });
  return topology;
}
