import { join } from 'node:path';
import type * as Route53 from '@aws-sdk/client-route-53';
import type * as S3 from '@aws-sdk/client-s3';
import type * as SecretsManager from '@aws-sdk/client-secrets-manager';
import type * as Sfn from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { DrillInput } from '../../lambdas/drill/input';
import type { DrillReport } from '../../lambdas/drill/report';
import { databaseSecret } from '../support/lambda';
import { PostgresServer } from '../support/postgres';
import {
  everyStepTwice,
  loadDefinition,
  localSubstitutions,
  publishStates,
  runLocally,
  type LocalExecution,
} from '../support/workflow';

type Step = (event: never) => unknown;
const EXAMPLES = join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');
const ZONE = 'Z0EXAMPLE12345';
const RECORD = 'db.provability-fabric.org';
const PARENT_CHECK = '11111111-1111-4111-8111-111111111111';
const PRIMARY_DB_CHECK = '22222222-2222-4222-8222-222222222222';
const SECONDARY_DB_CHECK = '33333333-3333-4333-8333-333333333333';
const ACCOUNT = '111122223333';
const DRILL_ARN = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:pg-dr-failover-drill`;
const MIGRATION_ARN = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:pg-dr-blue-green-migration`;
const SUBSTITUTIONS = localSubstitutions('failover-drill.asl.json', ACCOUNT);
const BLUE_GREEN_SUBSTITUTIONS = localSubstitutions('blue-green-migration.asl.json', ACCOUNT);

/**
 * Route 53, as far as the drill sees it: the parent check's Inverted flag (versioned), what Route 53 answers
 * (TestDNSAnswer), what clients' resolvers answer, and the child checks' health. Clearly a simulator.
 */
interface Route53Simulator {
  inverted: boolean;
  version: number;
  invertedAt: number | null;
  /** Route 53 answers the secondary this long after the inversion; never when null. */
  failoverAfterMs: number | null;
  /** Clients keep the old answer this much longer (TTL and resolver caches); forever when null. */
  clientLagMs: number | null;
  unhealthyChecks: Set<string>;
  /** Fail this many restores (Inverted: false) before accepting one. */
  restoreFailures: number;
  /** Throttle this many inversions (Inverted: true) before accepting one. */
  invertThrottles: number;
  /** Throttle every health-check status read once the check is inverted. */
  throttleStatusWhileInverted: boolean;
  events: string[];
}

describe('failover drill, executed locally from its ASL file over a real primary and streaming replica', () => {
  let primary: PostgresServer;
  let replica: PostgresServer;
  let baseInput: DrillInput;

  beforeAll(async () => {
    primary = await PostgresServer.start({ name: 'drill-primary' });
    replica = await PostgresServer.startStandby(primary, { name: 'drill-replica' });
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      DB_CA_FILE: `${primary.rootDir}/tls/ca.crt`,
      MIGRATIONS_DIR: EXAMPLES,
      DRILL_HEALTH_CHECK_IDS: PARENT_CHECK,
    });
    baseInput = {
      // The replica is reached by another loopback name, so the record's two answers are distinguishable.
      primary: { secretId: 'pg-dr/postgres-master', host: '127.0.0.1', port: primary.port },
      replica: { secretId: 'pg-dr/postgres-master', host: 'localhost', port: replica.port },
      dns: {
        hostedZoneId: ZONE,
        recordName: RECORD,
        primaryTarget: '127.0.0.1',
        secondaryTarget: 'localhost',
      },
      healthChecks: {
        invert: PARENT_CHECK,
        watch: [
          { healthCheckId: PRIMARY_DB_CHECK, label: 'primary database' },
          { healthCheckId: SECONDARY_DB_CHECK, label: 'secondary database' },
        ],
      },
      backups: {
        sourceBucket: `pg-dr-backups-${ACCOUNT}-us-west-2`,
        sourceRegion: 'us-west-2',
        replicaBucket: `pg-dr-backups-${ACCOUNT}-us-east-1`,
        replicaRegion: 'us-east-1',
      },
      budgets: { serviceDisruptionSeconds: 3, dnsFailoverSeconds: 2, s3ReplicationSeconds: 2 },
      limits: {
        maxReplicaLagSeconds: 5,
        failbackTimeoutSeconds: 3,
        heartbeatTimeoutSeconds: 5,
        s3TimeoutSeconds: 1,
        pollMs: 50,
      },
      exclusiveWith: [DRILL_ARN, MIGRATION_ARN],
      migrationDryRun: {
        dryRun: true,
        blue: { secretId: 'pg-dr/postgres-master', host: '127.0.0.1', port: primary.port },
        green: { secretId: 'pg-dr/postgres-master', host: '127.0.0.1', port: primary.port },
        blueEndpoint: '',
        greenEndpoint: '',
        dns: {
          hostedZoneId: ZONE,
          recordName: RECORD,
          setIdentifier: `${RECORD}-primary`,
          secondarySetIdentifier: `${RECORD}-secondary`,
        },
        subscription: 'dr_drill_dry_run',
        catchUpTimeoutMs: 5000,
      },
    };
  });
  afterAll(async () => {
    await replica.destroy();
    await primary.destroy();
  });

  /** Loads the real step handlers in a fresh registry with the AWS clients mocked and Route 53 simulated. */
  function drill(options: {
    sim?: Partial<Route53Simulator>;
    s3Replicates?: boolean;
    running?: Record<string, string[]>;
    /** Every step runs twice per invocation (completed, result lost, retried). */
    everyStepTwice?: boolean;
  }) {
    const sim: Route53Simulator = {
      inverted: false,
      version: 1,
      invertedAt: null,
      failoverAfterMs: 200,
      clientLagMs: 100,
      unhealthyChecks: new Set(),
      restoreFailures: 0,
      invertThrottles: 0,
      throttleStatusWhileInverted: false,
      events: [],
      ...options.sim,
    };
    const route53Answer = () =>
      sim.inverted &&
      sim.invertedAt !== null &&
      sim.failoverAfterMs !== null &&
      Date.now() - sim.invertedAt >= sim.failoverAfterMs
        ? 'localhost.'
        : '127.0.0.1.';
    const clientAnswer = () =>
      sim.inverted &&
      sim.invertedAt !== null &&
      sim.failoverAfterMs !== null &&
      sim.clientLagMs !== null &&
      Date.now() - sim.invertedAt >= sim.failoverAfterMs + sim.clientLagMs
        ? 'localhost'
        : '127.0.0.1';
    const notifications: { state: string; Subject: string; Message: string }[] = [];
    let steps: Record<string, Step> = {};
    let blueGreen: Record<string, Step> = {};
    jest.isolateModules(() => {
      jest.doMock('../../lambdas/drill/record-resolver', () => ({
        resolveRecord: () => Promise.resolve([clientAnswer()]),
      }));
      const sm = jest.requireActual<typeof SecretsManager>('@aws-sdk/client-secrets-manager');
      const r53 = jest.requireActual<typeof Route53>('@aws-sdk/client-route-53');
      const s3 = jest.requireActual<typeof S3>('@aws-sdk/client-s3');
      const sfn = jest.requireActual<typeof Sfn>('@aws-sdk/client-sfn');
      mockClient(sm.SecretsManagerClient)
        .on(sm.GetSecretValueCommand)
        .resolves(databaseSecret(primary, 'postgres'));
      const route53 = mockClient(r53.Route53Client);
      route53.on(r53.GetHealthCheckCommand).callsFake(() => ({
        HealthCheck: {
          Id: PARENT_CHECK,
          CallerReference: 'cdk',
          HealthCheckVersion: sim.version,
          HealthCheckConfig: {
            Type: 'CALCULATED',
            Inverted: sim.inverted,
            ChildHealthChecks: [PRIMARY_DB_CHECK],
          },
        },
      }));
      route53.on(r53.UpdateHealthCheckCommand).callsFake((input: Route53.UpdateHealthCheckCommandInput) => {
        if (input.Disabled !== undefined) throw new Error('the drill must never disable a health check');
        if (input.Inverted === false && sim.restoreFailures > 0) {
          sim.restoreFailures -= 1;
          sim.events.push('restore failed');
          throw Object.assign(new Error('We encountered an internal error'), { name: 'InternalFailure' });
        }
        if (input.Inverted === true && sim.invertThrottles > 0) {
          sim.invertThrottles -= 1;
          sim.events.push('invert throttled');
          throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
        }
        if (input.HealthCheckVersion !== sim.version)
          throw Object.assign(new Error('version'), { name: 'HealthCheckVersionMismatch' });
        sim.inverted = input.Inverted ?? sim.inverted;
        sim.version += 1;
        sim.invertedAt = sim.inverted ? Date.now() : null;
        sim.events.push(`Inverted: ${String(sim.inverted)}`);
        return { HealthCheck: undefined };
      });
      route53.on(r53.TestDNSAnswerCommand).callsFake(() => ({ RecordData: [route53Answer()] }));
      route53
        .on(r53.GetHealthCheckStatusCommand)
        .callsFake((input: Route53.GetHealthCheckStatusCommandInput) => {
          if (sim.throttleStatusWhileInverted && sim.inverted)
            throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
          return {
            HealthCheckObservations: Array.from({ length: 8 }, () => ({
              StatusReport: {
                Status: sim.unhealthyChecks.has(input.HealthCheckId ?? '')
                  ? 'Failure: alarm state ALARM'
                  : 'Success: alarm state OK',
              },
            })),
          };
        });
      const bucket = mockClient(s3.S3Client);
      bucket.on(s3.PutObjectCommand).resolves({});
      if (options.s3Replicates === false)
        bucket.on(s3.HeadObjectCommand).rejects(Object.assign(new Error('Not Found'), { name: 'NotFound' }));
      else
        bucket
          .on(s3.HeadObjectCommand)
          .rejectsOnce(Object.assign(new Error('Not Found'), { name: 'NotFound' }))
          .resolves({});
      const states = mockClient(sfn.SFNClient);
      states.on(sfn.ListExecutionsCommand).callsFake((input: Sfn.ListExecutionsCommandInput) => ({
        executions: (options.running?.[input.stateMachineArn ?? ''] ?? []).map((name) => ({
          name,
          executionArn: `${input.stateMachineArn ?? ''}:${name}`,
          stateMachineArn: input.stateMachineArn,
          status: 'RUNNING',
          startDate: new Date(),
        })),
      }));
      const load = (path: string, name = 'handler') =>
        jest.requireActual<Record<string, Step>>(path)[name] as Step;
      steps = {
        preflight: load('../../lambdas/drill/steps/preflight'),
        database: load('../../lambdas/drill/steps/database'),
        healthCheck: load('../../lambdas/drill/steps/health-check'),
        observe: load('../../lambdas/drill/steps/observe-dns'),
        s3: load('../../lambdas/drill/steps/s3-probe'),
        report: load('../../lambdas/drill/steps/report'),
      };
      blueGreen = {
        ValidateInput: load('../../lambdas/workflow-input/handler'),
        CheckBlue: load('../../lambdas/connectivity-check/handler'),
        CheckGreen: load('../../lambdas/connectivity-check/handler'),
        PlanMigrations: load('../../lambdas/migrations/handlers', 'planHandler'),
      };
    });
    const notify = (state: string) => (input: { Subject: string; Message: string }) => {
      notifications.push({ state, ...input });
      sim.events.push(`notify ${state}`);
      return {};
    };
    const blueGreenDefinition = loadDefinition('blue-green-migration.asl.json', BLUE_GREEN_SUBSTITUTIONS);
    const nested: LocalExecution[] = [];
    const handlers: Record<string, Step> = {
      Preflight: steps.preflight as Step,
      PreflightDatabases: steps.database as Step,
      InvertHealthCheck: steps.healthCheck as Step,
      ObserveFailover: steps.observe as Step,
      VerifySecondaryReads: steps.database as Step,
      RestoreHealthCheck: steps.healthCheck as Step,
      ObserveFailback: steps.observe as Step,
      VerifyPrimaryWrites: steps.database as Step,
      ProbeS3: steps.s3 as Step,
      ProbeHeartbeat: steps.database as Step,
      Report: steps.report as Step,
      RestoreAfterFailure: steps.healthCheck as Step,
      ReportFailure: steps.report as Step,
      // startExecution.sync: the blue-green ASL itself, run locally with its real handlers.
      MigrationDryRun: async (task: { StateMachineArn: string; Input: unknown }) => {
        expect(task.StateMachineArn).toBe(MIGRATION_ARN);
        const run = await runLocally(blueGreenDefinition, task.Input, blueGreen);
        nested.push(run);
        if (run.status !== 'SUCCEEDED')
          throw Object.assign(new Error(run.error?.message), { name: 'States.TaskFailed' });
        return {
          Status: 'SUCCEEDED',
          ExecutionArn: `${MIGRATION_ARN.replace(':stateMachine:', ':execution:')}:dry-run`,
        };
      },
      ...Object.fromEntries(
        publishStates('failover-drill.asl.json').map((state) => [state, notify(state) as Step]),
      ),
    };
    const definition = loadDefinition('failover-drill.asl.json', SUBSTITUTIONS);
    const retries = { RestoreHealthCheck: 1, RestoreAfterFailure: 1 };
    const run = options.everyStepTwice
      ? everyStepTwice(handlers, publishStates('failover-drill.asl.json'))
      : handlers;
    return {
      sim,
      notifications,
      nested,
      run: (input: unknown = baseInput) => runLocally(definition, input, run, retries),
    };
  }

  const restoredBeforeTheEnd = (sim: Route53Simulator) => {
    expect(sim.inverted).toBe(false);
    const lastRestore = sim.events.lastIndexOf('Inverted: false');
    const firstNotify = sim.events.findIndex((e) => e.startsWith('notify'));
    if (sim.events.includes('Inverted: true')) expect(lastRestore).toBeGreaterThan(-1);
    if (firstNotify !== -1 && sim.events.includes('Inverted: true'))
      expect(lastRestore).toBeLessThan(firstNotify);
  };

  it('succeeds: fails over, serves reads from the replica, fails back, probes replication, dry-runs a migration', async () => {
    const d = drill({});
    const result = await d.run();
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path).toEqual([
      'Preflight',
      'PreflightDatabases',
      'InvertHealthCheck',
      'ObserveFailover',
      'VerifySecondaryReads',
      'RestoreHealthCheck',
      'ObserveFailback',
      'VerifyPrimaryWrites',
      'ProbeReplication',
      'ProbeS3',
      'ProbeHeartbeat',
      'HasMigrationDryRun',
      'MigrationDryRun',
      'Report',
      'IsWithinBudget',
      'Succeeded',
    ]);
    expect(d.sim.events).toEqual(['Inverted: true', 'Inverted: false']);
    restoredBeforeTheEnd(d.sim);
    const { report } = result.output as { report: DrillReport };
    expect(report.outcome).toBe('succeeded');
    const f = report.figures;
    // The simulator switches Route 53 after 200 ms and clients 100 ms later.
    expect(f.dnsFailoverSeconds).toBeGreaterThanOrEqual(0.2);
    expect(f.detectionSeconds).toBe(f.dnsFailoverSeconds);
    expect(f.serviceDisruptionSeconds).toBeGreaterThanOrEqual(0.3);
    for (const value of Object.values(f)) expect(value).toEqual(expect.any(Number));
    expect(d.notifications).toEqual([]);
    expect(d.nested).toHaveLength(1);
    expect(d.nested[0]?.path).toContain('DryRunSucceeded');
  });

  it('refuses at preflight, saying why, and touches nothing', async () => {
    const d = drill({
      sim: { unhealthyChecks: new Set([SECONDARY_DB_CHECK]) },
      running: { [MIGRATION_ARN]: ['migrate-20261129-0150'] },
    });
    const result = await d.run();
    expect(result.status).toBe('FAILED');
    expect(result.error?.name).toBe('DrillRefused');
    expect(result.path).toEqual(['Preflight', 'PreflightDatabases', 'NotifyRefused', 'DrillRefused']);
    expect(d.sim.events).toEqual(['notify NotifyRefused']);
    expect(d.sim.inverted).toBe(false);
    expect(d.notifications[0]?.Message).toContain('PreflightRefused');
    expect(d.notifications[0]?.Message).toContain(`health check ${SECONDARY_DB_CHECK}: unhealthy`);
    expect(d.notifications[0]?.Message).toContain(
      'running: migrate-20261129-0150 (pg-dr-blue-green-migration)',
    );
  });

  it('rejects a malformed input at preflight without touching anything', async () => {
    const d = drill({});
    const result = await d.run({ ...baseInput, primary: { secretId: 'postgresql://u:hunter2@db/app' } });
    expect(result.error?.name).toBe('DrillRefused');
    expect(d.sim.events).toEqual(['notify NotifyRefused']);
    expect(d.notifications[0]?.Message).toContain('InvalidInput');
    expect(d.notifications[0]?.Message).not.toContain('hunter2');
  });

  it('aborts when failover is never observed, restoring the health check before notifying', async () => {
    const d = drill({ sim: { failoverAfterMs: null } });
    const result = await d.run();
    expect(result.status).toBe('FAILED');
    expect(result.error?.name).toBe('DrillFailed');
    expect(result.path.slice(-6)).toEqual([
      'ObserveFailover',
      'ObserveFailoverFailed',
      'RestoreAfterFailure',
      'ReportFailure',
      'NotifyDrillFailed',
      'DrillFailed',
    ]);
    expect(d.sim.events).toEqual(['Inverted: true', 'Inverted: false', 'notify NotifyDrillFailed']);
    restoredBeforeTheEnd(d.sim);
    expect(d.notifications[0]?.Message).toContain('failed at the ObserveFailover step: FailoverNotObserved');
    expect(d.notifications[0]?.Message).toContain('health check is restored');
  });

  it('retries a restore that fails once, and still succeeds', async () => {
    const d = drill({ sim: { restoreFailures: 1 } });
    const result = await d.run();
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    expect(d.sim.events).toEqual(['Inverted: true', 'restore failed', 'Inverted: false']);
    restoredBeforeTheEnd(d.sim);
  });

  it('pages loudly when the health check cannot be restored at all', async () => {
    const d = drill({ sim: { restoreFailures: 100 } });
    const result = await d.run();
    expect(result.error?.name).toBe('HealthCheckNotRestored');
    expect(result.path.slice(-2)).toEqual(['NotifyRestoreFailed', 'RestoreFailed']);
    expect(d.notifications[0]?.Subject).toMatch(/^URGENT/);
    expect(d.notifications[0]?.Message).toContain('dr drill restore');
  });

  it('aborts and restores at once when the disruption exceeds its budget (clients never reach the replica)', async () => {
    const d = drill({ sim: { clientLagMs: null } });
    const result = await d.run();
    expect(result.error?.name).toBe('DrillFailed');
    expect(result.path).toContain('VerifySecondaryReadsFailed');
    expect(d.sim.events).toEqual(['Inverted: true', 'Inverted: false', 'notify NotifyDrillFailed']);
    restoredBeforeTheEnd(d.sim);
    expect(d.notifications[0]?.Message).toContain('VerifySecondaryReads step: DisruptionOverBudget');
  });

  it('stops when a watched check turns unhealthy during the drill: a real outage', async () => {
    const d = drill({ sim: { failoverAfterMs: null } });
    d.sim.unhealthyChecks.add(PRIMARY_DB_CHECK);
    // Healthy at preflight, unhealthy once the drill has inverted the parent.
    const original = d.sim.unhealthyChecks;
    d.sim.unhealthyChecks = new Set();
    const result = await (async () => {
      const running = d.run();
      for (let i = 0; i < 200 && !d.sim.inverted; i++) await new Promise((r) => setTimeout(r, 10));
      d.sim.unhealthyChecks = original;
      return running;
    })();
    expect(result.error?.name).toBe('DrillFailed');
    restoredBeforeTheEnd(d.sim);
    expect(d.notifications[0]?.Message).toContain('HealthCheckUnhealthy');
  });

  it('retries an inversion Route 53 throttles, inside the step, and succeeds', async () => {
    const d = drill({ sim: { invertThrottles: 2 } });
    const result = await d.run();
    expect(result.error).toBeUndefined();
    expect(d.sim.events).toEqual([
      'invert throttled',
      'invert throttled',
      'Inverted: true',
      'Inverted: false',
    ]);
  });

  it('stops safely when Route 53 throttles status reads mid-drill: restored first, on-call told', async () => {
    const d = drill({ sim: { throttleStatusWhileInverted: true } });
    const result = await d.run();
    expect(result.error?.name).toBe('DrillFailed');
    expect(result.path).toContain('ObserveFailoverFailed');
    expect(d.sim.events).toEqual(['Inverted: true', 'Inverted: false', 'notify NotifyDrillFailed']);
    restoredBeforeTheEnd(d.sim);
    expect(d.notifications[0]?.Message).toContain('failed at the ObserveFailover step');
  });

  it('fails when the S3 probe object never replicates, after restoring', async () => {
    const d = drill({ s3Replicates: false });
    const result = await d.run();
    expect(result.error?.name).toBe('DrillFailed');
    expect(result.path).toContain('ProbeReplicationFailed');
    expect(d.sim.inverted).toBe(false);
    // Already restored after failback; the failure path confirms it (no second change needed).
    expect(d.sim.events).toEqual(['Inverted: true', 'Inverted: false', 'notify NotifyDrillFailed']);
    expect(d.notifications[0]?.Message).toContain('ProbeReplication step: S3ObjectNotReplicated');
    expect(d.notifications[0]?.Message).toMatch(/DNS failover \d+(\.\d)? s/);
  });

  it('every step run twice (completed, result lost, retried): the drill still succeeds, one change each way', async () => {
    const d = drill({ everyStepTwice: true });
    const result = await d.run();
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    // Inverting an inverted check and restoring a restored one change nothing: one change each way.
    expect(d.sim.events).toEqual(['Inverted: true', 'Inverted: false']);
    // The nested dry run did run twice.
    expect(d.nested).toHaveLength(2);
    restoredBeforeTheEnd(d.sim);
    expect(d.notifications).toEqual([]);
    const { report } = result.output as { report: DrillReport };
    expect(report.outcome).toBe('succeeded');
  });

  /** Runs the drill and crashes `server` (kill -9) as soon as the simulator has seen `event`. */
  async function runAndKill(d: ReturnType<typeof drill>, server: PostgresServer, event: string) {
    const running = d.run();
    for (let i = 0; i < 1000 && !d.sim.events.includes(event); i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(d.sim.events).toContain(event);
    await server.kill();
    return running;
  }

  it('the replica killed (kill -9) while clients fail over to it: restored first, on-call told; it recovers after restart', async () => {
    const d = drill({});
    try {
      const result = await runAndKill(d, replica, 'Inverted: true');
      expect(result.error?.name).toBe('DrillFailed');
      expect(result.path).toContain('VerifySecondaryReadsFailed');
      expect(d.sim.events).toEqual(['Inverted: true', 'Inverted: false', 'notify NotifyDrillFailed']);
      restoredBeforeTheEnd(d.sim);
      expect(d.notifications[0]?.Message).toContain('VerifySecondaryReads step');
      expect(d.notifications[0]?.Message).toContain('health check is restored');
    } finally {
      await replica.restart();
    }
    // Back from crash recovery, the replica streams again: the next drill passes.
    const next = drill({});
    expect((await next.run()).status).toBe('SUCCEEDED');
  });

  it('the primary killed (kill -9) during failback: restored, on-call told which step; it recovers after restart', async () => {
    const d = drill({});
    try {
      const result = await runAndKill(d, primary, 'Inverted: false');
      expect(result.error?.name).toBe('DrillFailed');
      expect(result.path).toContain('VerifyPrimaryWritesFailed');
      expect(d.sim.inverted).toBe(false);
      restoredBeforeTheEnd(d.sim);
      expect(d.notifications[0]?.Message).toContain('VerifyPrimaryWrites step: PrimaryNotServed');
      expect(d.notifications[0]?.Message).toContain('was still not served by the primary (unreachable');
    } finally {
      await primary.restart();
    }
    const next = drill({});
    expect((await next.run()).status).toBe('SUCCEEDED');
  });

  it('completes but fails as over budget when DNS failover is slower than its budget', async () => {
    const d = drill({ sim: { failoverAfterMs: 1200, clientLagMs: 0 } });
    const result = await d.run({ ...baseInput, budgets: { ...baseInput.budgets, dnsFailoverSeconds: 1 } });
    expect(result.error?.name).toBe('DrillOverBudget');
    expect(result.error?.message).toMatch(/DNS failover 1\.\d s > 1 s budget/);
    expect(result.path.slice(-3)).toEqual(['IsWithinBudget', 'NotifyOverBudget', 'DrillOverBudget']);
    restoredBeforeTheEnd(d.sim);
  });
});
