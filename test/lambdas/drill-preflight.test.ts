import { GetHealthCheckStatusCommand, Route53Client, TestDNSAnswerCommand } from '@aws-sdk/client-route-53';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { runPreflight, type PreflightInput } from '../../lambdas/drill/preflight';
import type { ConnectionSettings } from '../../lambdas/shared/database';
import { freeLoopbackPort, PostgresServer } from '../support/postgres';

const clients = {
  route53: new Route53Client({ region: 'us-east-1' }),
  sfn: new SFNClient({ region: 'us-east-1' }),
};
const route53 = mockClient(clients.route53);
const sfn = mockClient(clients.sfn);
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

const observations = (success: number, failure: number) => ({
  HealthCheckObservations: [
    ...Array.from({ length: success }, () => ({ StatusReport: { Status: 'Success: HTTP Status Code 200' } })),
    ...Array.from({ length: failure }, () => ({ StatusReport: { Status: 'Failure: Connection timed out' } })),
  ],
});

describe('drill preflight against a real primary and streaming replica', () => {
  let primary: PostgresServer;
  let replica: PostgresServer;
  let input: PreflightInput;

  beforeAll(async () => {
    primary = await PostgresServer.start({ name: 'preflight-primary' });
    replica = await PostgresServer.startStandby(primary, { name: 'preflight-replica' });
  });
  afterAll(async () => {
    await replica.destroy();
    await primary.destroy();
  });
  beforeEach(() => {
    route53.reset();
    sfn.reset();
    route53.on(GetHealthCheckStatusCommand).resolves(observations(8, 0));
    route53.on(TestDNSAnswerCommand).resolves({ RecordData: ['primary.example.internal.'] });
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
    input = {
      primary: settingsOf(primary),
      replica: settingsOf(replica),
      healthCheckIds: ['hc-primary-db', 'hc-replica-db'],
      dns: {
        hostedZoneId: 'Z0EXAMPLE12345',
        recordName: 'db.provability-fabric.org',
        primaryTarget: 'primary.example.internal',
      },
      maxReplicaLagSeconds: 60,
      exclusiveWith: [DRILL, MIGRATION],
      ownExecutionArn: OWN,
      timeoutMs: 3000,
    };
  });

  it('passes in normal operation, ignoring its own execution', async () => {
    const report = await runPreflight(clients, input);
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(
      route53.commandCalls(GetHealthCheckStatusCommand).map((c) => c.args[0].input.HealthCheckId),
    ).toEqual(['hc-primary-db', 'hc-replica-db']);
    expect(sfn.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input)).toEqual([
      { stateMachineArn: DRILL, statusFilter: 'RUNNING', maxResults: 10 },
      { stateMachineArn: MIGRATION, statusFilter: 'RUNNING', maxResults: 10 },
    ]);
  });

  it('refuses, listing every reason: replica down, an unhealthy check, DNS elsewhere, a migration running', async () => {
    route53.on(GetHealthCheckStatusCommand, { HealthCheckId: 'hc-replica-db' }).resolves(observations(1, 7));
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
    const report = await runPreflight(clients, {
      ...input,
      replica: { ...input.replica, port: await freeLoopbackPort() },
    });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      expect.stringMatching(/^replica: unreachable/) as unknown,
      'health check hc-replica-db: unhealthy (13% of checkers report success)',
      'DNS: db.provability-fabric.org answers replica.example.internal., not the primary',
      'running: migrate-20261129-0159-abc (pg-dr-blue-green-migration)',
    ]);
  });

  it('refuses when the "replica" accepts writes (promoted) or the primary is read-only', async () => {
    const report = await runPreflight(clients, { ...input, primary: input.replica, replica: input.primary });
    expect(report.problems).toEqual([
      'primary: read_only (primary is read-only (in recovery: a replica) but must accept writes)',
      'replica: not in recovery (was it promoted?)',
    ]);
  });
});
