import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeDBParametersCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { databaseChecks, defaultDoctorIo, runDoctor } from '../../lib/cli/doctor-command';
import { runCli } from '../../lib/cli/program';
import { asPrincipal } from '../../lib/local-aws/world';
import { drNames } from '../../lib/names';
import { testConfig } from '../infra/test-config';
import { TEST_CONFIG, testWorld } from '../support/world';

const CONFIG = testConfig();
const folder = mkdtempSync(join(tmpdir(), 'dr-doctor-'));
const CDK_JSON = join(folder, 'cdk.json');
// The app's folder is elsewhere: its migrations folder is given whole (a relative one is the app's).
writeFileSync(
  CDK_JSON,
  JSON.stringify({
    context: {
      dr: {
        ...TEST_CONFIG,
        migrationsDirectory: join(__dirname, '..', '..', String(TEST_CONFIG.migrationsDirectory)),
      },
    },
  }),
);
afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

/**
 * An account as the deployed app leaves it when all is well: the local world seeded from the synthesized app,
 * with what only time would bring (probe datapoints, ReplicaLag, a replicated drill probe object, confirmed
 * subscriptions).
 */
async function healthyAccount() {
  const world = testWorld();
  const now = Date.now();
  for (const [role, region] of [
    ['primary', CONFIG.primaryRegion],
    ['replica', CONFIG.secondaryRegion],
    ['primary-remote', CONFIG.secondaryRegion],
  ] as const)
    for (let i = 1; i <= 3; i++)
      world.cloudwatch.put(
        region,
        'PostgresDR',
        'DatabaseReachable',
        { service: 'dr-health-probe', Database: role },
        now - i * 20_000,
        1,
      );
  world.cloudwatch.put(
    CONFIG.secondaryRegion,
    'AWS/RDS',
    'ReplicaLag',
    { DBInstanceIdentifier: CONFIG.database.replicaInstanceIdentifier },
    now - 60_000,
    2,
  );
  await asPrincipal(undefined, () =>
    world.aws.call(
      's3',
      'PutObject',
      {
        Bucket: `pg-dr-backups-${CONFIG.account}-${CONFIG.primaryRegion}`,
        Key: 'dr-drill/probe-1',
        Body: 'probe',
      },
      CONFIG.primaryRegion,
    ),
  );
  for (const topic of world.sns.topics.values()) for (const s of topic.subscriptions) s.confirmed = true;
  return world;
}

async function doctor(argv: string[] = []) {
  let out = '';
  let err = '';
  const code = await runCli(['doctor', '--config', CDK_JSON, ...argv], {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: {},
  });
  return { code, out, err };
}

describe('dr doctor: the read-only acceptance check of a deployed account', () => {
  it('passes an account where everything is as deployed, and changes nothing', async () => {
    const world = await healthyAccount();
    try {
      const before = world.aws.calls.length;
      const result = await doctor();
      expect(result.err).toBe('');
      expect(result.out).toContain('No problems.');
      expect(result.code).toBe(0);
      const made = world.aws.calls.slice(before);
      // Read-only: only Describe/Get/List/Head/Test calls.
      expect(made.filter((c) => !/^(Describe|Get|List|Head|Test)/.test(c.operation))).toEqual([]);
      for (const check of [
        'health check: PRIMARY record',
        'health check: primary, probed from the secondary',
        'hosted zone',
        'record answer',
        'primary: parameter group',
        'replica: parameters',
        'primary: RDS CA',
        'probe: primary-remote',
        'replica lag',
        'S3 replication',
        'drill schedule',
        'on-call subscriptions: us-west-2',
        'master secret replica',
      ])
        expect(result.out).toMatch(new RegExp(`^ok\\s+${check.replace(/[().]/g, '\\\\$&')}`, 'm'));
      // What GetHealthCheckStatus answers for an alarm-based check is shown, not relied on.
      expect(result.out).toMatch(/primary, probed in its region .*GetHealthCheckStatus: \d+ observation/);
    } finally {
      world.close();
    }
  });

  it('says a drill schedule a region failover paused is paused until the failback, not a problem', async () => {
    const world = await healthyAccount();
    try {
      const region = CONFIG.orchestrationRegion;
      const rule = drNames(CONFIG).drillSchedule;
      await world.aws.call('events', 'DisableRule', { Name: rule }, region);
      await world.aws.call(
        'events',
        'TagResource',
        {
          ResourceARN: `arn:aws:events:${region}:${world.account}:rule/${rule}`,
          Tags: [{ Key: 'pg-dr:drill-paused-by', Value: 'failover-20261130' }],
        },
        region,
      );
      const result = await doctor();
      expect(result.out).toMatch(
        /^warning\s+drill schedule\s+.*paused by region failover failover-20261130 until the failback/m,
      );
      expect(result.out).not.toMatch(/^problem\s+drill schedule/m);
    } finally {
      world.close();
    }
  });

  it('finds each problem a real account can have, says how to fix it, and exits 1', async () => {
    const world = await healthyAccount();
    try {
      const primaryCheck = world.ref('AWS::Route53::HealthCheck', 'FailoverDnsPrimaryRecordHealth');
      world.route53.requireCheck(primaryCheck).disabled = true;
      const zone = world.route53.zones.get(CONFIG.hostedZoneId);
      if (zone !== undefined) Object.assign(zone, { private: true });
      const replica = world.rds.instance(CONFIG.secondaryRegion, CONFIG.database.replicaInstanceIdentifier);
      if (replica !== undefined) replica.parameterApplyStatus = 'pending-reboot';
      const primary = world.rds.instance(CONFIG.primaryRegion, CONFIG.database.primaryInstanceIdentifier);
      if (primary !== undefined) primary.caCertificateIdentifier = 'rds-ca-2019';
      const secret = world.secrets.secret(CONFIG.database.secretName);
      if (secret !== undefined) secret.replicationStatus = { [CONFIG.secondaryRegion]: 'Failed' };
      for (const s of world.sns.topics.values()) for (const sub of s.subscriptions) sub.confirmed = false;

      const result = await doctor();
      expect(result.code).toBe(1);
      const lines = result.out.split('\n');
      const problem = (check: string) => lines.find((l) => l.startsWith('problem') && l.includes(check));
      expect(problem('health check: PRIMARY record')).toContain('held: dr hold');
      expect(problem('hosted zone')).toContain('supports public zones only');
      expect(problem('replica: parameter group')).toContain('pending-reboot');
      expect(problem('primary: RDS CA')).toContain('rds-ca-2019 has expired');
      expect(problem('master secret replica')).toContain('Failed');
      expect(problem('on-call subscriptions: us-east-1')).toContain('no confirmed subscription');
      expect(result.out).toContain('How to fix:');
      expect(result.out).toContain('dr hold --release once the blip is over');
      expect(result.out).toContain(`reboot ${CONFIG.database.replicaInstanceIdentifier}`);
    } finally {
      world.close();
    }
  });

  it('reports a blind observer, a stopped replica and an unreplicated probe object', async () => {
    const world = testWorld();
    try {
      const source = world.s3.buckets.get(`pg-dr-backups-${CONFIG.account}-${CONFIG.primaryRegion}`);
      if (source?.replication !== undefined) source.replication.fails = true;
      await asPrincipal(undefined, () =>
        world.aws.call(
          's3',
          'PutObject',
          {
            Bucket: `pg-dr-backups-${CONFIG.account}-${CONFIG.primaryRegion}`,
            Key: 'dr-drill/probe-2',
            Body: 'p',
          },
          CONFIG.primaryRegion,
        ),
      );
      const { checks } = { checks: await runDoctor(CONFIG, defaultDoctorIo()) };
      const by = (name: string) => checks.find((c) => c.check === name);
      expect(by('probe: primary-remote')).toMatchObject({
        status: 'problem',
        detail: expect.stringContaining('blind') as unknown,
      });
      expect(by('replica lag')).toMatchObject({
        status: 'problem',
        detail: expect.stringContaining('not replicating') as unknown,
      });
      expect(by('S3 replication')).toMatchObject({
        status: 'problem',
        detail: expect.stringContaining('FAILED') as unknown,
      });
    } finally {
      world.close();
    }
  });

  it('keeps going when one check is refused (AccessDenied), and prints JSON', async () => {
    const world = await healthyAccount();
    try {
      world.aws.inject('secretsmanager', 'DescribeSecret', () => 'AccessDeniedException');
      const result = await doctor(['--json']);
      expect(result.code).toBe(1);
      const parsed = JSON.parse(result.out) as {
        ok: boolean;
        checks: { check: string; status: string; detail: string }[];
      };
      expect(parsed.ok).toBe(false);
      expect(parsed.checks.find((c) => c.check === 'master secret replica')).toMatchObject({
        status: 'problem',
        detail: expect.stringContaining('could not check: AccessDeniedException') as unknown,
      });
      expect(parsed.checks.filter((c) => c.status === 'problem')).toHaveLength(1);
    } finally {
      world.close();
    }
  });

  it('reads every page of a parameter group (RDS returns at most 100 per page)', async () => {
    const rds = mockClient(RDSClient);
    try {
      rds
        .on(DescribeDBParametersCommand, { DBParameterGroupName: 'big' })
        .resolvesOnce({
          Parameters: Array.from({ length: 100 }, (_, i) => ({
            ParameterName: `p${i}`,
            ParameterValue: '1',
          })),
          Marker: 'page-2',
        })
        .resolves({
          Parameters: [
            { ParameterName: 'rds.force_ssl', ParameterValue: '1' },
            { ParameterName: 'rds.logical_replication', ParameterValue: '1' },
          ],
        });
      const client = new RDSClient({ region: 'us-west-2' });
      const checks = await databaseChecks({ rds: () => client }, 'primary', 'us-west-2', {
        DBInstanceIdentifier: 'pg-dr-primary',
        CACertificateIdentifier: 'rds-ca-rsa2048-g1',
        DBParameterGroups: [{ DBParameterGroupName: 'big', ParameterApplyStatus: 'in-sync' }],
      });
      expect(checks.find((c) => c.check === 'primary: parameters')?.status).toBe('ok');
      expect(rds.commandCalls(DescribeDBParametersCommand).map((c) => c.args[0].input.Marker)).toEqual([
        undefined,
        'page-2',
      ]);
    } finally {
      rds.restore();
    }
  });

  it('refuses a config it cannot read, before any AWS call', async () => {
    const missing = await runCli(['doctor', '--config', join(folder, 'nope.json')], {
      out: () => undefined,
      err: () => undefined,
      env: {},
    });
    expect(missing).toBe(2);
  });
});
