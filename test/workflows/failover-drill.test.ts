import { join } from 'node:path';
import { SSMClient } from '@aws-sdk/client-ssm';
import { changeTopology } from '../../lambdas/shared/topology-change';
import type { DrillReport } from '../../lambdas/drill/report';
import { deliverEvent, statusChangeEvent } from '../../lib/local-aws/invoke';
import { runInWorld, scheduledDrillInput, type WorldExecution } from '../../lib/local-aws/workflow';
import { drNames } from '../../lib/names';
import { testConfig } from '../infra/test-config';
import { databaseSecret } from '../support/lambda';
import { PostgresServer } from '../support/postgres';
import { execute } from '../support/replication';
import { scanForSecrets } from '../support/secret-scan';
import { DRILL_RECORD, MASTER_SECRET, testWorld, TOPOLOGY } from '../support/world';

/** What the drill's VPC resolver answers (clients' view, with caches): the simulated Route 53 by default. */
const mockClients: { resolve?: (name: string) => Promise<string[]> } = {};
jest.mock('../../lambdas/drill/record-resolver', () => ({
  resolveRecord: (name: string) => mockClients.resolve?.(name) ?? Promise.resolve([]),
}));

const NAMES = drNames(testConfig());
const DRILL_FILE = 'failover-drill.asl.json';

interface Faults {
  /** How long Route 53 takes to act on a health change; null: never within the drill. */
  switchDelayMs?: number | null;
  /** Clients never leave the primary (their resolver keeps the old answer). */
  clientsStuck?: boolean;
  /** UpdateHealthCheck to Inverted false fails with InternalFailure this many times. */
  restoreFailures?: number;
  /** UpdateHealthCheck to Inverted true is throttled this many times. */
  invertThrottles?: number;
  /** GetMetricData (the watched checks' status) is throttled once the check is inverted. */
  throttleStatusWhileInverted?: boolean;
  s3Replicates?: boolean;
  /** Executions already running, by state machine name. */
  running?: Record<string, string[]>;
  everyStepTwice?: boolean;
  /** Further secrets the world holds (by name), with the primary's credentials. */
  moreSecrets?: string[];
}

describe('failover drill, in the local world (the synthesized app, IAM from its roles) over a real primary and streaming replica', () => {
  let primary: PostgresServer;
  let replica: PostgresServer;

  beforeAll(async () => {
    primary = await PostgresServer.start({ name: 'drill-primary' });
    // The database the configuration names (database.databaseName), as the deployed app creates it.
    await execute(primary, 'postgres', 'CREATE DATABASE app');
    replica = await PostgresServer.startStandby(primary, { name: 'drill-replica' });
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      DB_CA_FILE: `${primary.rootDir}/tls/ca.crt`,
      MIGRATIONS_DIR: join(__dirname, '..', '..', 'examples', 'prisma', 'migrations'),
    });
  });
  afterAll(async () => {
    await replica.destroy();
    await primary.destroy();
  });

  /** A drill in a fresh local world, with the schedule's own input pointed at the test servers. */
  function drill(faults: Faults = {}) {
    const world = testWorld({
      endpoints: { 'pg-dr-primary': '127.0.0.1', 'pg-dr-replica': 'localhost' },
      // RDS's Endpoint.Port: the topology records it, and the drill connects where the topology says.
      ports: { 'pg-dr-primary': primary.port, 'pg-dr-replica': replica.port },
      secrets: Object.fromEntries(
        [MASTER_SECRET, ...(faults.moreSecrets ?? [])].map((name) => [
          name,
          databaseSecret(primary, 'app').SecretString,
        ]),
      ),
      route53: {
        switchDelayMs: faults.switchDelayMs === null ? 1e9 : (faults.switchDelayMs ?? 200),
        insyncDelayMs: 0,
      },
      s3ReplicationDelayMs: 50,
    });
    const invertCheck = world.ref('AWS::Route53::HealthCheck', 'FailoverDnsDrillRecordHealth');
    process.env.DRILL_HEALTH_CHECK_IDS = invertCheck;
    // Simulated clients cache the drill record's answer for 100 ms.
    for (const role of ['primary', 'secondary'])
      Object.assign(world.route53.recordSet(DRILL_RECORD, `${DRILL_RECORD}-${role}`) ?? {}, { TTL: 0.1 });
    const resolver = world.route53.resolver();
    mockClients.resolve = faults.clientsStuck === true ? () => Promise.resolve(['127.0.0.1']) : resolver;
    if (faults.s3Replicates === false) {
      const source = world.s3.buckets.get(`pg-dr-backups-${world.account}-us-west-2`);
      if (source?.replication !== undefined) source.replication.fails = true;
    }
    let restoreFailures = faults.restoreFailures ?? 0;
    let invertThrottles = faults.invertThrottles ?? 0;
    world.aws.inject('route53', 'UpdateHealthCheck', (input) => {
      if (input.Inverted === false && restoreFailures > 0) {
        restoreFailures -= 1;
        return 'InternalFailure';
      }
      if (input.Inverted === true && invertThrottles > 0) {
        invertThrottles -= 1;
        return 'Throttling';
      }
      return undefined;
    });
    if (faults.throttleStatusWhileInverted === true)
      world.aws.inject('cloudwatch', 'GetMetricData', () =>
        world.route53.requireCheck(invertCheck).inverted ? 'Throttling' : undefined,
      );
    for (const [machine, names] of Object.entries(faults.running ?? {}))
      for (const name of names) world.stepFunctions.begin(world.stateMachineArn(machine), name, {});

    const input = scheduledDrillInput(world, `us-east-1/${NAMES.drillSchedule}`, {
      budgets: { serviceDisruptionSeconds: 3, dnsFailoverSeconds: 2, s3ReplicationSeconds: 2 },
      limits: {
        maxReplicaLagSeconds: 5,
        failbackTimeoutSeconds: 3,
        heartbeatTimeoutSeconds: 5,
        s3TimeoutSeconds: 1,
        pollMs: 50,
      },
    });

    const nested: WorldExecution[] = [];
    /** Each notification, and how many AWS calls had been made when it was sent. */
    const notified: { state: string; afterCalls: number }[] = [];
    const histories: WorldExecution[] = [];
    const start = (given: unknown = input, name?: string) =>
      runInWorld({
        world,
        file: DRILL_FILE,
        stateMachineName: NAMES.drillStateMachine,
        input: given,
        retryIntervals: { RestoreHealthCheck: 1, RestoreAfterFailure: 1 },
        onNotify: (state: string) => notified.push({ state, afterCalls: world.aws.calls.length }),
        ...(name === undefined ? {} : { name }),
        ...(faults.everyStepTwice === true
          ? {
              wrap: (_state: string, handler: (input: never) => unknown) => async (event: never) => {
                await handler(event);
                return handler(event);
              },
            }
          : {}),
        handlers: {
          // startExecution.sync, as the drill's role: start the migration workflow, then run it to its end.
          MigrationDryRun: async (task: { StateMachineArn: string; Input: unknown }) => {
            expect(task.StateMachineArn).toBe(world.stateMachineArn(NAMES.blueGreenStateMachine));
            const started = (await world.aws.call(
              'states',
              'StartExecution',
              { stateMachineArn: task.StateMachineArn, input: JSON.stringify(task.Input) },
              'us-east-1',
            )) as { executionArn: string };
            const run = await runInWorld({
              world,
              file: 'blue-green-migration.asl.json',
              stateMachineName: NAMES.blueGreenStateMachine,
              input: task.Input,
              ...(world.stepFunctions.executions.get(started.executionArn) === undefined
                ? {}
                : { execution: world.stepFunctions.executions.get(started.executionArn) }),
            });
            nested.push(run);
            if (run.status !== 'SUCCEEDED')
              throw Object.assign(new Error(run.error?.message), { name: 'States.TaskFailed' });
            return { Status: 'SUCCEEDED', ExecutionArn: started.executionArn };
          },
        },
      }).then((run) => {
        histories.push(run);
        scanForSecrets('execution history', JSON.stringify(run.history));
        return run;
      });

    /** What happened to the health check and on-call, in order, from the calls the simulated AWS answered. */
    const events = () => {
      const timeline: string[] = [];
      world.aws.calls.forEach((c, index) => {
        for (const n of notified) if (n.afterCalls === index) timeline.push(`notify ${n.state}`);
        if (c.service === 'route53' && c.operation === 'UpdateHealthCheck')
          timeline.push(
            c.error === undefined
              ? `Inverted: ${String(c.input.Inverted)}`
              : c.input.Inverted === false
                ? 'restore failed'
                : 'invert throttled',
          );
      });
      for (const n of notified)
        if (n.afterCalls >= world.aws.calls.length) timeline.push(`notify ${n.state}`);
      return timeline;
    };
    const notifications = () => world.sns.published.map((p) => ({ Subject: p.subject, Message: p.message }));
    const inverted = () => world.route53.requireCheck(invertCheck).inverted;
    return {
      world,
      input,
      start,
      run: (given?: unknown) => start(given),
      events,
      notifications,
      inverted,
      nested,
      invertCheck,
    };
  }

  type Drill = ReturnType<typeof drill>;
  const drills: Drill[] = [];
  const open = (faults?: Faults) => {
    const d = drill(faults);
    drills.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of drills.splice(0)) d.world.close();
  });

  /** The check is back to not inverted, and was restored before on-call was first told anything. */
  const restoredBeforeTheEnd = (d: Drill) => {
    expect(d.inverted()).toBe(false);
    const events = d.events();
    const lastRestore = events.lastIndexOf('Inverted: false');
    const firstNotify = events.findIndex((e) => e.startsWith('notify'));
    if (events.includes('Inverted: true')) expect(lastRestore).toBeGreaterThan(-1);
    if (firstNotify !== -1 && events.includes('Inverted: true'))
      expect(lastRestore).toBeLessThan(firstNotify);
  };

  it('follows the topology: after a cutover to a green opened by its own secret, drills green and its replica with that secret', async () => {
    const greenSecret = 'pg-dr/green-app';
    const d = open({ moreSecrets: [greenSecret] });
    // A cutover, then its DR rebuild, recorded: green is the writer (here the same server under a new
    // identity, opened by its own secret), and its replica the standby.
    await changeTopology(new SSMClient({ region: 'us-east-1' }), TOPOLOGY, {
      expectedGeneration: 1,
      changedBy: 'test: cutover and DR rebuild',
      now: new Date(),
      next: (t) => ({
        writer: { ...t.writer, instanceIdentifier: 'green', secretId: greenSecret },
        replica: t.replica === null ? null : { ...t.replica, secretId: greenSecret },
        retired: [],
      }),
    });
    const result = await d.run();
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    const secretsRead = d.world.aws.calls
      .filter(
        (c) => c.service === 'secretsmanager' && c.operation === 'GetSecretValue' && c.error === undefined,
      )
      .map((c) => c.input.SecretId);
    // Every database step opened what the topology names, never the first deploy's master secret.
    expect(new Set(secretsRead)).toEqual(new Set([greenSecret]));
    // The migration dry run planned against the same writer.
    expect(d.nested[0]?.path).toContain('DryRunSucceeded');
  });

  it('succeeds: fails over, serves reads from the replica, fails back, probes replication, dry-runs a migration', async () => {
    const d = open();
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
    expect(d.events()).toEqual(['Inverted: true', 'Inverted: false']);
    restoredBeforeTheEnd(d);
    const { report } = result.output as { report: DrillReport };
    expect(report.outcome).toBe('succeeded');
    const f = report.figures;
    // The simulated Route 53 acts 200 ms after the inversion.
    expect(f.dnsFailoverSeconds).toBeGreaterThanOrEqual(0.2);
    expect(f.detectionSeconds).toBe(f.dnsFailoverSeconds);
    expect(f.serviceDisruptionSeconds).toBeGreaterThanOrEqual(0.2);
    for (const value of Object.values(f)) expect(value).toEqual(expect.any(Number));
    expect(d.notifications()).toEqual([]);
    expect(d.nested).toHaveLength(1);
    expect(d.nested[0]?.path).toContain('DryRunSucceeded');
    // Production DNS never moved: the drill inverted its own record's check.
    expect(d.world.route53.answer('db.provability-fabric.org')?.values).toEqual(['127.0.0.1']);
    // Every call was authorized against the calling step's role from the synthesized app.
    expect(d.world.aws.calls.filter((c) => c.principal === undefined && c.service !== 'states')).toEqual([]);
  });

  it('refuses at preflight, saying why, and touches nothing', async () => {
    const d = open({ running: { [NAMES.blueGreenStateMachine]: ['migrate-20261129-0150'] } });
    d.world.route53.observe(
      d.world.ref('AWS::Route53::HealthCheck', 'FailoverDnsSecondaryDatabaseHealth'),
      'unhealthy',
    );
    const result = await d.run();
    expect(result.status).toBe('FAILED');
    expect(result.error?.name).toBe('DrillRefused');
    expect(result.path).toEqual(['Preflight', 'PreflightDatabases', 'NotifyRefused', 'DrillRefused']);
    expect(d.events()).toEqual(['notify NotifyRefused']);
    expect(d.inverted()).toBe(false);
    expect(d.notifications()[0]?.Message).toContain('PreflightRefused');
    expect(d.notifications()[0]?.Message).toMatch(/health check [0-9a-f-]{36}: unhealthy/);
    expect(d.notifications()[0]?.Message).toContain(
      'running: pg-dr-blue-green-migration: migrate-20261129-0150',
    );
  });

  it('rejects a malformed input at preflight without touching anything', async () => {
    const d = open();
    const result = await d.run({ ...d.input, primary: { secretId: 'postgresql://u:hunter2@db/app' } });
    expect(result.error?.name).toBe('DrillRefused');
    expect(d.events()).toEqual(['notify NotifyRefused']);
    expect(d.notifications()[0]?.Message).toContain('InvalidInput');
    expect(d.notifications()[0]?.Message).not.toContain('hunter2');
  });

  it('aborts when failover is never observed, restoring the health check before notifying', async () => {
    const d = open({ switchDelayMs: null });
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
    expect(d.events()).toEqual(['Inverted: true', 'Inverted: false', 'notify NotifyDrillFailed']);
    restoredBeforeTheEnd(d);
    expect(d.notifications()[0]?.Message).toContain(
      'failed at the ObserveFailover step: FailoverNotObserved',
    );
    expect(d.notifications()[0]?.Message).toContain('health check is restored');
  });

  it('retries a restore that fails once, and still succeeds', async () => {
    const d = open({ restoreFailures: 1 });
    const result = await d.run();
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    expect(d.events()).toEqual(['Inverted: true', 'restore failed', 'Inverted: false']);
    restoredBeforeTheEnd(d);
  });

  it('pages loudly when the health check cannot be restored at all', async () => {
    const d = open({ restoreFailures: 100 });
    const result = await d.run();
    expect(result.error?.name).toBe('HealthCheckNotRestored');
    expect(result.path.slice(-2)).toEqual(['NotifyRestoreFailed', 'RestoreFailed']);
    expect(d.notifications()[0]?.Subject).toMatch(/^URGENT/);
    expect(d.notifications()[0]?.Message).toContain('dr drill restore');
  });

  it('aborts and restores at once when the disruption exceeds its budget (clients never reach the replica)', async () => {
    const d = open({ clientsStuck: true });
    const result = await d.run();
    expect(result.error?.name).toBe('DrillFailed');
    expect(result.path).toContain('VerifySecondaryReadsFailed');
    expect(d.events()).toEqual(['Inverted: true', 'Inverted: false', 'notify NotifyDrillFailed']);
    restoredBeforeTheEnd(d);
    expect(d.notifications()[0]?.Message).toContain('VerifySecondaryReads step: DisruptionOverBudget');
  });

  it('stops when a watched check turns unhealthy during the drill: a real outage', async () => {
    const d = open({ switchDelayMs: null });
    const running = d.run();
    for (let i = 0; i < 200 && !d.inverted(); i++) await new Promise((r) => setTimeout(r, 10));
    d.world.route53.observe(
      d.world.ref('AWS::Route53::HealthCheck', 'FailoverDnsPrimaryDatabaseHealth'),
      'unhealthy',
    );
    const result = await running;
    expect(result.error?.name).toBe('DrillFailed');
    restoredBeforeTheEnd(d);
    expect(d.notifications()[0]?.Message).toContain('HealthCheckUnhealthy');
  });

  it('retries an inversion Route 53 throttles, inside the step, and succeeds', async () => {
    const d = open({ invertThrottles: 2 });
    const result = await d.run();
    expect(result.error).toBeUndefined();
    expect(d.events()).toEqual(['invert throttled', 'invert throttled', 'Inverted: true', 'Inverted: false']);
  });

  it('stops safely when CloudWatch throttles status reads mid-drill: restored first, on-call told', async () => {
    const d = open({ throttleStatusWhileInverted: true });
    const result = await d.run();
    expect(result.error?.name).toBe('DrillFailed');
    expect(result.path).toContain('ObserveFailoverFailed');
    expect(d.events()).toEqual(['Inverted: true', 'Inverted: false', 'notify NotifyDrillFailed']);
    restoredBeforeTheEnd(d);
    expect(d.notifications()[0]?.Message).toContain('failed at the ObserveFailover step');
  });

  it('fails when the S3 probe object never replicates, after restoring', async () => {
    const d = open({ s3Replicates: false });
    const result = await d.run();
    expect(result.error?.name).toBe('DrillFailed');
    expect(result.path).toContain('ProbeReplicationFailed');
    expect(d.inverted()).toBe(false);
    // Already restored after failback; the failure path confirms it (no second change needed).
    expect(d.events()).toEqual(['Inverted: true', 'Inverted: false', 'notify NotifyDrillFailed']);
    expect(d.notifications()[0]?.Message).toContain('ProbeReplication step: S3ObjectNotReplicated');
    expect(d.notifications()[0]?.Message).toMatch(/DNS failover \d+(\.\d)? s/);
  });

  it('every step run twice (completed, result lost, retried): the drill still succeeds, one change each way', async () => {
    const d = open({ everyStepTwice: true });
    const result = await d.run();
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    // Inverting an inverted check and restoring a restored one change nothing: one change each way.
    expect(d.events()).toEqual(['Inverted: true', 'Inverted: false']);
    restoredBeforeTheEnd(d);
    expect(d.notifications()).toEqual([]);
    const { report } = result.output as { report: DrillReport };
    expect(report.outcome).toBe('succeeded');
  });

  /** Runs the drill and crashes `server` (kill -9) as soon as the health check is `inverted`. */
  async function runAndKill(d: Drill, server: PostgresServer, whenInverted: boolean) {
    const running = d.run();
    const event = `Inverted: ${String(whenInverted)}`;
    for (let i = 0; i < 1000 && !d.events().includes(event); i++) await new Promise((r) => setTimeout(r, 5));
    expect(d.events()).toContain(event);
    await server.kill();
    return running;
  }

  it('the replica killed (kill -9) while clients fail over to it: restored first, on-call told; it recovers after restart', async () => {
    const d = open();
    try {
      const result = await runAndKill(d, replica, true);
      expect(result.error?.name).toBe('DrillFailed');
      expect(result.path).toContain('VerifySecondaryReadsFailed');
      expect(d.events()).toEqual(['Inverted: true', 'Inverted: false', 'notify NotifyDrillFailed']);
      restoredBeforeTheEnd(d);
      expect(d.notifications()[0]?.Message).toContain('VerifySecondaryReads step');
      expect(d.notifications()[0]?.Message).toContain('health check is restored');
    } finally {
      await replica.restart();
    }
    // Back from crash recovery, the replica streams again: the next drill passes.
    expect((await open().run()).status).toBe('SUCCEEDED');
  });

  it('the primary killed (kill -9) during failback: restored, on-call told which step; it recovers after restart', async () => {
    const d = open();
    try {
      const result = await runAndKill(d, primary, false);
      expect(result.error?.name).toBe('DrillFailed');
      expect(result.path).toContain('VerifyPrimaryWritesFailed');
      restoredBeforeTheEnd(d);
      expect(d.notifications()[0]?.Message).toContain('VerifyPrimaryWrites step: PrimaryNotServed');
      expect(d.notifications()[0]?.Message).toContain('was still not served by the primary (unreachable');
    } finally {
      await primary.restart();
    }
    expect((await open().run()).status).toBe('SUCCEEDED');
  });

  it('completes but fails as over budget when DNS failover is slower than its budget', async () => {
    const d = open({ switchDelayMs: 1200 });
    const result = await d.run({ ...d.input, budgets: { ...d.input.budgets, dnsFailoverSeconds: 1 } });
    expect(result.error?.name).toBe('DrillOverBudget');
    expect(result.error?.message).toMatch(/DNS failover 1\.\d s > 1 s budget/);
    expect(result.path.slice(-3)).toEqual(['IsWithinBudget', 'NotifyOverBudget', 'DrillOverBudget']);
    restoredBeforeTheEnd(d);
  });

  it('refuses to invert a check on-call holds (disabled), and leaves the hold alone', async () => {
    const d = open();
    await d.world.aws.call(
      'route53',
      'UpdateHealthCheck',
      { HealthCheckId: d.invertCheck, Disabled: true },
      'us-east-1',
    );
    const result = await d.run();
    expect(result.error?.name).toBe('DrillRefused');
    expect(d.notifications()[0]?.Message).toContain('on-call holds DNS on the primary (dr hold)');
    expect(d.world.route53.requireCheck(d.invertCheck)).toMatchObject({ disabled: true, inverted: false });
  });

  it('fails the way AWS does when a step loses a permission: the health-check step without route53:UpdateHealthCheck', async () => {
    const d = open();
    const step = d.world.iam.principalOfArn(
      d.world.substitutions(NAMES.drillStateMachine).DrillHealthCheckFunctionArn ?? '',
    );
    if (step === undefined) throw new Error('no health-check step');
    d.world.iam.withoutAction(step, 'route53:UpdateHealthCheck');
    const result = await d.run();
    // The inversion is refused as Route 53 refuses it (AccessDenied, 403): nothing changed, nothing to restore.
    expect(result.error?.name).toBe('DrillFailed');
    expect(result.path).toContain('InvertFailed');
    expect(d.inverted()).toBe(false);
    const denied = d.world.aws.calls.filter((c) => c.error !== undefined);
    expect(denied.map((c) => `${c.service}:${c.operation} ${c.error ?? ''}`)).toEqual([
      'route53:UpdateHealthCheck AccessDenied',
    ]);
    expect(d.notifications()[0]?.Message).toContain(
      'failed at the InvertHealthCheck step: HealthCheckUpdateFailed',
    );
  });

  it('a drill refused because another is running ends FAILED, and its safety net leaves the running drill’s inversion alone', async () => {
    const d = open({ switchDelayMs: null });
    const first = d.start(d.input, 'scheduled-2026-11-29');
    for (let i = 0; i < 400 && !d.inverted(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(d.inverted()).toBe(true);
    const second = await d.start(d.input, 'manual-2026-11-29');
    expect(second.error?.name).toBe('DrillRefused');
    // EventBridge delivers the second drill's FAILED status change to the rules the app deployed.
    const delivered = await deliverEvent(
      d.world,
      'us-east-1',
      statusChangeEvent(d.world, second.executionArn),
    );
    expect(delivered.map((x) => x.error)).toEqual([undefined]);
    expect(delivered.map((x) => x.target)).toEqual([expect.stringContaining('DrillStepssafetyNet')]);
    expect(delivered[0]?.result).toMatchObject({ outcome: 'nothing to undo' });
    expect(d.inverted()).toBe(true);
    await first;
  });

  it('a drill stopped mid-failover (StopExecution) is restored by its safety net, which pages what it did', async () => {
    const d = open({ switchDelayMs: null });
    const stopped = await runInWorld({
      world: d.world,
      file: DRILL_FILE,
      stateMachineName: NAMES.drillStateMachine,
      input: d.input,
      abortAt: 'ObserveFailover',
    });
    expect(stopped.status).toBe('ABORTED');
    expect(d.inverted()).toBe(true);
    const delivered = await deliverEvent(
      d.world,
      'us-east-1',
      statusChangeEvent(d.world, stopped.executionArn),
    );
    expect(delivered[0]?.result).toMatchObject({ outcome: 'restored' });
    expect(d.inverted()).toBe(false);
    expect(d.notifications().at(-1)?.Subject).toBe(
      'Failover drill ended abnormally: safety net restored the health check',
    );
    // Delivered again (EventBridge is at least once): nothing more to undo, nothing more said.
    await deliverEvent(d.world, 'us-east-1', statusChangeEvent(d.world, stopped.executionArn));
    expect(d.notifications()).toHaveLength(1);
  });
});
