import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  ResourceConflictException,
  UpdateFunctionConfigurationCommand,
  type UpdateFunctionConfigurationCommandInput,
} from '@aws-sdk/client-lambda';
import {
  CloudWatchClient,
  GetMetricDataCommand,
  PutMetricDataCommand,
  type GetMetricDataCommandInput,
  type PutMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  TestDNSAnswerCommand,
  type ChangeResourceRecordSetsCommandInput,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../lambdas/topology-sync/handler';
import {
  syncProbeTargets,
  type ProbeFunction,
  type ProbeSyncResult,
} from '../../lambdas/topology-sync/probes';
import { syncRecords, type FollowedRecord } from '../../lambdas/topology-sync/records';
import { relayReplicaLag } from '../../lambdas/topology-sync/replica-lag';
import { relayStorage } from '../../lambdas/topology-sync/storage';
import { probeTargets, recordTargets, type Topology } from '../../lambdas/shared/topology';
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
  /** Lambda's LastModified (ISO-8601 with +0000, as the API writes it). */
  lastModified: string;
}

/** Lambda writes LastModified as `2026-11-30T12:00:00.000+0000`. */
const lambdaTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');
/** Long enough ago for any settle window. */
const LONG_AGO = lambdaTime(Date.parse('2026-11-01T00:00:00Z'));

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
          lastModified: LONG_AGO,
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
      LastModified: fn.lastModified,
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
      fn.lastModified = lambdaTime(Date.now());
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

const ZONE = 'Z0EXAMPLE12345';
const WRITER_CHECKS = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
const FOLLOWED: FollowedRecord[] = [
  { recordName: 'db.example.org', setIdentifier: 'db.example.org-secondary', follows: 'secondary' },
  { recordName: 'db-drill.example.org', setIdentifier: 'db-drill.example.org-primary', follows: 'primary' },
  {
    recordName: 'db-drill.example.org',
    setIdentifier: 'db-drill.example.org-secondary',
    follows: 'secondary',
  },
];
/** After the failover, re-protected: the promoted writer has a replica in the home region. */
const HOME = {
  region: 'us-west-2',
  instanceIdentifier: 'pg-dr-home',
  endpoint: 'home.west.rds.example',
  port: 5432,
};
const REPROTECTED: Topology = {
  generation: 3,
  writer: REPLICA,
  replica: HOME,
  retired: [BLUE],
  changedBy: 'arn:aws:states:us-east-1:111122223333:execution:pg-dr-dr-rebuild:r-1',
};

/** The parameters as the workflows leave them: the document, its record targets, the health-checked writer. */
function storeOf(topology: Topology, healthCheckedWriter: string) {
  const targets = recordTargets(topology, healthCheckedWriter);
  return {
    [NAMES.document]: JSON.stringify(topology),
    [NAMES.primaryRecord]: targets.primary,
    [NAMES.secondaryRecord]: targets.secondary,
    [NAMES.healthCheckedWriter]: healthCheckedWriter,
  };
}

const route53 = mockClient(Route53Client);
/** Route 53's record sets of the zone, as far as the sync reads and UPSERTs them, answering from `topology`. */
function route53Service(topology: Topology, options: { pending?: boolean; onChange?: () => void } = {}) {
  const targets = recordTargets(topology, topology.writer.endpoint);
  const sets = new Map<string, ResourceRecordSet>(
    FOLLOWED.map((r) => [
      r.setIdentifier,
      {
        Name: `${r.recordName}.`,
        Type: 'CNAME',
        SetIdentifier: r.setIdentifier,
        Failover: r.follows === 'primary' ? 'PRIMARY' : 'SECONDARY',
        TTL: 10,
        HealthCheckId: 'hc-1',
        ResourceRecords: [{ Value: r.follows === 'primary' ? targets.primary : topology.writer.endpoint }],
      },
    ]),
  );
  const changes: ChangeResourceRecordSetsCommandInput[] = [];
  route53.reset();
  route53.on(ListResourceRecordSetsCommand).callsFake(() => ({
    ResourceRecordSets: [...sets.values()].map((set) => ({ ...set })),
    IsTruncated: false,
    MaxItems: 100,
  }));
  route53.on(ChangeResourceRecordSetsCommand).callsFake((input: ChangeResourceRecordSetsCommandInput) => {
    changes.push(input);
    options.onChange?.();
    for (const change of input.ChangeBatch?.Changes ?? []) {
      const set = change.ResourceRecordSet;
      if (set?.SetIdentifier !== undefined) sets.set(set.SetIdentifier, { ...set });
    }
    return { ChangeInfo: { Id: '/change/C1', Status: options.pending === true ? 'PENDING' : 'INSYNC' } };
  });
  route53
    .on(GetChangeCommand)
    .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } });
  return {
    changes,
    valueOf: (setIdentifier: string) => sets.get(setIdentifier)?.ResourceRecords?.[0]?.Value,
  };
}

const cloudwatch = mockClient(CloudWatchClient);
/** Route 53's HealthCheckStatus for the writer's checks: the latest minute healthy, unhealthy, or no data. */
function healthChecks(status: 'healthy' | 'unhealthy' | 'no data', ageMs = 30_000) {
  cloudwatch.reset();
  cloudwatch.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({
    MetricDataResults: (input.MetricDataQueries ?? []).map((q) => ({
      Id: q.Id,
      Timestamps: status === 'no data' ? [] : [new Date((input.EndTime as Date).getTime() - ageMs)],
      Values: status === 'no data' ? [] : [status === 'healthy' ? 1 : 0],
    })),
  }));
}

const NOW_MS = Date.parse('2026-11-30T12:00:00Z');
const SETTLE_MS = 300_000;
/** Every probe watching `topology`, its configuration last changed `agoMs` before NOW_MS. */
const settledProbes = (topology: Topology, agoMs = SETTLE_MS + 1): ProbeSyncResult[] => {
  const targets = probeTargets(topology, DEFAULTS);
  return PROBES.map((p) => ({
    ...p,
    outcome: 'in-sync',
    target: p.role === 'replica' ? targets.replica : targets.primary,
    lastModifiedMs: NOW_MS - agoMs,
  }));
};
const recordSync = (topology: Topology, probes = settledProbes(topology)) =>
  syncRecords(
    {
      ssm: new SSMClient({ region: 'us-east-1' }),
      route53: new Route53Client({ region: 'us-east-1' }),
      cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
      flipTiming: { pollIntervalMs: 1_000, maxWaitMs: 3_000, maxRetries: 0, retryBaseMs: 1 },
      now: fakeNow,
      sleep: fakeSleep,
    },
    NAMES,
    {
      topology,
      probes,
      settleMs: SETTLE_MS,
      writerHealthCheckIds: WRITER_CHECKS,
      hostedZoneId: ZONE,
      records: FOLLOWED,
    },
  );
let clock = NOW_MS;
const fakeNow = () => clock;
const fakeSleep = (ms: number) => {
  clock += ms;
  return Promise.resolve();
};

describe('syncRecords: SECONDARY answers a replica only once the probes watch its writer', () => {
  beforeEach(() => {
    clock = NOW_MS;
  });

  it('after a re-protect, confirms the promoted writer once its probes settled and it is healthy; SECONDARY and the drill record then answer its replica', async () => {
    const store = parameterStore(storeOf(REPROTECTED, BLUE.endpoint));
    const dns = route53Service(FAILED_OVER);
    healthChecks('healthy');
    const result = await recordSync(REPROTECTED);
    expect(result).toMatchObject({
      confirmed: true,
      healthCheckedWriter: REPLICA.endpoint,
      targets: { primary: REPLICA.endpoint, secondary: HOME.endpoint },
    });
    expect(store.values.get(NAMES.healthCheckedWriter)).toBe(REPLICA.endpoint);
    expect(store.values.get(NAMES.secondaryRecord)).toBe(HOME.endpoint);
    expect(dns.valueOf('db.example.org-secondary')).toBe(HOME.endpoint);
    expect(dns.valueOf('db-drill.example.org-secondary')).toBe(HOME.endpoint);
    expect(dns.valueOf('db-drill.example.org-primary')).toBe(REPLICA.endpoint);
    // UPSERT of the one set, keeping its failover role, health check and TTL.
    expect(dns.changes[0]?.ChangeBatch?.Changes?.[0]).toMatchObject({
      Action: 'UPSERT',
      ResourceRecordSet: {
        SetIdentifier: 'db.example.org-secondary',
        Failover: 'SECONDARY',
        HealthCheckId: 'hc-1',
        TTL: 10,
      },
    });
    // Nothing is asked of Route 53's answers: a drill or an outage would make them SECONDARY's.
    expect(route53.commandCalls(TestDNSAnswerCommand)).toEqual([]);
    // Run again: nothing left to change.
    const again = await recordSync(REPROTECTED);
    expect(again).toMatchObject({ confirmed: false, changed: [] });
  });

  it.each([
    [
      'a probe changed within the settle window',
      settledProbes(REPROTECTED, 60_000),
      'healthy',
      /have not watched the topology for 300 s/,
    ],
    [
      'a probe could not be synced',
      settledProbes(REPROTECTED).map((p, i) => (i === 0 ? { ...p, outcome: 'failed' as const } : p)),
      'healthy',
      /primary probe/,
    ],
    [
      'a probe is being updated',
      settledProbes(REPROTECTED).map((p, i) => (i === 1 ? { ...p, outcome: 'busy' as const } : p)),
      'healthy',
      /primary-remote probe/,
    ],
    ['the writer is unhealthy', settledProbes(REPROTECTED), 'unhealthy', /not healthy/],
    ['Route 53 publishes no status', settledProbes(REPROTECTED), 'no data', /no data/],
    // Healthy, but measured before the probes' alarms were about the writer alone.
    ["Route 53's latest status predates the settle time", settledProbes(REPROTECTED), 'stale', /no data/],
  ] as const)('keeps SECONDARY on the writer while %s', async (_case, probes, status, why) => {
    const store = parameterStore(storeOf(REPROTECTED, BLUE.endpoint));
    const dns = route53Service(FAILED_OVER);
    if (status === 'stale') healthChecks('healthy', 120_000);
    else healthChecks(status);
    const result = await recordSync(REPROTECTED, [...probes]);
    expect(result.confirmed).toBe(false);
    expect(result.waitingFor).toMatch(why);
    expect(store.values.get(NAMES.healthCheckedWriter)).toBe(BLUE.endpoint);
    expect(dns.valueOf('db.example.org-secondary')).toBe(REPLICA.endpoint);
    expect(dns.changes).toEqual([]);
  });

  it("withdraws the confirmation when a deploy wrote the first deploy's target back into a primary probe: SECONDARY answers the writer until the probes settle again", async () => {
    const store = parameterStore(storeOf(REPROTECTED, REPLICA.endpoint));
    const dns = route53Service(REPROTECTED);
    healthChecks('healthy');
    // Confirmed: SECONDARY answers the home replica.
    await recordSync(REPROTECTED);
    expect(dns.valueOf('db.example.org-secondary')).toBe(HOME.endpoint);
    // A deploy updated the primary probe: the sync found it watching the first deploy's primary (retired).
    const redeployed = settledProbes(REPROTECTED).map((p, i) =>
      i === 0
        ? { ...p, outcome: 'updated' as const, previousHost: BLUE.endpoint, lastModifiedMs: undefined }
        : p,
    );
    const result = await recordSync(REPROTECTED, redeployed);
    expect(result).toMatchObject({ withdrawn: true, confirmed: false, healthCheckedWriter: 'unconfirmed' });
    expect(store.values.get(NAMES.healthCheckedWriter)).toBe('unconfirmed');
    expect(store.values.get(NAMES.secondaryRecord)).toBe(REPLICA.endpoint);
    expect(dns.valueOf('db.example.org-secondary')).toBe(REPLICA.endpoint);
    // Settled again (and healthy): confirmed again.
    const again = await recordSync(REPROTECTED);
    expect(again).toMatchObject({ confirmed: true, healthCheckedWriter: REPLICA.endpoint });
    expect(dns.valueOf('db.example.org-secondary')).toBe(HOME.endpoint);
  });

  it('keeps the confirmation when a probe only cannot be reached (a lost region): DNS failover must still work', async () => {
    parameterStore(storeOf(REPROTECTED, REPLICA.endpoint));
    route53Service(REPROTECTED);
    healthChecks('healthy');
    const lost = settledProbes(REPROTECTED).map((p, i) =>
      i === 0 ? { ...p, outcome: 'failed' as const } : p,
    );
    expect(await recordSync(REPROTECTED, lost)).toMatchObject({
      withdrawn: false,
      healthCheckedWriter: REPLICA.endpoint,
    });
  });

  it('puts back a SECONDARY a failed repoint left on a stale target, and the parameter a deploy reads', async () => {
    const store = parameterStore({
      ...storeOf(FIRST, BLUE.endpoint),
      [NAMES.secondaryRecord]: 'old.example',
    });
    const dns = route53Service(FIRST);
    healthChecks('healthy');
    // The stored SECONDARY is the writer (as after a cutover whose repoint failed); the rule says the replica.
    expect(dns.valueOf('db.example.org-secondary')).toBe(BLUE.endpoint);
    const result = await recordSync(FIRST);
    expect(result.changed.map((c) => c.set)).toEqual([
      NAMES.secondaryRecord,
      'db.example.org-secondary',
      'db-drill.example.org-secondary',
    ]);
    expect(store.values.get(NAMES.secondaryRecord)).toBe(REPLICA.endpoint);
    expect(dns.valueOf('db.example.org-secondary')).toBe(REPLICA.endpoint);
  });

  it('writes nothing when a role change lands while it runs (the next run follows the new topology)', async () => {
    // The store already holds the next generation: what this run read is stale.
    const store = parameterStore(storeOf({ ...FAILED_OVER, generation: 4 }, BLUE.endpoint));
    const dns = route53Service(FIRST);
    healthChecks('healthy');
    const result = await recordSync(FIRST);
    expect(result.changed).toEqual([]);
    // (The stored secondary-record already holds what this run would write: nothing to skip there.)
    expect(result.skipped).toEqual([NAMES.primaryRecord, ...FOLLOWED.map((r) => r.setIdentifier)]);
    expect(store.puts).toEqual([]);
    expect(dns.changes).toEqual([]);
  });

  it('puts right at once a set it wrote just as a role change landed (a cutover recorded between its check and its write)', async () => {
    const store = parameterStore(storeOf(FIRST, BLUE.endpoint));
    const green = { region: 'us-west-2', instanceIdentifier: 'green', endpoint: 'green.west.rds.example' };
    let landed = false;
    // SECONDARY holds the writer (stale); while the sync points it at the replica, the cutover records green.
    const dns = route53Service(FIRST, {
      onChange: () => {
        if (landed) return;
        landed = true;
        store.values.set(
          NAMES.document,
          JSON.stringify({ ...FIRST, generation: 2, writer: green, replica: null, changedBy: 'cutover' }),
        );
      },
    });
    healthChecks('healthy');
    const result = await recordSync(FIRST);
    expect(landed).toBe(true);
    // The rule for the new roles: both records answer green (no replica yet).
    expect(dns.valueOf('db.example.org-secondary')).toBe(green.endpoint);
    expect(store.values.get(NAMES.secondaryRecord)).toBe(green.endpoint);
    expect(result.changed.at(-1)).toMatchObject({ to: green.endpoint });
  });

  it('reports a change Route 53 had not applied within the wait instead of failing; the next run confirms it', async () => {
    parameterStore(storeOf(REPROTECTED, REPLICA.endpoint));
    const dns = route53Service(FAILED_OVER, { pending: true });
    healthChecks('healthy');
    const result = await recordSync(REPROTECTED);
    expect(result.changed).toContainEqual(
      expect.objectContaining({ set: 'db.example.org-secondary', to: HOME.endpoint, insync: false }),
    );
    expect(dns.valueOf('db.example.org-secondary')).toBe(HOME.endpoint);
  });

  it('refuses to run without the health-checked writer, naming the parameter', async () => {
    const store = storeOf(FIRST, BLUE.endpoint);
    parameterStore(
      Object.fromEntries(Object.entries(store).filter(([name]) => name !== NAMES.healthCheckedWriter)),
    );
    route53Service(FIRST);
    healthChecks('healthy');
    await expect(recordSync(FIRST)).rejects.toMatchObject({
      name: 'TopologyMissing',
      message: expect.stringContaining('/pg-dr/topology/health-checked-writer') as unknown,
    });
  });
});

describe('relayReplicaLag: one replica-lag alarm follows every role change', () => {
  const at = Date.parse('2026-11-30T12:00:00Z');
  const clients = () => {
    const regions: string[] = [];
    const puts: PutMetricDataCommandInput[] = [];
    const relay = (topology: Topology, read?: () => unknown) =>
      relayReplicaLag(
        {
          cloudwatchIn: (region) => {
            regions.push(region);
            return {
              send: (command: unknown) => {
                if (command instanceof PutMetricDataCommand) throw new Error('not here');
                return Promise.resolve(read === undefined ? {} : read());
              },
            } as Pick<CloudWatchClient, 'send'>;
          },
          local: {
            send: (command: { input: PutMetricDataCommandInput }) => {
              puts.push(command.input);
              return Promise.resolve({});
            },
          },
          now: at,
        },
        topology,
      );
    return { regions, puts, relay };
  };

  it("reads RDS's lag of the replica the topology names, in its region, and publishes it under the role with its own timestamps", async () => {
    const c = clients();
    const t1 = new Date(at - 120_000);
    const t2 = new Date(at - 60_000);
    const result = await c.relay(REPROTECTED, () => ({
      MetricDataResults: [{ Id: 'm0', Timestamps: [t2, t1], Values: [3, 7] }],
    }));
    expect(result).toEqual({ replica: HOME.instanceIdentifier, datapoints: 2 });
    expect(c.regions).toEqual([HOME.region]);
    expect(c.puts).toEqual([
      {
        Namespace: 'PostgresDR',
        MetricData: [
          expect.objectContaining({
            MetricName: 'ReplicaExpected',
            Value: 1,
            Dimensions: [{ Name: 'Database', Value: 'replica' }],
          }),
          expect.objectContaining({ MetricName: 'ReplicaLag', Value: 3, Timestamp: t2, Unit: 'Seconds' }),
          expect.objectContaining({ MetricName: 'ReplicaLag', Value: 7, Timestamp: t1 }),
        ],
      },
    ]);
  });

  it('says no replica is expected while DR is degraded (the alarm keeps quiet), reading nothing', async () => {
    const c = clients();
    expect(await c.relay(FAILED_OVER)).toEqual({ replica: null, datapoints: 0 });
    expect(c.regions).toEqual([]);
    expect(c.puts[0]?.MetricData).toEqual([
      expect.objectContaining({ MetricName: 'ReplicaExpected', Value: 0 }),
    ]);
  });

  it('never makes up a lag it could not read: a replica is expected and none arrives, which the alarm counts as over', async () => {
    const c = clients();
    const result = await c.relay(FIRST, () => {
      throw Object.assign(new Error('connect ETIMEDOUT monitoring.us-east-1.amazonaws.com'), {
        name: 'TimeoutError',
      });
    });
    expect(result).toMatchObject({
      replica: REPLICA.instanceIdentifier,
      datapoints: 0,
      error: expect.stringContaining('TimeoutError') as unknown,
    });
    expect(c.puts[0]?.MetricData).toEqual([
      expect.objectContaining({ MetricName: 'ReplicaExpected', Value: 1 }),
    ]);
  });
});

describe('relayStorage: the storage alarms follow every role change', () => {
  const at = Date.parse('2026-11-30T12:00:00Z');
  const t1 = new Date(at - 60_000);
  const clients = (answer: (region: string, input: GetMetricDataCommandInput) => unknown) => {
    const asked: { region: string; input: GetMetricDataCommandInput }[] = [];
    const puts: PutMetricDataCommandInput[] = [];
    const relay = (topology: Topology) =>
      relayStorage(
        {
          cloudwatchIn: (region) =>
            ({
              send: (command: { input: GetMetricDataCommandInput }) => {
                asked.push({ region, input: command.input });
                return Promise.resolve(answer(region, command.input));
              },
            }) as Pick<CloudWatchClient, 'send'>,
          local: {
            send: (command: { input: PutMetricDataCommandInput }) => {
              puts.push(command.input);
              return Promise.resolve({});
            },
          },
          now: at,
        },
        topology,
      );
    return { asked, puts, relay };
  };
  const rdsMetric = (input: GetMetricDataCommandInput | undefined, i: number) =>
    input?.MetricDataQueries?.[i]?.MetricStat?.Metric;

  it("reads each role's instance in its own region and publishes its storage under the role", async () => {
    const c = clients((region) => ({
      MetricDataResults:
        region === REPLICA.region
          ? [
              { Id: 'm0', Timestamps: [t1], Values: [40e9] },
              { Id: 'm1', Timestamps: [t1], Values: [2e9] },
            ]
          : [{ Id: 'm0', Timestamps: [t1], Values: [90e9] }],
    }));
    const result = await c.relay(REPROTECTED);
    expect(result.members).toEqual([
      { role: 'writer', instanceIdentifier: REPLICA.instanceIdentifier, datapoints: 2 },
      { role: 'replica', instanceIdentifier: HOME.instanceIdentifier, datapoints: 1 },
    ]);
    const writerAsk = c.asked.find((a) => a.region === REPLICA.region)?.input;
    expect(rdsMetric(writerAsk, 0)).toEqual({
      Namespace: 'AWS/RDS',
      MetricName: 'FreeStorageSpace',
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: REPLICA.instanceIdentifier }],
    });
    expect(rdsMetric(writerAsk, 1)?.MetricName).toBe('OldestReplicationSlotLag');
    expect(rdsMetric(writerAsk, 2)?.MetricName).toBe('TransactionLogsDiskUsage');
    expect(c.asked.find((a) => a.region === HOME.region)?.input.MetricDataQueries).toHaveLength(1);
    expect(c.puts).toHaveLength(1);
    expect(c.puts[0]?.MetricData).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          MetricName: 'FreeStorageSpace',
          Dimensions: [{ Name: 'Database', Value: 'writer' }],
          Value: 40e9,
          Timestamp: t1,
          Unit: 'Bytes',
        }),
        expect.objectContaining({
          MetricName: 'OldestReplicationSlotLag',
          Dimensions: [{ Name: 'Database', Value: 'writer' }],
          Value: 2e9,
        }),
        expect.objectContaining({
          MetricName: 'FreeStorageSpace',
          Dimensions: [{ Name: 'Database', Value: 'replica' }],
          Value: 90e9,
        }),
      ]),
    );
  });

  it('reads only the writer while DR is degraded', async () => {
    const c = clients(() => ({ MetricDataResults: [{ Id: 'm0', Timestamps: [t1], Values: [1e9] }] }));
    const result = await c.relay(FAILED_OVER);
    expect(result.members.map((m) => m.role)).toEqual(['writer']);
    expect(c.asked.map((a) => a.region)).toEqual([REPLICA.region]);
  });

  it('never makes up storage it could not read, and still relays the other role', async () => {
    const c = clients((region) => {
      if (region === BLUE.region)
        throw Object.assign(new Error('connect ETIMEDOUT monitoring.us-west-2.amazonaws.com'), {
          name: 'TimeoutError',
        });
      return { MetricDataResults: [{ Id: 'm0', Timestamps: [t1], Values: [5e9] }] };
    });
    const result = await c.relay(FIRST);
    expect(result.members).toEqual([
      {
        role: 'writer',
        instanceIdentifier: BLUE.instanceIdentifier,
        datapoints: 0,
        error: expect.stringContaining('TimeoutError') as unknown,
      },
      { role: 'replica', instanceIdentifier: REPLICA.instanceIdentifier, datapoints: 1 },
    ]);
    expect(c.puts[0]?.MetricData).toEqual([
      expect.objectContaining({ Dimensions: [{ Name: 'Database', Value: 'replica' }], Value: 5e9 }),
    ]);
  });
});

describe('the topology sync handler', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    Object.assign(process.env, {
      PROBES: JSON.stringify(PROBES),
      DATABASE_PORT: '5432',
      MASTER_SECRET_NAME: 'pg-dr/postgres-master',
      TOPOLOGY_REGION: 'us-east-1',
      RESOURCE_PREFIX: 'pg-dr',
      HOSTED_ZONE_ID: ZONE,
      RECORDS: JSON.stringify(FOLLOWED),
      WRITER_HEALTH_CHECK_IDS: WRITER_CHECKS.join(','),
      SETTLE_SECONDS: '300',
    });
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it('reads the topology, points the probes at it, and keeps SECONDARY on the writer until they settle', async () => {
    parameterStore(storeOf(FAILED_OVER, BLUE.endpoint));
    const service = lambdaService();
    const dns = route53Service(FIRST);
    healthChecks('healthy');
    const result = await handler();
    expect(result.probes.map((r) => r.outcome)).toEqual(['updated', 'updated', 'in-sync']);
    expect(service.updates).toHaveLength(2);
    expect(result.records).toMatchObject({ confirmed: false, healthCheckedWriter: BLUE.endpoint });
    // The promoted writer has no replica: every followed set answers it.
    expect(dns.valueOf('db.example.org-secondary')).toBe(REPLICA.endpoint);
    expect(dns.valueOf('db-drill.example.org-primary')).toBe(REPLICA.endpoint);
  });

  it('fails, naming the probe and its region, when one could not be changed (its Errors alarm pages)', async () => {
    parameterStore(storeOf(FAILED_OVER, BLUE.endpoint));
    const service = lambdaService();
    route53Service(FIRST);
    healthChecks('healthy');
    service.unreachable.add('pg-dr-primary-health-probe');
    await expect(handler()).rejects.toMatchObject({
      name: 'ProbeSyncFailed',
      message: expect.stringContaining('primary probe pg-dr-primary-health-probe in us-west-2') as unknown,
    });
    expect(service.updates).toHaveLength(1);
  });

  it('fails when the storage of a database could not be relayed, after syncing the probes and records (a quiet storage alarm would hide it)', async () => {
    parameterStore(storeOf(FIRST, BLUE.endpoint));
    lambdaService();
    const dns = route53Service(FIRST);
    healthChecks('healthy');
    cloudwatch.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
      const metric = input.MetricDataQueries?.[0]?.MetricStat?.Metric;
      if (metric?.MetricName === 'FreeStorageSpace')
        throw Object.assign(new Error('User is not authorized to perform: cloudwatch:GetMetricData'), {
          name: 'AccessDenied',
        });
      return {
        MetricDataResults: (input.MetricDataQueries ?? []).map((q) => ({
          Id: q.Id,
          Timestamps: [new Date((input.EndTime as Date).getTime() - 30_000)],
          Values: [1],
        })),
      };
    });
    await expect(handler()).rejects.toMatchObject({
      name: 'RelayFailed',
      message: expect.stringMatching(
        /storage of the writer pg-dr-primary not read: AccessDenied.*storage of the replica pg-dr-replica not read/,
      ) as unknown,
    });
    // The records were kept on the topology all the same.
    expect(dns.valueOf('db.example.org-secondary')).toBe(REPLICA.endpoint);
  });

  it('refuses a malformed probe or record list before any call, naming the variable', async () => {
    process.env.PROBES = '[{"role":"primary","region":"us-west-2","functionName":"x; rm -rf"}]';
    process.env.RECORDS = '[{"recordName":"db.example.org","setIdentifier":"x","follows":"writer"}]';
    const service = lambdaService();
    await expect(handler()).rejects.toMatchObject({
      name: 'StepMisconfigured',
      message: expect.stringMatching(/PROBES.*RECORDS/) as unknown,
    });
    expect(service.lambda.calls()).toEqual([]);
  });
});
