import {
  GetHealthCheckCommand,
  Route53Client,
  TestDNSAnswerCommand,
  UpdateHealthCheckCommand,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { observeAnswer } from '../../lambdas/drill/dns-answer';
import { setHealthCheckInverted } from '../../lambdas/drill/health-check';
import { fakeClock } from '../support/fake-clock';

const route53 = mockClient(Route53Client);
const HC = 'hc-primary-record';
const OPTIONS = { maxAttempts: 4, retryBaseMs: 100 };

const checkWith = (inverted: boolean, version = 7) => ({
  HealthCheck: {
    Id: HC,
    CallerReference: 'x',
    HealthCheckVersion: version,
    HealthCheckConfig: {
      Type: 'CALCULATED' as const,
      Inverted: inverted,
      ChildHealthChecks: ['a'],
      HealthThreshold: 1,
    },
  },
});

beforeEach(() => {
  route53.reset();
});

describe('setHealthCheckInverted', () => {
  it('inverts with the current version, and never disables', async () => {
    route53.on(GetHealthCheckCommand).resolves(checkWith(false, 7));
    route53.on(UpdateHealthCheckCommand).resolves({ HealthCheck: checkWith(true, 8).HealthCheck });
    const result = await setHealthCheckInverted({ route53, ...fakeClock() }, HC, true, OPTIONS);
    expect(result).toEqual({ healthCheckId: HC, inverted: true, changed: true });
    expect(route53.commandCalls(UpdateHealthCheckCommand).map((c) => c.args[0].input)).toEqual([
      { HealthCheckId: HC, HealthCheckVersion: 7, Inverted: true },
    ]);
  });

  it('restores (Inverted: false) and does nothing when already restored', async () => {
    route53.on(GetHealthCheckCommand).resolvesOnce(checkWith(true)).resolves(checkWith(false));
    route53.on(UpdateHealthCheckCommand).resolves({});
    await setHealthCheckInverted({ route53, ...fakeClock() }, HC, false, OPTIONS);
    const again = await setHealthCheckInverted({ route53, ...fakeClock() }, HC, false, OPTIONS);
    expect(route53.commandCalls(UpdateHealthCheckCommand).map((c) => c.args[0].input.Inverted)).toEqual([
      false,
    ]);
    expect(again.changed).toBe(false);
  });

  it('retries a restore that failed once (concurrent edit, throttling), re-reading the version', async () => {
    route53.on(GetHealthCheckCommand).resolvesOnce(checkWith(true, 3)).resolves(checkWith(true, 4));
    route53
      .on(UpdateHealthCheckCommand)
      .rejectsOnce(Object.assign(new Error('version'), { name: 'HealthCheckVersionMismatch' }))
      .resolves({});
    const c = fakeClock();
    await setHealthCheckInverted({ route53, ...c }, HC, false, OPTIONS);
    expect(route53.commandCalls(UpdateHealthCheckCommand).map((call) => call.args[0].input)).toEqual([
      { HealthCheckId: HC, HealthCheckVersion: 3, Inverted: false },
      { HealthCheckId: HC, HealthCheckVersion: 4, Inverted: false },
    ]);
    expect(c.sleeps).toEqual([100]);
  });

  it('gives up after the bounded attempts with a clear error, and does not retry a permission error', async () => {
    route53.on(GetHealthCheckCommand).resolves(checkWith(true));
    route53
      .on(UpdateHealthCheckCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'Throttling' }));
    await expect(
      setHealthCheckInverted({ route53, ...fakeClock() }, HC, false, OPTIONS),
    ).rejects.toMatchObject({
      name: 'HealthCheckUpdateFailed',
      message: `could not set health check ${HC} to not inverted after 4 attempt(s): Throttling`,
    });
    route53.reset();
    route53.on(GetHealthCheckCommand).resolves(checkWith(true));
    route53
      .on(UpdateHealthCheckCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    await expect(
      setHealthCheckInverted({ route53, ...fakeClock() }, HC, false, OPTIONS),
    ).rejects.toMatchObject({
      message: expect.stringContaining('after 1 attempt(s): AccessDenied') as unknown,
    });
  });
});

describe('observeAnswer', () => {
  const query = {
    hostedZoneId: 'Z0EXAMPLE12345',
    recordName: 'db.provability-fabric.org',
    recordType: 'CNAME' as const,
    expected: 'replica.example.internal',
  };

  it('times how long until Route 53 answers the expected value', async () => {
    route53
      .on(TestDNSAnswerCommand)
      .resolvesOnce({ RecordData: ['primary.example.internal'] })
      .resolvesOnce({ RecordData: ['primary.example.internal'] })
      .resolves({ RecordData: ['replica.example.internal.'] });
    const result = await observeAnswer({ route53, ...fakeClock() }, query, {
      pollMs: 5000,
      maxWaitMs: 60_000,
    });
    expect(result).toEqual({
      observedAfterMs: 10_000,
      leftPreviousAfterMs: null,
      answer: ['replica.example.internal.'],
      polls: 3,
    });
    expect(route53.commandCalls(TestDNSAnswerCommand)[0]?.args[0].input).toEqual({
      HostedZoneId: 'Z0EXAMPLE12345',
      RecordName: 'db.provability-fabric.org',
      RecordType: 'CNAME',
    });
  });

  it('measures from the inversion, and notes when Route 53 stopped answering the primary', async () => {
    route53
      .on(TestDNSAnswerCommand)
      .resolvesOnce({ RecordData: ['primary.example.internal'] })
      .resolvesOnce({ RecordData: [] })
      .resolves({ RecordData: ['replica.example.internal'] });
    const clock = fakeClock(1_000_000);
    const watched: number[] = [];
    const result = await observeAnswer(
      { route53, ...clock },
      { ...query, previous: 'primary.example.internal' },
      {
        pollMs: 2000,
        maxWaitMs: 60_000,
        since: 1_000_000 - 3000,
        beforePoll: (poll) => {
          watched.push(poll);
          return Promise.resolve();
        },
      },
    );
    expect(result).toEqual({
      observedAfterMs: 7000,
      leftPreviousAfterMs: 5000,
      answer: ['replica.example.internal.'],
      polls: 3,
    });
    expect(watched).toEqual([1, 2, 3]);
  });

  it('stops at once when the check before a poll fails', async () => {
    route53.on(TestDNSAnswerCommand).resolves({ RecordData: ['primary.example.internal'] });
    const stop = Object.assign(new Error('secondary unhealthy'), { name: 'HealthCheckUnhealthy' });
    await expect(
      observeAnswer({ route53, ...fakeClock() }, query, {
        pollMs: 1000,
        maxWaitMs: 60_000,
        beforePoll: (poll) => (poll === 2 ? Promise.reject(stop) : Promise.resolve()),
      }),
    ).rejects.toBe(stop);
    expect(route53.commandCalls(TestDNSAnswerCommand)).toHaveLength(1);
  });

  it('gives up after the bounded wait when failover never happens', async () => {
    route53.on(TestDNSAnswerCommand).resolves({ RecordData: ['primary.example.internal'] });
    await expect(
      observeAnswer({ route53, ...fakeClock() }, query, { pollMs: 5000, maxWaitMs: 30_000 }),
    ).rejects.toMatchObject({
      name: 'FailoverNotObserved',
      message:
        'db.provability-fabric.org still answered primary.example.internal. 30 s after the change, expected replica.example.internal.',
    });
    expect(route53.commandCalls(TestDNSAnswerCommand)).toHaveLength(7);
  });
});

describe('drill health-check step', () => {
  const ALLOWED = '11111111-1111-4111-8111-111111111111';
  const OTHER = '99999999-9999-4999-8999-999999999999';
  function load() {
    let loaded: { handler: (event: unknown) => Promise<unknown>; calls: () => unknown[] } | undefined;
    jest.isolateModules(() => {
      const r53 = jest.requireActual<typeof import('@aws-sdk/client-route-53')>('@aws-sdk/client-route-53');
      const mock = mockClient(r53.Route53Client);
      mock.on(r53.GetHealthCheckCommand).resolves(checkWith(false, 3));
      mock.on(r53.UpdateHealthCheckCommand).resolves({});
      const module = jest.requireActual<{ handler: (event: unknown) => Promise<unknown> }>(
        '../../lambdas/drill/steps/health-check-handler',
      );
      loaded = {
        handler: module.handler,
        calls: () => mock.commandCalls(r53.UpdateHealthCheckCommand).map((c) => c.args[0].input),
      };
    });
    if (loaded === undefined) throw new Error('did not load');
    return loaded;
  }
  beforeEach(() => {
    process.env.DRILL_HEALTH_CHECK_IDS = ALLOWED;
  });
  afterEach(() => {
    delete process.env.DRILL_HEALTH_CHECK_IDS;
  });

  it('inverts the configured check and reports when', async () => {
    const step = load();
    const before = Date.now();
    const result = (await step.handler({ mode: 'invert', healthCheckId: ALLOWED })) as { at: number };
    expect(result).toMatchObject({ healthCheckId: ALLOWED, inverted: true, changed: true });
    expect(result.at).toBeGreaterThanOrEqual(before);
    expect(step.calls()).toEqual([{ HealthCheckId: ALLOWED, HealthCheckVersion: 3, Inverted: true }]);
  });

  it('refuses any other health check before calling Route 53', async () => {
    const step = load();
    await expect(step.handler({ mode: 'invert', healthCheckId: OTHER })).rejects.toMatchObject({
      name: 'HealthCheckNotAllowed',
    });
    expect(step.calls()).toEqual([]);
  });
});
