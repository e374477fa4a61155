import { RECORD, testWorld } from '../support/world';

/**
 * How the deployed failover DNS decides, in the local world (health checks, children, thresholds and
 * InsufficientDataHealthStatus as the synthesized template sets them, Route 53 as the catalogue describes):
 * production moves to the read-only replica only when the observers of the primary agree.
 */
describe('failover DNS as deployed: the observers of the primary vote', () => {
  const open = () => {
    const world = testWorld();
    const local = world.ref('AWS::Route53::HealthCheck', 'FailoverDnsPrimaryDatabaseHealth');
    const remote = world.ref('AWS::Route53::HealthCheck', 'FailoverDnsPrimaryRemoteHealth');
    const primaryValue = world.route53.answer(RECORD)?.values[0];
    const failedOver = () => world.route53.answer(RECORD)?.values[0] !== primaryValue;
    return { world, local, remote, failedOver };
  };

  it.each([
    [
      'only the secondary region sees it down (the peering, or that region, is impaired)',
      false,
      'healthy',
      'unhealthy',
    ],
    ["only the primary's own region sees it down", false, 'unhealthy', 'healthy'],
    ['both see it down', true, 'unhealthy', 'unhealthy'],
    [
      "the primary's region is silent (its probe or CloudWatch gone) and the secondary sees it down",
      true,
      'insufficient-data',
      'unhealthy',
    ],
    ["the primary's region is silent, the secondary sees it up", false, 'insufficient-data', 'healthy'],
    [
      'the secondary observer is silent (keeps its last status: up) and the primary region sees it down',
      false,
      'unhealthy',
      'insufficient-data',
    ],
  ] as const)('%s: fails over: %s', (_what, expected, localSees, remoteSees) => {
    const v = open();
    try {
      v.world.route53.observe(v.local, localSees);
      v.world.route53.observe(v.remote, remoteSees);
      expect(v.failedOver()).toBe(expected);
    } finally {
      v.world.close();
    }
  });
});
