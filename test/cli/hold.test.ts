import { runCli } from '../../lib/cli/program';
import { RECORD, testWorld } from '../support/world';

/**
 * `dr hold` against the local world: the deployed app's failover DNS stack outputs, and Route 53 as the
 * catalogue describes it (a disabled check is healthy, disabled and inverted is unhealthy, updates carry
 * HealthCheckVersion).
 */
describe('dr hold: pin the PRIMARY record on the primary during a known blip', () => {
  async function dr(argv: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(argv, {
      out: (t) => (out += t),
      err: (t) => (err += t),
      env: { AWS_REGION: 'us-east-1' },
    });
    return { code, out, err };
  }
  const open = () => {
    const world = testWorld();
    const primaryCheck = world.ref('AWS::Route53::HealthCheck', 'FailoverDnsPrimaryRecordHealth');
    const inRegion = world.ref('AWS::Route53::HealthCheck', 'FailoverDnsPrimaryDatabaseHealth');
    const remote = world.ref('AWS::Route53::HealthCheck', 'FailoverDnsPrimaryRemoteHealth');
    const answer = () => world.route53.answer(RECORD)?.values[0] ?? '';
    return { world, primaryCheck, inRegion, remote, answer };
  };

  it('keeps the record on the primary while the observers say it is down, until released', async () => {
    const w = open();
    try {
      const primaryValue = w.answer();
      w.world.route53.observe(w.remote, 'unhealthy');
      w.world.route53.observe(w.inRegion, 'unhealthy');
      expect(w.answer()).not.toBe(primaryValue);
      w.world.route53.observe(w.remote, 'healthy');
      w.world.route53.observe(w.inRegion, 'healthy');

      const held = await dr(['hold']);
      expect(held).toMatchObject({ code: 0, err: '' });
      expect(held.out).toContain(`PRIMARY held: health check ${w.primaryCheck} disabled`);
      expect(held.out).toContain('Automatic failover is OFF');
      expect(w.world.route53.requireCheck(w.primaryCheck)).toMatchObject({ disabled: true, inverted: false });
      // A blip both observers see no longer moves the record.
      w.world.route53.observe(w.remote, 'unhealthy');
      w.world.route53.observe(w.inRegion, 'unhealthy');
      expect(w.answer()).toBe(primaryValue);

      // Idempotent.
      expect((await dr(['hold'])).out).toContain('already held');

      const released = await dr(['hold', '--release', '--json']);
      expect(released.code).toBe(0);
      expect(JSON.parse(released.out)).toEqual({
        ok: true,
        command: 'hold',
        healthCheckId: w.primaryCheck,
        held: false,
        changed: true,
        wasInverted: false,
      });
      // The observers decide again: the primary is down, so the record answers the replica.
      expect(w.answer()).not.toBe(primaryValue);
      expect((await dr(['hold', '--release'])).out).toContain('was not held');
    } finally {
      w.world.close();
    }
  });

  it('clears an inversion when holding (disabled and inverted, Route 53 would call it unhealthy), and says so', async () => {
    const w = open();
    try {
      const primaryValue = w.answer();
      w.world.route53.requireCheck(w.primaryCheck).inverted = true;
      const held = await dr(['hold']);
      expect(held.out).toContain('It was inverted');
      expect(w.world.route53.requireCheck(w.primaryCheck)).toMatchObject({ disabled: true, inverted: false });
      expect(w.answer()).toBe(primaryValue);
    } finally {
      w.world.close();
    }
  });

  it('retries when the check changed between its read and its update (HealthCheckVersionMismatch)', async () => {
    const w = open();
    try {
      let mismatches = 1;
      w.world.aws.inject('route53', 'UpdateHealthCheck', () =>
        mismatches-- > 0 ? 'HealthCheckVersionMismatch' : undefined,
      );
      expect((await dr(['hold'])).code).toBe(0);
      expect(w.world.aws.calls.filter((c) => c.operation === 'UpdateHealthCheck')).toHaveLength(2);
      expect(w.world.route53.requireCheck(w.primaryCheck).disabled).toBe(true);
    } finally {
      w.world.close();
    }
  });

  it('names what is missing, and refuses a malformed check id before any call', async () => {
    const w = open();
    try {
      const missing = await dr(['hold', '--stack', 'pg-dr-nothing-here']);
      expect(missing.code).not.toBe(0);
      const bad = await dr(['hold', '--health-check-id', 'not-a-uuid; rm -rf /']);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('--health-check-id must be a Route 53 health check id');
      expect(bad.err).not.toContain('rm -rf');
    } finally {
      w.world.close();
    }
  });
});
