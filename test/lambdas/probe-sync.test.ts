import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  ResourceConflictException,
  UpdateFunctionConfigurationCommand,
  type UpdateFunctionConfigurationCommandInput,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../lambdas/probe-sync/handler';
import { syncProbeTargets, type ProbeFunction } from '../../lambdas/probe-sync/sync';
import { probeTargets, type Topology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { parameterStore } from '../support/parameter-store';

const NAMES = topologyParameterNames('pg-dr');
const BLUE = {
  region: 'us-west-2',
  instanceIdentifier: 'pg-dr-primary',
  endpoint: 'blue.west.rds.example',
  port: 5432,
};
const REPLICA = {
  region: 'us-east-1',
  instanceIdentifier: 'pg-dr-replica',
  endpoint: 'replica.east.rds.example',
  port: 5432,
};
const FIRST: Topology = {
  generation: 1,
  writer: BLUE,
  replica: REPLICA,
  retired: [],
  changedBy: 'first deploy',
};
/** After a region failover: the replica promoted, no replica, the old primary retired. */
const FAILED_OVER: Topology = {
  generation: 2,
  writer: REPLICA,
  replica: null,
  retired: [BLUE],
  changedBy: 'arn:aws:states:us-east-1:111122223333:execution:pg-dr-region-failover:f-1',
};
const DEFAULTS = { port: 5432, secretId: 'pg-dr/postgres-master' };
const PROBES: ProbeFunction[] = [
  { role: 'primary', region: 'us-west-2', functionName: 'pg-dr-primary-health-probe' },
  { role: 'primary-remote', region: 'us-east-1', functionName: 'pg-dr-primary-remote-health-probe' },
  { role: 'replica', region: 'us-east-1', functionName: 'pg-dr-replica-health-probe' },
];

interface FakeFunction {
  variables: Record<string, string>;
  revision: number;
  lastUpdateStatus: 'Successful' | 'InProgress';
}

/** Lambda's control plane for the three probe functions, as far as the sync uses it. */
function lambdaService(topology: Topology = FIRST) {
  const first = probeTargets(topology, DEFAULTS);
  const functions = new Map<string, FakeFunction>(
    PROBES.map((p) => {
      const target = p.role === 'replica' ? first.replica : first.primary;
      return [
        p.functionName,
        {
          variables: {
            DB_HOST: target.host,
            DB_PORT: String(target.port),
            DB_SECRET_ID: target.secretId,
            DB_ROLE: p.role,
            PROBE_ROUNDS: '6',
          },
          revision: 1,
          lastUpdateStatus: 'Successful',
        },
      ];
    }),
  );
  const updates: UpdateFunctionConfigurationCommandInput[] = [];
  /** Functions whose region cannot be reached. */
  const unreachable = new Set<string>();
  const reach = (name: string | undefined) => {
    if (unreachable.has(name ?? ''))
      throw Object.assign(new Error('connect ETIMEDOUT lambda.us-west-2.amazonaws.com'), {
        name: 'TimeoutError',
      });
    const fn = functions.get(name ?? '');
    if (fn === undefined) throw new Error(`no function ${name ?? ''}`);
    return fn;
  };
  const lambda = mockClient(LambdaClient);
  lambda.on(GetFunctionConfigurationCommand).callsFake((input: { FunctionName?: string }) => {
    const fn = reach(input.FunctionName);
    return {
      FunctionName: input.FunctionName,
      State: 'Active',
      LastUpdateStatus: fn.lastUpdateStatus,
      RevisionId: `rev-${fn.revision}`,
      Environment: { Variables: { ...fn.variables } },
    };
  });
  lambda
    .on(UpdateFunctionConfigurationCommand)
    .callsFake((input: UpdateFunctionConfigurationCommandInput) => {
      const fn = reach(input.FunctionName);
      if (fn.lastUpdateStatus === 'InProgress')
        throw new ResourceConflictException({ message: 'An update is in progress', $metadata: {} });
      updates.push(input);
      fn.variables = { ...(input.Environment?.Variables ?? {}) };
      fn.revision += 1;
      return {};
    });
  return { functions, updates, unreachable, lambda };
}

const client = () => new LambdaClient({ region: 'us-east-1' });

describe('probeTargets: what each health probe watches', () => {
  it('the primary probes watch the writer, the replica probe its replica', () => {
    expect(probeTargets(FIRST, DEFAULTS)).toEqual({
      primary: { host: BLUE.endpoint, port: 5432, secretId: 'pg-dr/postgres-master' },
      replica: { host: REPLICA.endpoint, port: 5432, secretId: 'pg-dr/postgres-master' },
    });
  });

  it('with no replica (after a failover or a cutover) the replica probe watches the writer, as SECONDARY answers it', () => {
    const targets = probeTargets(FAILED_OVER, DEFAULTS);
    expect(targets.primary.host).toBe(REPLICA.endpoint);
    expect(targets.replica).toEqual(targets.primary);
  });

  it("a member takes its own port and secret, a replica its writer's, then the configured ones", () => {
    const green = {
      region: 'us-west-2',
      instanceIdentifier: 'green',
      endpoint: 'green.west.rds.example',
      port: 6432,
      secretId: 'pg-dr/green',
    };
    const greenDr = {
      region: 'us-east-1',
      instanceIdentifier: 'green-dr',
      endpoint: 'green-dr.east.rds.example',
    };
    const targets = probeTargets({ ...FIRST, writer: green, replica: greenDr }, DEFAULTS);
    expect(targets.primary).toEqual({ host: green.endpoint, port: 6432, secretId: 'pg-dr/green' });
    expect(targets.replica).toEqual({ host: greenDr.endpoint, port: 6432, secretId: 'pg-dr/green' });
  });
});

describe('syncProbeTargets: the probes follow the topology', () => {
  it('changes nothing while every probe already watches what the topology says', async () => {
    const service = lambdaService();
    const results = await syncProbeTargets(client, PROBES, probeTargets(FIRST, DEFAULTS));
    expect(results.map((r) => r.outcome)).toEqual(['in-sync', 'in-sync', 'in-sync']);
    expect(service.updates).toEqual([]);
  });

  it('after a failover points every probe at the promoted writer, keeping their other settings, guarded by RevisionId', async () => {
    const service = lambdaService();
    const results = await syncProbeTargets(client, PROBES, probeTargets(FAILED_OVER, DEFAULTS));
    expect(results.map((r) => [r.role, r.outcome, r.previousHost])).toEqual([
      ['primary', 'updated', BLUE.endpoint],
      ['primary-remote', 'updated', BLUE.endpoint],
      // The replica it watched is the writer now: already what the topology says.
      ['replica', 'in-sync', undefined],
    ]);
    for (const probe of PROBES)
      expect(service.functions.get(probe.functionName)?.variables).toEqual({
        DB_HOST: REPLICA.endpoint,
        DB_PORT: '5432',
        DB_SECRET_ID: 'pg-dr/postgres-master',
        DB_ROLE: probe.role,
        PROBE_ROUNDS: '6',
      });
    expect(service.updates.map((u) => u.RevisionId)).toEqual(['rev-1', 'rev-1']);
    // Run again: nothing left to change.
    const again = await syncProbeTargets(client, PROBES, probeTargets(FAILED_OVER, DEFAULTS));
    expect(again.map((r) => r.outcome)).toEqual(['in-sync', 'in-sync', 'in-sync']);
  });

  it('leaves a probe whose function is being updated (a deploy in progress) for the next run, never forcing it', async () => {
    const service = lambdaService();
    const primary = service.functions.get('pg-dr-primary-health-probe');
    if (primary === undefined) throw new Error('no primary probe');
    primary.lastUpdateStatus = 'InProgress';
    const results = await syncProbeTargets(client, PROBES, probeTargets(FAILED_OVER, DEFAULTS));
    expect(results.map((r) => r.outcome)).toEqual(['busy', 'updated', 'in-sync']);
    expect(primary.variables.DB_HOST).toBe(BLUE.endpoint);
    expect(service.updates.map((u) => u.FunctionName)).not.toContain('pg-dr-primary-health-probe');
  });

  it('reports a probe in a lost region as failed and still syncs the others', async () => {
    const service = lambdaService();
    service.unreachable.add('pg-dr-primary-health-probe');
    const results = await syncProbeTargets(client, PROBES, probeTargets(FAILED_OVER, DEFAULTS));
    expect(results[0]).toMatchObject({
      role: 'primary',
      region: 'us-west-2',
      outcome: 'failed',
      error: expect.stringContaining('TimeoutError') as unknown,
    });
    expect(results.slice(1).map((r) => r.outcome)).toEqual(['updated', 'in-sync']);
  });
});

describe('the probe sync handler', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    Object.assign(process.env, {
      PROBES: JSON.stringify(PROBES),
      DATABASE_PORT: '5432',
      MASTER_SECRET_NAME: 'pg-dr/postgres-master',
      TOPOLOGY_REGION: 'us-east-1',
      RESOURCE_PREFIX: 'pg-dr',
    });
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it('reads the topology and points the probes at it', async () => {
    parameterStore({ [NAMES.document]: JSON.stringify(FAILED_OVER) });
    const service = lambdaService();
    const results = await handler();
    expect(results.map((r) => r.outcome)).toEqual(['updated', 'updated', 'in-sync']);
    expect(service.updates).toHaveLength(2);
  });

  it('fails, naming the probe and its region, when one could not be changed (its Errors alarm pages)', async () => {
    parameterStore({ [NAMES.document]: JSON.stringify(FAILED_OVER) });
    const service = lambdaService();
    service.unreachable.add('pg-dr-primary-health-probe');
    await expect(handler()).rejects.toMatchObject({
      name: 'ProbeSyncFailed',
      message: expect.stringContaining('primary probe pg-dr-primary-health-probe in us-west-2') as unknown,
    });
    expect(service.updates).toHaveLength(1);
  });

  it('refuses a malformed probe list before any call, naming the variable', async () => {
    process.env.PROBES = '[{"role":"primary","region":"us-west-2","functionName":"x; rm -rf"}]';
    const service = lambdaService();
    await expect(handler()).rejects.toMatchObject({
      name: 'StepMisconfigured',
      message: expect.stringContaining('PROBES') as unknown,
    });
    expect(service.lambda.calls()).toEqual([]);
  });
});
