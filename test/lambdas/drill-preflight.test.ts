import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  GetHealthCheckCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  TestDNSAnswerCommand,
} from '@aws-sdk/client-route-53';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { checkControlPlane, type ControlPlanePreflightInput } from '../../lambdas/drill/preflight';
import { checkDatabases, type DatabasePreflightInput } from '../../lambdas/drill/preflight-databases';
import type { ConnectionSettings } from '../../lambdas/shared/database';
import type { Topology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { parameterStore } from '../support/parameter-store';
import { freeLoopbackPort, PostgresServer } from '../support/postgres';
import { execute } from '../support/replication';

const clients = {
  route53: new Route53Client({ region: 'us-east-1' }),
  sfn: new SFNClient({ region: 'us-east-1' }),
  cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
  ssm: new SSMClient({ region: 'us-east-1' }),
  now: () => Date.parse('2026-11-29T02:00:00Z'),
};
const TOPOLOGY = topologyParameterNames('pg-dr');
/** The first deploy's roles: the ones the drill was deployed with. */
const FIRST: Topology = {
  generation: 1,
  writer: { region: 'us-west-2', instanceIdentifier: 'pg-dr-primary', endpoint: 'primary.example.internal' },
  replica: { region: 'us-east-1', instanceIdentifier: 'pg-dr-replica', endpoint: 'replica.example.internal' },
  retired: [],
  changedBy: 'first deploy',
};
/** After a region failover: the replica writes, with no replica of its own; the primary is retired. */
const FAILED_OVER: Topology = {
  ...FIRST,
  generation: 2,
  writer: FIRST.replica ?? FIRST.writer,
  replica: null,
  retired: [FIRST.writer],
  changedBy: 'region failover f-1',
};
/** The promoted writer's replica in the home region (a re-protect). */
const HOME = { region: 'us-west-2', instanceIdentifier: 'pg-dr-home', endpoint: 'home.example.internal' };
const DATABASE = { secretId: 'pg-dr/postgres-master', port: 5432, database: 'app' };
/** The topology's parameters as the workflows and the topology sync leave them. */
const topologyStore = (topology: Topology, healthCheckedWriter: string) => ({
  [TOPOLOGY.document]: JSON.stringify(topology),
  [TOPOLOGY.healthCheckedWriter]: healthCheckedWriter,
});
const route53 = mockClient(clients.route53);
/** The record's failover sets as Route 53 stores them: PRIMARY the writer, SECONDARY `value`. */
const secondarySet = (value: string) =>
  route53.on(ListResourceRecordSetsCommand).resolves({
    ResourceRecordSets: [
      {
        Name: 'db.provability-fabric.org.',
        Type: 'CNAME',
        SetIdentifier: 'db.provability-fabric.org-primary',
        Failover: 'PRIMARY',
        ResourceRecords: [{ Value: 'primary.example.internal' }],
      },
      {
        Name: 'db.provability-fabric.org.',
        Type: 'CNAME',
        SetIdentifier: 'db.provability-fabric.org-secondary',
        Failover: 'SECONDARY',
        ResourceRecords: [{ Value: value }],
      },
    ],
    IsTruncated: false,
    MaxItems: 10,
  });
const sfn = mockClient(clients.sfn);
const cloudwatch = mockClient(clients.cloudwatch);
const DRILL = 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-failover-drill';
const MIGRATION = 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-blue-green-migration';
const OWN = `${DRILL.replace(':stateMachine:', ':execution:')}:weekly-2026-11-29`;

const settingsOf = (server: PostgresServer): ConnectionSettings => ({
  host: server.host,
  port: server.port,
  database: 'postgres',
  user: server.user,
  password: server.password,
  ...(server.tls === undefined ? {} : { ca: server.tls.caCert }),
});

/** What CloudWatch answers for AWS/Route53 HealthCheckStatus: each check's latest minute first (1 healthy). */
const statuses = (values: Record<string, number | undefined>) => ({
  MetricDataResults: Object.values(values).map((value, i) => ({
    Id: `check${i}`,
    Timestamps: value === undefined ? [] : [new Date('2026-11-29T01:59:00Z')],
    Values: value === undefined ? [] : [value],
    StatusCode: 'Complete' as const,
  })),
});

describe('drill preflight: the databases, real primary and streaming replica', () => {
  let primary: PostgresServer;
  let replica: PostgresServer;
  let input: DatabasePreflightInput;

  beforeAll(async () => {
    primary = await PostgresServer.start({ name: 'preflight-primary' });
    replica = await PostgresServer.startStandby(primary, { name: 'preflight-replica' });
    input = {
      primary: settingsOf(primary),
      replica: settingsOf(replica),
      maxReplicaLagSeconds: 10,
      timeoutMs: 3000,
      pollMs: 20,
    };
  });
  afterAll(async () => {
    await replica.destroy();
    await primary.destroy();
  });

  it('passes in normal operation and measures the lag with a heartbeat', async () => {
    const report = await checkDatabases(input);
    expect(report.problems).toEqual([]);
    expect(report.replicaLagMs).toEqual(expect.any(Number));
  });

  it('refuses when the replica is unreachable', async () => {
    const report = await checkDatabases({
      ...input,
      replica: { ...input.replica, port: await freeLoopbackPort() },
    });
    expect(report).toEqual({
      problems: [expect.stringMatching(/^replica: unreachable/) as unknown],
      replicaLagMs: null,
    });
  });

  it('refuses when the "replica" accepts writes (promoted) or the primary is read-only', async () => {
    const report = await checkDatabases({ ...input, primary: input.replica, replica: input.primary });
    expect(report.problems).toEqual([
      'primary: read_only (primary is read-only (in recovery: a replica) but must accept writes)',
      'replica: not in recovery (was it promoted?)',
    ]);
  });

  it('refuses when replay on the replica is paused: the heartbeat does not arrive in time', async () => {
    await execute(replica, 'postgres', 'SELECT pg_wal_replay_pause()');
    try {
      const report = await checkDatabases({ ...input, maxReplicaLagSeconds: 1 });
      expect(report).toEqual({
        problems: ['replica: more than 1 s behind (a heartbeat written on the primary had not arrived)'],
        replicaLagMs: null,
      });
    } finally {
      await execute(replica, 'postgres', 'SELECT pg_wal_replay_resume()');
    }
  });
});

describe('drill preflight: Route 53 and Step Functions', () => {
  let input: ControlPlanePreflightInput;

  beforeEach(() => {
    route53.reset();
    sfn.reset();
    cloudwatch.reset();
    route53.on(GetHostedZoneCommand).resolves({
      HostedZone: {
        Id: '/hostedzone/Z0EXAMPLE12345',
        Name: 'provability-fabric.org.',
        CallerReference: 'x',
        Config: { PrivateZone: false },
      },
    });
    route53.on(GetHealthCheckCommand).resolves({
      HealthCheck: {
        Id: 'hc-parent',
        CallerReference: 'cdk',
        HealthCheckVersion: 3,
        HealthCheckConfig: { Type: 'CALCULATED', Inverted: false, Disabled: false },
      },
    });
    cloudwatch.on(GetMetricDataCommand).resolves(statuses({ 'hc-primary-db': 1, 'hc-replica-db': 1 }));
    route53.on(TestDNSAnswerCommand).resolves({ RecordData: ['primary.example.internal.'] });
    secondarySet('replica.example.internal');
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(ListExecutionsCommand, { stateMachineArn: DRILL }).resolves({
      executions: [
        {
          executionArn: OWN,
          stateMachineArn: DRILL,
          name: 'weekly-2026-11-29',
          status: 'RUNNING',
          startDate: new Date(),
        },
      ],
    });
    parameterStore(topologyStore(FIRST, FIRST.writer.endpoint));
    input = {
      topology: TOPOLOGY,
      healthCheckIds: ['hc-primary-db', 'hc-replica-db'],
      invertHealthCheckId: 'hc-parent',
      dns: { hostedZoneId: 'Z0EXAMPLE12345', recordName: 'db.provability-fabric.org' },
      database: DATABASE,
      exclusiveWith: [DRILL, MIGRATION],
      ownExecutionArn: OWN,
    };
  });

  it('passes in normal operation, ignoring its own execution, and drills the roles the topology names', async () => {
    expect(await checkControlPlane(clients, input)).toEqual({
      problems: [],
      roles: {
        generation: 1,
        primary: { ...DATABASE, host: 'primary.example.internal' },
        replica: { ...DATABASE, host: 'replica.example.internal' },
        primaryTarget: 'primary.example.internal',
        secondaryTarget: 'replica.example.internal',
      },
    });
    // One read of Route 53's documented HealthCheckStatus metric for every check (not GetHealthCheckStatus).
    const query = cloudwatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    expect(
      query?.MetricDataQueries?.map((q) => [
        q.MetricStat?.Metric?.MetricName,
        q.MetricStat?.Metric?.Dimensions,
        q.MetricStat?.Stat,
      ]),
    ).toEqual([
      ['HealthCheckStatus', [{ Name: 'HealthCheckId', Value: 'hc-primary-db' }], 'Minimum'],
      ['HealthCheckStatus', [{ Name: 'HealthCheckId', Value: 'hc-replica-db' }], 'Minimum'],
    ]);
    expect(sfn.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input)).toEqual([
      { stateMachineArn: DRILL, statusFilter: 'RUNNING', maxResults: 10 },
      { stateMachineArn: MIGRATION, statusFilter: 'RUNNING', maxResults: 10 },
    ]);
  });

  it('refuses when the record answers neither the writer nor its replica (a role change it has not followed yet)', async () => {
    route53.on(TestDNSAnswerCommand).resolves({ RecordData: ['green.example.internal.'] });
    expect((await checkControlPlane(clients, input)).problems).toEqual([
      "DNS: db.provability-fabric.org answers green.example.internal., neither the topology's writer primary.example.internal nor its replica (a role change the record has not followed yet: the topology sync repoints a drill record within a minute; see dr status)",
    ]);
  });

  it("after a cutover and its DR rebuild, drills green and green's replica, opened by green's secret on their own ports", async () => {
    const green = {
      region: 'us-west-2',
      instanceIdentifier: 'green',
      endpoint: 'green.example.internal',
      port: 6432,
      secretId: 'pg-dr/green',
    };
    const greenDr = {
      region: 'us-east-1',
      instanceIdentifier: 'green-dr',
      endpoint: 'green-dr.example.internal',
    };
    parameterStore(
      topologyStore(
        { ...FIRST, generation: 3, writer: green, replica: greenDr, changedBy: 'dr rebuild r-1' },
        green.endpoint,
      ),
    );
    route53.on(TestDNSAnswerCommand).resolves({ RecordData: ['green.example.internal.'] });
    secondarySet(greenDr.endpoint);
    expect(await checkControlPlane(clients, input)).toEqual({
      problems: [],
      roles: {
        generation: 3,
        primary: { ...DATABASE, host: green.endpoint, port: 6432, secretId: 'pg-dr/green' },
        replica: { ...DATABASE, host: greenDr.endpoint, port: 6432, secretId: 'pg-dr/green' },
        primaryTarget: green.endpoint,
        secondaryTarget: greenDr.endpoint,
      },
    });
  });

  it('refuses after a failover, before re-protect: DR is degraded, nothing to fail over to (and nothing misleading about DNS)', async () => {
    parameterStore(topologyStore(FAILED_OVER, FIRST.writer.endpoint));
    route53.on(TestDNSAnswerCommand).resolves({ RecordData: ['replica.example.internal.'] });
    const { problems, roles } = await checkControlPlane(clients, input);
    expect(roles).toBeUndefined();
    expect(problems).toEqual([
      'DR is degraded: the writer pg-dr-replica in us-east-1 has no cross-region replica (topology generation 2, region failover f-1), ' +
        'so a drill has nothing to fail over to. Re-protect it first (dr reprotect); the drill follows once its replica is recorded',
    ]);
    expect(problems.join()).not.toContain('dr drill restore');
    // Nothing is read from Route 53 beyond the zone: the verdict does not depend on DNS.
    expect(route53.commandCalls(TestDNSAnswerCommand)).toHaveLength(0);
  });

  it('refuses after a re-protect until the topology sync confirms the probes watch the new writer, then drills it', async () => {
    const reprotected = { ...FAILED_OVER, generation: 3, replica: HOME, changedBy: 'dr rebuild r-2' };
    parameterStore(topologyStore(reprotected, FIRST.writer.endpoint));
    route53.on(TestDNSAnswerCommand).resolves({ RecordData: ['replica.example.internal.'] });
    const refused = await checkControlPlane(clients, input);
    expect(refused.roles).toBeUndefined();
    expect(refused.problems).toEqual([
      expect.stringContaining(
        'the writer pg-dr-replica in us-east-1 is new (topology generation 3, dr rebuild r-2) and the topology sync has not yet confirmed',
      ) as unknown,
    ]);
    // The sync confirmed it: SECONDARY answers the home replica, and the drill drills these roles.
    parameterStore(topologyStore(reprotected, FAILED_OVER.writer.endpoint));
    secondarySet(HOME.endpoint);
    const drilled = await checkControlPlane(clients, input);
    expect(drilled.problems).toEqual([]);
    expect(drilled.roles).toMatchObject({
      primaryTarget: 'replica.example.internal',
      secondaryTarget: HOME.endpoint,
      primary: { host: 'replica.example.internal' },
      replica: { host: HOME.endpoint },
    });
  });

  it('refuses while the SECONDARY set does not hold the replica yet (inverting would send clients to the writer: a drill proving nothing)', async () => {
    secondarySet('primary.example.internal');
    expect((await checkControlPlane(clients, input)).problems).toEqual([
      expect.stringContaining(
        'DNS: the SECONDARY set of db.provability-fabric.org holds primary.example.internal., not the replica replica.example.internal',
      ) as unknown,
    ]);
  });

  it('refuses when there is no topology (the failover DNS stack not deployed)', async () => {
    parameterStore({ [TOPOLOGY.healthCheckedWriter]: FIRST.writer.endpoint });
    expect((await checkControlPlane(clients, input)).problems).toEqual([
      expect.stringContaining('topology: /pg-dr/topology/document: no topology in this region') as unknown,
    ]);
  });

  it('refuses, listing every reason: an unhealthy check, DNS elsewhere, a migration running', async () => {
    cloudwatch.on(GetMetricDataCommand).resolves(statuses({ 'hc-primary-db': 1, 'hc-replica-db': 0 }));
    route53.on(TestDNSAnswerCommand).resolves({ RecordData: ['replica.example.internal'] });
    sfn.on(ListExecutionsCommand, { stateMachineArn: MIGRATION }).resolves({
      executions: [
        {
          executionArn: 'arn:x',
          stateMachineArn: MIGRATION,
          name: 'migrate-20261129-0159-abc',
          status: 'RUNNING',
          startDate: new Date(),
        },
      ],
    });
    expect((await checkControlPlane(clients, input)).problems).toEqual([
      'health check hc-replica-db: unhealthy (Route 53 HealthCheckStatus 0)',
      'DNS: db.provability-fabric.org answers replica.example.internal., not the writer (a failover in progress, or a health check left inverted? run dr drill restore)',
      'running: pg-dr-blue-green-migration: migrate-20261129-0159-abc',
    ]);
  });

  it('refuses a private hosted zone, which TestDNSAnswer cannot observe, and checks nothing else', async () => {
    route53.on(GetHostedZoneCommand).resolves({
      HostedZone: {
        Id: '/hostedzone/Z0EXAMPLE12345',
        Name: 'db.internal.',
        CallerReference: 'x',
        Config: { PrivateZone: true },
      },
    });
    expect((await checkControlPlane(clients, input)).problems).toEqual([
      expect.stringContaining("hosted zone Z0EXAMPLE12345 is private: Route 53's TestDNSAnswer") as unknown,
    ]);
    expect(route53.commandCalls(TestDNSAnswerCommand)).toHaveLength(0);
  });

  it('refuses while on-call holds DNS on the primary, or the check is left inverted', async () => {
    route53.on(GetHealthCheckCommand).resolves({
      HealthCheck: {
        Id: 'hc-parent',
        CallerReference: 'cdk',
        HealthCheckVersion: 4,
        HealthCheckConfig: { Type: 'CALCULATED', Inverted: true, Disabled: true },
      },
    });
    expect((await checkControlPlane(clients, input)).problems).toEqual([
      expect.stringContaining('hc-parent is disabled: on-call holds DNS on the primary (dr hold)') as unknown,
      expect.stringContaining('hc-parent is already inverted') as unknown,
    ]);
  });

  it('refuses when Route 53 has published no status for a check (no data is not healthy)', async () => {
    cloudwatch
      .on(GetMetricDataCommand)
      .resolves(statuses({ 'hc-primary-db': undefined, 'hc-replica-db': 1 }));
    expect((await checkControlPlane(clients, input)).problems).toEqual([
      'health check hc-primary-db: no HealthCheckStatus data in the last 5 minutes (deployed just now?)',
    ]);
  });
});
