import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  Route53Client,
  TestDNSAnswerCommand,
} from '@aws-sdk/client-route-53';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { serviceEntry, type ServiceName } from '../../lib/local-aws/catalogue';
import { normalizedRecordName } from '../../lib/local-aws/catalogue/route53';
import {
  CloudFormationSimulator,
  CloudWatchSimulator,
  EventBridgeSimulator,
  SnsSimulator,
} from '../../lib/local-aws/control-plane';
import { RdsSimulator } from '../../lib/local-aws/rds';
import { Route53Simulator } from '../../lib/local-aws/route53';
import { S3Simulator } from '../../lib/local-aws/s3';
import { SecretsManagerSimulator } from '../../lib/local-aws/secrets-manager';
import { SsmSimulator } from '../../lib/local-aws/ssm';
import { StepFunctionsSimulator } from '../../lib/local-aws/step-functions';
import { asPrincipal, LocalAws, type Authorizer, type Simulator } from '../../lib/local-aws/world';
import { failure } from '../support/aws-failure';

const ACCOUNT = '111122223333';
const ZONE = 'Z0SIM000000001';
const PRIVATE_ZONE = 'Z0SIM000000002';

/** A settable clock, so time-dependent behaviour is asserted without waiting. */
function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

/** Grants exactly the listed actions (every resource): enough to see how each service answers a denial. */
const allowing = (...actions: string[]): Authorizer => ({
  principalArn: (p) => `arn:aws:sts::${ACCOUNT}:assumed-role/test-role/${p}`,
  allows: (_p, requirement) => Promise.resolve(actions.includes(requirement.action)),
});

const world = (simulators: Simulator[], authorizer?: Authorizer) =>
  new LocalAws({ account: ACCOUNT, simulators, ...(authorizer === undefined ? {} : { authorizer }) });

function route53World(c = clock()) {
  const r53 = new Route53Simulator({ switchDelayMs: 1000, insyncDelayMs: 500, now: c.now });
  r53.addZone(ZONE, 'example.org');
  r53.addZone(PRIVATE_ZONE, 'internal.example', { private: true });
  r53.addCheck({ id: 'db', type: 'CLOUDWATCH_METRIC', alarm: { name: 'db-down', region: 'us-west-2' } });
  r53.addCheck({ id: 'replica', type: 'CLOUDWATCH_METRIC' });
  r53.addCheck({ id: 'parent', type: 'CALCULATED', children: ['db'], healthThreshold: 1 });
  r53.addFailoverPair(
    ZONE,
    'db.example.org',
    10,
    { value: 'primary.aws', healthCheckId: 'parent' },
    {
      value: 'replica.aws',
      healthCheckId: 'replica',
    },
  );
  return { r53, c, aws: world([r53]) };
}

describe('simulated AWS: access denied, throttling and internal failures, in each service’s own form', () => {
  const services: [ServiceName, string, Record<string, unknown>, Simulator][] = [
    [
      'route53',
      'GetHealthCheck',
      { HealthCheckId: 'x' },
      new Route53Simulator({ switchDelayMs: 0, insyncDelayMs: 0 }),
    ],
    ['s3', 'HeadObject', { Bucket: 'b', Key: 'k' }, new S3Simulator()],
    ['secretsmanager', 'GetSecretValue', { SecretId: 's' }, new SecretsManagerSimulator(ACCOUNT)],
    ['ssm', 'GetParameter', { Name: '/p' }, new SsmSimulator()],
    [
      'states',
      'ListExecutions',
      { stateMachineArn: 'arn:aws:states:us-east-1:111122223333:stateMachine:x' },
      new StepFunctionsSimulator(),
    ],
    ['rds', 'DescribeDBInstances', { DBInstanceIdentifier: 'x' }, new RdsSimulator(ACCOUNT)],
    ['events', 'DescribeRule', { Name: 'r' }, new EventBridgeSimulator()],
    ['cloudformation', 'DescribeStacks', { StackName: 's' }, new CloudFormationSimulator()],
    [
      'cloudwatch',
      'GetMetricData',
      { MetricDataQueries: [], StartTime: new Date(0), EndTime: new Date(1) },
      new CloudWatchSimulator(),
    ],
    [
      'sns',
      'ListSubscriptionsByTopic',
      { TopicArn: 'arn:aws:sns:us-east-1:111122223333:t' },
      new SnsSimulator(),
    ],
  ];

  // Rows: [route53.access-denied] [s3.access-denied] [secretsmanager.access-denied] [states.access-denied]
  // [rds.access-denied] [events.access-denied] [cloudformation.access-denied] [cloudwatch.access-denied] [sns.access-denied]
  // [ssm.access-denied]
  it.each(services)('%s denies %s as that service does', async (service, operation, input, simulator) => {
    const aws = world([simulator], allowing());
    const denied = serviceEntry(service).accessDenied;
    const e = await failure(aws.call(service, operation, input, 'us-east-1', 'step-fn'));
    // A HEAD request has no body: the SDK sees a bare 403 (name Unknown).
    expect(e).toMatchObject(
      operation === 'HeadObject'
        ? { name: 'Unknown', status: 403, message: 'UnknownError' }
        : { name: denied.sdkName ?? denied.code, status: denied.status },
    );
    if (operation !== 'HeadObject')
      expect(e.message).toContain(
        `arn:aws:sts::${ACCOUNT}:assumed-role/test-role/step-fn is not authorized to perform`,
      );
  });

  // Rows: [route53.throttling] [s3.throttling] [secretsmanager.throttling] [states.throttling] [rds.throttling]
  // [events.throttling] [cloudformation.throttling] [cloudwatch.throttling] [route53.internal-failure]
  // [route53.service-unavailable] [secretsmanager.internal-failure] [secretsmanager.service-unavailable]
  // [states.internal-failure] [states.service-unavailable] [rds.internal-failure] [rds.service-unavailable]
  // [events.internal-failure] [events.service-unavailable] [cloudformation.internal-failure]
  // [cloudformation.service-unavailable] [cloudwatch.internal-failure] [cloudwatch.service-unavailable]
  // [sns.internal-failure] [sns.service-unavailable] [s3.internal-error] [ssm.throttling] [ssm.internal-failure]
  // [ssm.service-unavailable]
  it.each(services)(
    '%s can be made to throttle or fail internally, only with documented errors',
    async (service, operation, input, simulator) => {
      const aws = world([simulator]);
      const entry = serviceEntry(service);
      for (const e of [...(service === 'sns' ? [] : [entry.throttling]), ...(entry.common ?? [])]) {
        aws.inject(service, operation, () => e.code);
        expect(await failure(aws.call(service, operation, input, 'us-east-1'))).toMatchObject({
          status: e.status,
          ...(operation === 'HeadObject' ? {} : { name: e.sdkName ?? e.code }),
        });
      }
      // An error the catalogue does not document cannot be injected.
      aws.inject(service, operation, () => 'SomethingAwsNeverSays');
      await expect(aws.call(service, operation, input, 'us-east-1')).rejects.toThrow('no documented error');
    },
  );

  it('refuses an operation the catalogue does not list', async () => {
    const aws = world([new Route53Simulator({ switchDelayMs: 0, insyncDelayMs: 0 })]);
    await expect(aws.call('route53', 'DeleteHostedZone', {}, 'us-east-1')).rejects.toThrow(
      'not in the AWS behaviour catalogue',
    );
  });
});

describe('simulated Route 53', () => {
  it('[route53.TestDNSAnswer.record-data] [route53.failover.primary-while-healthy] answers the PRIMARY while healthy, through the real SDK client', async () => {
    const { aws } = route53World();
    const undo = aws.install();
    try {
      const answer = await new Route53Client({ region: 'us-east-1' }).send(
        new TestDNSAnswerCommand({ HostedZoneId: ZONE, RecordName: 'db.example.org', RecordType: 'CNAME' }),
      );
      expect(answer).toMatchObject({ RecordData: ['primary.aws.'], ResponseCode: 'NOERROR' });
    } finally {
      undo();
    }
  });

  it('[route53.TestDNSAnswer.public-only] [route53.TestDNSAnswer.invalid-input] refuses a private zone', async () => {
    const { aws } = route53World();
    expect(
      await failure(
        aws.call(
          'route53',
          'TestDNSAnswer',
          { HostedZoneId: PRIVATE_ZONE, RecordName: 'x', RecordType: 'A' },
          'us-east-1',
        ),
      ),
    ).toMatchObject({ name: 'InvalidInput', status: 400 });
  });

  it('[route53.TestDNSAnswer.no-such-hosted-zone] [route53.GetHostedZone.no-such-hosted-zone] [route53.ListResourceRecordSets.no-such-hosted-zone] [route53.ChangeResourceRecordSets.no-such-hosted-zone] answers NoSuchHostedZone (404) for an unknown zone', async () => {
    const { aws } = route53World();
    for (const [op, input] of [
      ['TestDNSAnswer', { HostedZoneId: 'Z0NONE', RecordName: 'x', RecordType: 'A' }],
      ['GetHostedZone', { Id: 'Z0NONE' }],
      ['ListResourceRecordSets', { HostedZoneId: 'Z0NONE' }],
      ['ChangeResourceRecordSets', { HostedZoneId: 'Z0NONE', ChangeBatch: { Changes: [] } }],
    ] as const)
      expect(await failure(aws.call('route53', op, input, 'us-east-1'))).toMatchObject({
        name: 'NoSuchHostedZone',
        status: 404,
      });
  });

  it('[route53.failover.switch-delay] [route53.health.inverted] fails over after the switching delay when the PRIMARY check is inverted', async () => {
    const { r53, aws, c } = route53World();
    await aws.call('route53', 'UpdateHealthCheck', { HealthCheckId: 'parent', Inverted: true }, 'us-east-1');
    expect(r53.answer('db.example.org')?.values).toEqual(['primary.aws']);
    c.t += 1000;
    expect(r53.answer('db.example.org')?.values).toEqual(['replica.aws']);
  });

  it('[route53.failover.both-unhealthy] answers the PRIMARY when the SECONDARY is unhealthy too', () => {
    const { r53, c } = route53World();
    r53.observe('db', 'unhealthy');
    r53.observe('replica', 'unhealthy');
    c.t += 5000;
    expect(r53.answer('db.example.org')?.values).toEqual(['primary.aws']);
  });

  it('[route53.health.disabled] treats a disabled check as healthy, and disabled plus inverted as unhealthy', async () => {
    const { r53, aws } = route53World();
    r53.observe('db', 'unhealthy');
    expect(r53.healthy('parent')).toBe(false);
    await aws.call('route53', 'UpdateHealthCheck', { HealthCheckId: 'parent', Disabled: true }, 'us-east-1');
    expect(r53.healthy('parent')).toBe(true);
    await aws.call('route53', 'UpdateHealthCheck', { HealthCheckId: 'parent', Inverted: true }, 'us-east-1');
    expect(r53.healthy('parent')).toBe(false);
  });

  it('[route53.health.calculated-threshold] counts healthy children against HealthThreshold (0: always healthy; above the count: never)', async () => {
    const { r53, aws } = route53World();
    r53.observe('db', 'unhealthy');
    expect(r53.healthy('parent')).toBe(false);
    await aws.call(
      'route53',
      'UpdateHealthCheck',
      { HealthCheckId: 'parent', HealthThreshold: 0 },
      'us-east-1',
    );
    expect(r53.healthy('parent')).toBe(true);
    r53.observe('db', 'healthy');
    await aws.call(
      'route53',
      'UpdateHealthCheck',
      { HealthCheckId: 'parent', HealthThreshold: 2 },
      'us-east-1',
    );
    expect(r53.healthy('parent')).toBe(false);
  });

  it('[route53.health.metric-insufficient-data] takes InsufficientDataHealthStatus when the data stops (LastKnownStatus: the last state, healthy if none)', () => {
    const { r53 } = route53World();
    r53.addCheck({ id: 'fresh', type: 'CLOUDWATCH_METRIC', observed: 'insufficient-data' });
    expect(r53.healthy('fresh')).toBe(true);
    r53.observe('db', 'unhealthy');
    r53.observe('db', 'insufficient-data');
    expect(r53.healthy('db')).toBe(false);
    r53.addCheck({
      id: 'strict',
      type: 'CLOUDWATCH_METRIC',
      insufficientDataHealthStatus: 'Unhealthy',
      observed: 'insufficient-data',
    });
    expect(r53.healthy('strict')).toBe(false);
  });

  it('[route53.GetHealthCheck.config] [route53.GetHealthCheck.no-such-health-check] describes a check, or answers NoSuchHealthCheck (404)', async () => {
    const { aws } = route53World();
    expect(
      await aws.call('route53', 'GetHealthCheck', { HealthCheckId: 'parent' }, 'us-east-1'),
    ).toMatchObject({
      HealthCheck: {
        HealthCheckVersion: 1,
        HealthCheckConfig: {
          Type: 'CALCULATED',
          Inverted: false,
          ChildHealthChecks: ['db'],
          HealthThreshold: 1,
        },
      },
    });
    expect(
      await failure(aws.call('route53', 'GetHealthCheck', { HealthCheckId: 'nope' }, 'us-east-1')),
    ).toMatchObject({
      name: 'NoSuchHealthCheck',
      status: 404,
    });
  });

  it('[route53.UpdateHealthCheck.version] [route53.UpdateHealthCheck.version-mismatch] [route53.UpdateHealthCheck.no-such-health-check] [route53.UpdateHealthCheck.invalid-input] updates conditionally on HealthCheckVersion (409 when stale)', async () => {
    const { aws } = route53World();
    const updated = (await aws.call(
      'route53',
      'UpdateHealthCheck',
      { HealthCheckId: 'parent', HealthCheckVersion: 1, Inverted: true },
      'us-east-1',
    )) as {
      HealthCheck: { HealthCheckVersion: number };
    };
    expect(updated.HealthCheck.HealthCheckVersion).toBe(2);
    expect(
      await failure(
        aws.call(
          'route53',
          'UpdateHealthCheck',
          { HealthCheckId: 'parent', HealthCheckVersion: 1, Inverted: false },
          'us-east-1',
        ),
      ),
    ).toMatchObject({ name: 'HealthCheckVersionMismatch', status: 409 });
    expect(
      await failure(aws.call('route53', 'UpdateHealthCheck', { HealthCheckId: 'nope' }, 'us-east-1')),
    ).toMatchObject({
      name: 'NoSuchHealthCheck',
    });
    expect(
      await failure(
        aws.call('route53', 'UpdateHealthCheck', { HealthCheckId: 'db', HealthThreshold: 1 }, 'us-east-1'),
      ),
    ).toMatchObject({ name: 'InvalidInput', status: 400 });
  });

  it('[route53.GetHealthCheckStatus.observations] [route53.GetHealthCheckStatus.no-calculated] [route53.GetHealthCheckStatus.invalid-input] [route53.GetHealthCheckStatus.no-such-health-check] reports per-checker observations, refuses CALCULATED checks', async () => {
    const { aws } = route53World();
    const status = (await aws.call(
      'route53',
      'GetHealthCheckStatus',
      { HealthCheckId: 'db' },
      'us-east-1',
    )) as {
      HealthCheckObservations: { Region: string; StatusReport: { Status: string } }[];
    };
    expect(status.HealthCheckObservations).toHaveLength(8);
    expect(status.HealthCheckObservations.map((o) => o.Region)).toContain('sa-east-1');
    expect(
      await failure(aws.call('route53', 'GetHealthCheckStatus', { HealthCheckId: 'parent' }, 'us-east-1')),
    ).toMatchObject({
      name: 'InvalidInput',
    });
    expect(
      await failure(aws.call('route53', 'GetHealthCheckStatus', { HealthCheckId: 'nope' }, 'us-east-1')),
    ).toMatchObject({
      name: 'NoSuchHealthCheck',
    });
  });

  it('[route53.ListResourceRecordSets.order] [route53.ListResourceRecordSets.invalid-input] lists by reversed labels then type, from a start name, and refuses a type without a name', async () => {
    const { r53, aws } = route53World();
    r53.addRecordSet(ZONE, {
      Name: 'a.example.org',
      Type: 'TXT',
      TTL: 60,
      ResourceRecords: [{ Value: '"x"' }],
    });
    r53.addRecordSet(ZONE, {
      Name: 'z.db.example.org',
      Type: 'A',
      TTL: 60,
      ResourceRecords: [{ Value: '192.0.2.1' }],
    });
    const listed = (await aws.call(
      'route53',
      'ListResourceRecordSets',
      { HostedZoneId: ZONE, StartRecordName: 'db.example.org' },
      'us-east-1',
    )) as {
      ResourceRecordSets: { Name: string; Type: string }[];
    };
    expect(listed.ResourceRecordSets.map((s) => s.Name)).toEqual([
      'db.example.org.',
      'db.example.org.',
      'z.db.example.org.',
    ]);
    const page = (await aws.call(
      'route53',
      'ListResourceRecordSets',
      { HostedZoneId: ZONE, MaxItems: '1' },
      'us-east-1',
    )) as {
      IsTruncated: boolean;
      NextRecordName: string;
    };
    expect(page).toMatchObject({ IsTruncated: true, NextRecordName: 'db.example.org.' });
    expect(
      await failure(
        aws.call(
          'route53',
          'ListResourceRecordSets',
          { HostedZoneId: ZONE, StartRecordType: 'A' },
          'us-east-1',
        ),
      ),
    ).toMatchObject({ name: 'InvalidInput' });
  });

  it('[route53.ChangeResourceRecordSets.transactional] [route53.ListResourceRecordSets.pending] [route53.GetChange.insync] applies a batch whole, PENDING then INSYNC, listed at once', async () => {
    const { aws, r53, c } = route53World();
    const undo = aws.install();
    try {
      const client = new Route53Client({ region: 'us-east-1' });
      const { ChangeInfo } = await client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: ZONE,
          ChangeBatch: {
            Changes: [
              {
                Action: 'UPSERT',
                ResourceRecordSet: {
                  Name: 'db.example.org',
                  Type: 'CNAME',
                  TTL: 10,
                  SetIdentifier: 'db.example.org-primary',
                  Failover: 'PRIMARY',
                  HealthCheckId: 'parent',
                  ResourceRecords: [{ Value: 'green.aws' }],
                },
              },
            ],
          },
        }),
      );
      expect(ChangeInfo?.Status).toBe('PENDING');
      expect(r53.recordSet('db.example.org', 'db.example.org-primary')?.ResourceRecords).toEqual([
        { Value: 'green.aws' },
      ]);
      expect((await client.send(new GetChangeCommand({ Id: ChangeInfo?.Id }))).ChangeInfo?.Status).toBe(
        'PENDING',
      );
      c.t += 500;
      expect((await client.send(new GetChangeCommand({ Id: ChangeInfo?.Id }))).ChangeInfo?.Status).toBe(
        'INSYNC',
      );
    } finally {
      undo();
    }
  });

  it('[route53.ChangeResourceRecordSets.invalid-change-batch] [route53.ChangeResourceRecordSets.no-such-health-check] [route53.ChangeResourceRecordSets.invalid-input] refuses a bad batch and changes nothing', async () => {
    const { aws, r53 } = route53World();
    const change = (Action: string, set: Record<string, unknown>) =>
      aws.call(
        'route53',
        'ChangeResourceRecordSets',
        { HostedZoneId: ZONE, ChangeBatch: { Changes: [{ Action, ResourceRecordSet: set }] } },
        'us-east-1',
      );
    const plain = { Name: 'db.example.org', Type: 'CNAME', TTL: 10, ResourceRecords: [{ Value: 'x.aws' }] };
    expect(await failure(change('UPSERT', plain))).toMatchObject({ name: 'InvalidChangeBatch', status: 400 });
    expect(
      await failure(
        change('CREATE', {
          ...plain,
          SetIdentifier: 'db.example.org-primary',
          Failover: 'PRIMARY',
          HealthCheckId: 'parent',
        }),
      ),
    ).toMatchObject({ name: 'InvalidChangeBatch' });
    expect(
      await failure(
        change('UPSERT', { ...plain, SetIdentifier: 's', Failover: 'PRIMARY', HealthCheckId: 'nope' }),
      ),
    ).toMatchObject({
      name: 'NoSuchHealthCheck',
    });
    expect(await failure(change('RENAME', { ...plain, Name: 'other.example.org' }))).toMatchObject({
      name: 'InvalidInput',
    });
    expect(r53.recordSet('db.example.org', 'db.example.org-primary')?.ResourceRecords).toEqual([
      { Value: 'primary.aws' },
    ]);
  });

  it('[route53.ChangeResourceRecordSets.condition-keys] puts normalized record names, types and actions in the IAM request context', () => {
    expect(normalizedRecordName('Db.Example.ORG.')).toBe('db.example.org');
    expect(normalizedRecordName('*.example.org')).toBe('\\052.example.org');
  });

  it('[route53.ChangeResourceRecordSets.prior-request] can answer PriorRequestNotComplete while an earlier change is processed', async () => {
    const { aws } = route53World();
    aws.inject('route53', 'ChangeResourceRecordSets', (_i, attempt) =>
      attempt === 1 ? 'PriorRequestNotComplete' : undefined,
    );
    const batch = {
      HostedZoneId: ZONE,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: 'x.example.org',
              Type: 'A',
              TTL: 1,
              ResourceRecords: [{ Value: '192.0.2.9' }],
            },
          },
        ],
      },
    };
    expect(await failure(aws.call('route53', 'ChangeResourceRecordSets', batch, 'us-east-1'))).toMatchObject({
      name: 'PriorRequestNotComplete',
      status: 400,
    });
    await expect(aws.call('route53', 'ChangeResourceRecordSets', batch, 'us-east-1')).resolves.toBeDefined();
  });

  it('[route53.GetChange.no-such-change] answers NoSuchChange (404) for an unknown change', async () => {
    const { aws } = route53World();
    expect(
      await failure(aws.call('route53', 'GetChange', { Id: '/change/C0NONE' }, 'us-east-1')),
    ).toMatchObject({
      name: 'NoSuchChange',
      status: 404,
    });
  });

  it('[route53.GetHostedZone.private-zone] says whether a zone is private', async () => {
    const { aws } = route53World();
    for (const [id, priv] of [
      [ZONE, false],
      [PRIVATE_ZONE, true],
    ] as const)
      expect(
        await aws.call('route53', 'GetHostedZone', { Id: id, HostedZoneId: id }, 'us-east-1'),
      ).toMatchObject({
        HostedZone: { Config: { PrivateZone: priv } },
      });
  });
});

describe('simulated S3', () => {
  function s3World(authorizer?: Authorizer, c = clock()) {
    const s3 = new S3Simulator({ now: c.now });
    s3.addBucket({
      name: 'src',
      region: 'us-west-2',
      kmsKeyArn: 'arn:aws:kms:us-west-2:111122223333:key/k',
      replication: { destination: 'dst', delayMs: 300 },
    });
    s3.addBucket({ name: 'dst', region: 'us-east-1' });
    return { s3, c, aws: world([s3], authorizer) };
  }

  it('[s3.PutObject.kms] needs kms:GenerateDataKey on the bucket key to put an object', async () => {
    const { aws } = s3World(allowing('s3:PutObject'));
    const e = await failure(
      aws.call('s3', 'PutObject', { Bucket: 'src', Key: 'k', Body: 'x' }, 'us-west-2', 'probe'),
    );
    expect(e).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(e.message).toContain('kms:GenerateDataKey');
    const ok = s3World(allowing('s3:PutObject', 'kms:GenerateDataKey'));
    await expect(
      ok.aws.call('s3', 'PutObject', { Bucket: 'src', Key: 'k', Body: 'x' }, 'us-west-2', 'probe'),
    ).resolves.toBeDefined();
  });

  it('[s3.PutObject.replication] [s3.HeadObject.replication-status] replicates after the delay: PENDING then COMPLETED at the source, REPLICA at the destination', async () => {
    const { aws, c } = s3World();
    await aws.call('s3', 'PutObject', { Bucket: 'src', Key: 'k', Body: 'x' }, 'us-west-2');
    expect(await aws.call('s3', 'HeadObject', { Bucket: 'src', Key: 'k' }, 'us-west-2')).toMatchObject({
      ReplicationStatus: 'PENDING',
    });
    c.t += 300;
    expect(await aws.call('s3', 'HeadObject', { Bucket: 'src', Key: 'k' }, 'us-west-2')).toMatchObject({
      ReplicationStatus: 'COMPLETED',
    });
    expect(await aws.call('s3', 'HeadObject', { Bucket: 'dst', Key: 'k' }, 'us-east-1')).toMatchObject({
      ReplicationStatus: 'REPLICA',
    });
  });

  it('[s3.HeadObject.missing-needs-list] [s3.HeadObject.not-found] answers a missing key 404 only to a caller that may list the bucket, 403 otherwise (through the real SDK client)', async () => {
    for (const [granted, expected] of [
      [['s3:GetObject', 's3:ListBucket'], { name: 'NotFound', status: 404 }],
      [['s3:GetObject'], { name: 'Unknown', status: 403 }],
    ] as const) {
      const { aws } = s3World(allowing(...granted));
      const undo = aws.install();
      try {
        const e = await failure(
          asPrincipal('probe', () =>
            new S3Client({ region: 'us-east-1' }).send(
              new HeadObjectCommand({ Bucket: 'dst', Key: 'missing' }),
            ),
          ),
        );
        expect(e).toMatchObject({ ...expected, message: 'UnknownError' });
      } finally {
        undo();
      }
    }
  });

  it('[s3.GetObject.missing-needs-list] [s3.GetObject.no-such-key] reads what was put, and answers a missing key NoSuchKey only to a caller that may list the bucket', async () => {
    const { aws } = s3World(allowing('s3:PutObject', 'kms:GenerateDataKey', 's3:GetObject', 's3:ListBucket'));
    await aws.call(
      's3',
      'PutObject',
      { Bucket: 'src', Key: 'm.json', Body: '{"a":1}' },
      'us-west-2',
      'probe',
    );
    expect(
      await aws.call('s3', 'GetObject', { Bucket: 'src', Key: 'm.json' }, 'us-west-2', 'probe'),
    ).toMatchObject({ Body: '{"a":1}', ContentLength: 7 });
    expect(
      await failure(aws.call('s3', 'GetObject', { Bucket: 'src', Key: 'missing' }, 'us-west-2', 'probe')),
    ).toMatchObject({ name: 'NoSuchKey', status: 404 });
    const { aws: noList } = s3World(allowing('s3:GetObject'));
    expect(
      await failure(noList.call('s3', 'GetObject', { Bucket: 'src', Key: 'missing' }, 'us-west-2', 'probe')),
    ).toMatchObject({ name: 'AccessDenied', status: 403 });
  });

  it('[s3.PutObject.wrong-region] [s3.HeadObject.wrong-region] [s3.GetObject.wrong-region] [s3.ListObjectsV2.wrong-region] redirects (301) a client in another region than the bucket', async () => {
    const { aws } = s3World();
    for (const [op, input] of [
      ['PutObject', { Bucket: 'src', Key: 'k', Body: 'x' }],
      ['HeadObject', { Bucket: 'src', Key: 'k' }],
      ['GetObject', { Bucket: 'src', Key: 'k' }],
      ['ListObjectsV2', { Bucket: 'src' }],
    ] as const)
      expect((await failure(aws.call('s3', op, input, 'us-east-1'))).status).toBe(301);
  });

  it('[s3.ListObjectsV2.order] [s3.ListObjectsV2.no-such-bucket] lists keys in order, by prefix and page', async () => {
    const { aws } = s3World();
    for (const k of ['dr-drill/b', 'dr-drill/a', 'other'])
      await aws.call('s3', 'PutObject', { Bucket: 'src', Key: k, Body: 'x' }, 'us-west-2');
    const page = (await aws.call(
      's3',
      'ListObjectsV2',
      { Bucket: 'src', Prefix: 'dr-drill/', MaxKeys: 1 },
      'us-west-2',
    )) as {
      Contents: { Key: string }[];
      IsTruncated: boolean;
    };
    expect(page).toMatchObject({ Contents: [{ Key: 'dr-drill/a' }], IsTruncated: true });
    expect(await failure(aws.call('s3', 'ListObjectsV2', { Bucket: 'none' }, 'us-west-2'))).toMatchObject({
      name: 'NoSuchBucket',
    });
  });
});

describe('simulated Secrets Manager', () => {
  function secretsWorld(authorizer?: Authorizer) {
    const sm = new SecretsManagerSimulator(ACCOUNT);
    sm.add({
      name: 'pg-dr/master',
      primaryRegion: 'us-west-2',
      kmsKeyArn: 'arn:aws:kms:us-west-2:111122223333:key/p',
      replicas: { 'us-east-1': 'arn:aws:kms:us-east-1:111122223333:key/s' },
      versions: { AWSCURRENT: '{"password":"current"}', AWSPENDING: '{"password":"next"}' },
    });
    sm.add({
      name: 'pg-dr/gone',
      primaryRegion: 'us-east-1',
      replicas: {},
      versions: { AWSCURRENT: '{}' },
      scheduledForDeletion: true,
    });
    return { sm, aws: world([sm], authorizer) };
  }

  it('[secretsmanager.DeleteSecret.replicas-first] [secretsmanager.RemoveRegionsFromReplication.removed] [secretsmanager.DeleteSecret.recovery-window] [secretsmanager.DeleteSecret.not-found] [secretsmanager.RemoveRegionsFromReplication.not-found] deletes a replicated secret only once its replicas are gone, then schedules it', async () => {
    const { sm, aws } = secretsWorld();
    expect(
      await failure(aws.call('secretsmanager', 'DeleteSecret', { SecretId: 'pg-dr/master' }, 'us-west-2')),
    ).toMatchObject({
      name: 'InvalidRequestException',
      status: 400,
    });
    await aws.call(
      'secretsmanager',
      'RemoveRegionsFromReplication',
      { SecretId: 'pg-dr/master', RemoveReplicaRegions: ['us-east-1'] },
      'us-west-2',
    );
    // The replica is gone at once: the secret is no longer found in its region.
    expect(
      await failure(aws.call('secretsmanager', 'DescribeSecret', { SecretId: 'pg-dr/master' }, 'us-east-1')),
    ).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await aws.call(
      'secretsmanager',
      'DeleteSecret',
      { SecretId: 'pg-dr/master', RecoveryWindowInDays: 30 },
      'us-west-2',
    );
    expect(sm.secret('pg-dr/master')?.scheduledForDeletion).toBe(true);
    const described = (await aws.call(
      'secretsmanager',
      'DescribeSecret',
      { SecretId: 'pg-dr/master' },
      'us-west-2',
    )) as {
      DeletedDate?: Date;
    };
    expect(described.DeletedDate).toBeInstanceOf(Date);
    expect(
      await failure(aws.call('secretsmanager', 'GetSecretValue', { SecretId: 'pg-dr/master' }, 'us-west-2')),
    ).toMatchObject({
      name: 'InvalidRequestException',
    });
    for (const operation of ['DeleteSecret', 'RemoveRegionsFromReplication'])
      expect(
        await failure(aws.call('secretsmanager', operation, { SecretId: 'pg-dr/none' }, 'us-west-2')),
      ).toMatchObject({
        name: 'ResourceNotFoundException',
      });
  });

  it('[secretsmanager.CreateSecret.permissions] [secretsmanager.CreateSecret.replicas] [secretsmanager.CreateSecret.exists] creates a secret with its replica, needing TagResource and ReplicateSecretToRegions, once', async () => {
    const asked: string[] = [];
    const { aws } = secretsWorld({
      principalArn: (p) => `arn:aws:sts::${ACCOUNT}:assumed-role/test-role/${p}`,
      allows: (_p, req) => {
        asked.push(`${req.action} ${req.resources.join(',')}`);
        return Promise.resolve(true);
      },
    });
    const input = {
      Name: 'pg-dr/pg-dr-green-1',
      KmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/s',
      SecretString: '{"password":"x"}',
      Tags: [{ Key: 'pg-dr:green-of', Value: 'blue' }],
      AddReplicaRegions: [{ Region: 'us-west-2', KmsKeyId: 'arn:aws:kms:us-west-2:111122223333:key/p' }],
    };
    await aws.call('secretsmanager', 'CreateSecret', input, 'us-east-1', 'step');
    expect(asked).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^secretsmanager:CreateSecret /),
        expect.stringMatching(/^secretsmanager:TagResource /),
        expect.stringMatching(/^secretsmanager:ReplicateSecretToRegions /),
        'kms:GenerateDataKey arn:aws:kms:us-east-1:111122223333:key/s',
        'kms:Encrypt arn:aws:kms:us-west-2:111122223333:key/p',
      ]),
    );
    // Readable by the same name in both regions, with its tags.
    for (const region of ['us-east-1', 'us-west-2'])
      expect(
        await aws.call('secretsmanager', 'GetSecretValue', { SecretId: 'pg-dr/pg-dr-green-1' }, region),
      ).toMatchObject({ SecretString: '{"password":"x"}' });
    expect(
      await aws.call('secretsmanager', 'DescribeSecret', { SecretId: 'pg-dr/pg-dr-green-1' }, 'us-east-1'),
    ).toMatchObject({ Tags: [{ Key: 'pg-dr:green-of', Value: 'blue' }] });
    expect(await failure(aws.call('secretsmanager', 'CreateSecret', input, 'us-east-1'))).toMatchObject({
      name: 'ResourceExistsException',
      status: 400,
    });
  });

  it('[secretsmanager.PutSecretValue.current] [secretsmanager.PutSecretValue.not-found] makes the new value current, read the same in the replica region', async () => {
    const { aws } = secretsWorld();
    await aws.call(
      'secretsmanager',
      'PutSecretValue',
      { SecretId: 'pg-dr/master', SecretString: '{"password":"rotated"}' },
      'us-west-2',
    );
    for (const region of ['us-west-2', 'us-east-1'])
      expect(
        await aws.call('secretsmanager', 'GetSecretValue', { SecretId: 'pg-dr/master' }, region),
      ).toMatchObject({ SecretString: '{"password":"rotated"}' });
    expect(
      await failure(
        aws.call('secretsmanager', 'PutSecretValue', { SecretId: 'nope', SecretString: '{}' }, 'us-west-2'),
      ),
    ).toMatchObject({ name: 'ResourceNotFoundException', status: 400 });
  });

  it('[secretsmanager.PutSecretValue.previous] keeps the value it replaces as AWSPREVIOUS', async () => {
    const { aws } = secretsWorld();
    const before = (await aws.call(
      'secretsmanager',
      'GetSecretValue',
      { SecretId: 'pg-dr/master' },
      'us-west-2',
    )) as {
      SecretString: string;
    };
    await aws.call(
      'secretsmanager',
      'PutSecretValue',
      { SecretId: 'pg-dr/master', SecretString: '{"password":"rotated"}' },
      'us-east-1',
    );
    expect(
      await aws.call(
        'secretsmanager',
        'GetSecretValue',
        { SecretId: 'pg-dr/master', VersionStage: 'AWSPREVIOUS' },
        'us-west-2',
      ),
    ).toMatchObject({ SecretString: before.SecretString, VersionStages: ['AWSPREVIOUS'] });
  });

  it('[secretsmanager.GetRandomPassword.exclude] makes a password of the length asked, without the excluded characters', async () => {
    const { aws } = secretsWorld();
    const answer = (await aws.call(
      'secretsmanager',
      'GetRandomPassword',
      { PasswordLength: 200, ExcludeCharacters: '/\'"@ \\' },
      'us-east-1',
    )) as { RandomPassword: string };
    expect(answer.RandomPassword).toHaveLength(200);
    expect(answer.RandomPassword).not.toMatch(/[/'"@ \\]/);
  });

  it('[secretsmanager.GetSecretValue.current] returns AWSCURRENT unless asked for another stage (through the real SDK client)', async () => {
    const { aws } = secretsWorld();
    const undo = aws.install();
    try {
      const client = new SecretsManagerClient({ region: 'us-west-2' });
      expect((await client.send(new GetSecretValueCommand({ SecretId: 'pg-dr/master' }))).SecretString).toBe(
        '{"password":"current"}',
      );
      expect(
        (
          await client.send(
            new GetSecretValueCommand({ SecretId: 'pg-dr/master', VersionStage: 'AWSPENDING' }),
          )
        ).SecretString,
      ).toBe('{"password":"next"}');
    } finally {
      undo();
    }
  });

  it('[secretsmanager.GetSecretValue.replica] reads the replica in its region by the same name and suffix', async () => {
    const { aws, sm } = secretsWorld();
    const east = (await aws.call(
      'secretsmanager',
      'GetSecretValue',
      { SecretId: 'pg-dr/master' },
      'us-east-1',
    )) as { ARN: string };
    expect(east.ARN).toBe(sm.arnIn('pg-dr/master', 'us-east-1'));
    expect(east.ARN.split(':secret:')[1]).toBe(sm.arnIn('pg-dr/master', 'us-west-2').split(':secret:')[1]);
    expect(
      await failure(aws.call('secretsmanager', 'GetSecretValue', { SecretId: 'pg-dr/master' }, 'eu-west-1')),
    ).toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('[secretsmanager.GetSecretValue.kms] needs kms:Decrypt on the key of the region read from', async () => {
    const { aws } = secretsWorld(allowing('secretsmanager:GetSecretValue'));
    const e = await failure(
      aws.call('secretsmanager', 'GetSecretValue', { SecretId: 'pg-dr/master' }, 'us-east-1', 'step'),
    );
    expect(e).toMatchObject({ name: 'AccessDeniedException', status: 400 });
    expect(e.message).toContain('kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/s');
  });

  it('[secretsmanager.GetSecretValue.not-found] [secretsmanager.GetSecretValue.scheduled-deletion] [secretsmanager.GetSecretValue.decryption] [secretsmanager.DescribeSecret.not-found] answers missing, deleted and undecryptable secrets as documented', async () => {
    const { aws } = secretsWorld();
    expect(
      await failure(aws.call('secretsmanager', 'GetSecretValue', { SecretId: 'nope' }, 'us-east-1')),
    ).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 400,
    });
    expect(
      await failure(aws.call('secretsmanager', 'DescribeSecret', { SecretId: 'nope' }, 'us-east-1')),
    ).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(
      await failure(aws.call('secretsmanager', 'GetSecretValue', { SecretId: 'pg-dr/gone' }, 'us-east-1')),
    ).toMatchObject({
      name: 'InvalidRequestException',
    });
    aws.inject('secretsmanager', 'GetSecretValue', () => 'DecryptionFailure');
    expect(
      await failure(aws.call('secretsmanager', 'GetSecretValue', { SecretId: 'pg-dr/master' }, 'us-east-1')),
    ).toMatchObject({
      name: 'DecryptionFailure',
    });
  });

  it('[secretsmanager.DescribeSecret.replication] reports each replica region with its status, and no RotationEnabled when never set', async () => {
    const { aws } = secretsWorld();
    const described = (await aws.call(
      'secretsmanager',
      'DescribeSecret',
      { SecretId: 'pg-dr/master' },
      'us-west-2',
    )) as Record<string, unknown>;
    expect(described).toMatchObject({ ReplicationStatus: [{ Region: 'us-east-1', Status: 'InSync' }] });
    expect(described).not.toHaveProperty('RotationEnabled');
  });
});

describe('simulated Parameter Store', () => {
  it('[ssm.GetParameter.latest] [ssm.GetParameter.not-found] [ssm.PutParameter.overwrite] [ssm.PutParameter.already-exists] creates, refuses to overwrite unless asked, reads the latest, per region (through the real SDK client)', async () => {
    const ssm = new SsmSimulator();
    const aws = world([ssm]);
    const undo = aws.install();
    try {
      const east = new SSMClient({ region: 'us-east-1' });
      const west = new SSMClient({ region: 'us-west-2' });
      const put = (value: string, overwrite?: boolean) =>
        east.send(
          new PutParameterCommand({
            Name: '/pg-dr/topology/primary-record',
            Value: value,
            Type: 'String',
            ...(overwrite === undefined ? {} : { Overwrite: overwrite }),
          }),
        );
      expect(
        await failure(east.send(new GetParameterCommand({ Name: '/pg-dr/topology/primary-record' }))),
      ).toMatchObject({
        name: 'ParameterNotFound',
        status: 400,
      });
      expect((await put('blue.example')).Version).toBe(1);
      expect(await failure(put('green.example'))).toMatchObject({
        name: 'ParameterAlreadyExists',
        status: 400,
      });
      expect((await put('green.example', true)).Version).toBe(2);
      expect(
        (await east.send(new GetParameterCommand({ Name: '/pg-dr/topology/primary-record' }))).Parameter,
      ).toMatchObject({ Value: 'green.example', Version: 2 });
      expect(
        await failure(west.send(new GetParameterCommand({ Name: '/pg-dr/topology/primary-record' }))),
      ).toMatchObject({
        name: 'ParameterNotFound',
      });
      expect(ssm.value('us-east-1', '/pg-dr/topology/primary-record')).toBe('green.example');
    } finally {
      undo();
    }
  });
});

describe('simulated Step Functions', () => {
  const ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:wf';
  function sfnWorld(c = clock()) {
    const sfn = new StepFunctionsSimulator({ now: c.now });
    sfn.addStateMachine(ARN, new Date(5));
    return { sfn, c, aws: world([sfn]) };
  }

  it('[states.ListExecutions.newest-first] [states.ListExecutions.no-state-machine] lists executions newest first, by status', async () => {
    const { sfn, aws, c } = sfnWorld();
    const first = sfn.begin(ARN, 'first', {});
    c.t += 10;
    sfn.begin(ARN, 'second', {});
    sfn.finish(first, 'FAILED', { error: 'E' });
    const all = (await aws.call('states', 'ListExecutions', { stateMachineArn: ARN }, 'us-east-1')) as {
      executions: { name: string }[];
    };
    expect(all.executions.map((e) => e.name)).toEqual(['second', 'first']);
    const running = (await aws.call(
      'states',
      'ListExecutions',
      { stateMachineArn: ARN, statusFilter: 'RUNNING' },
      'us-east-1',
    )) as {
      executions: { name: string }[];
    };
    expect(running.executions.map((e) => e.name)).toEqual(['second']);
    expect(
      await failure(aws.call('states', 'ListExecutions', { stateMachineArn: `${ARN}-x` }, 'us-east-1')),
    ).toMatchObject({
      name: 'StateMachineDoesNotExist',
    });
  });

  it('[states.DescribeExecution.fields] [states.DescribeExecution.no-execution] describes input, output only on success, error and cause', async () => {
    const { sfn, aws } = sfnWorld();
    const ok = sfn.begin(ARN, 'ok', { a: 1 });
    sfn.finish(ok, 'SUCCEEDED', { output: { done: true } });
    const bad = sfn.begin(ARN, 'bad', {});
    sfn.finish(bad, 'TIMED_OUT', { error: 'States.Timeout', cause: 'late' });
    expect(
      await aws.call('states', 'DescribeExecution', { executionArn: ok.executionArn }, 'us-east-1'),
    ).toMatchObject({
      status: 'SUCCEEDED',
      input: '{"a":1}',
      output: '{"done":true}',
    });
    const described = (await aws.call(
      'states',
      'DescribeExecution',
      { executionArn: bad.executionArn },
      'us-east-1',
    )) as Record<string, unknown>;
    expect(described).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout', cause: 'late' });
    expect(described).not.toHaveProperty('output');
    expect(
      await failure(
        aws.call('states', 'DescribeExecution', { executionArn: `${ok.executionArn}x` }, 'us-east-1'),
      ),
    ).toMatchObject({
      name: 'ExecutionDoesNotExist',
    });
  });

  it('[states.GetExecutionHistory.events] [states.GetExecutionHistory.no-execution] records task states as AWS does, chained by previousEventId', async () => {
    const { sfn, aws } = sfnWorld();
    const e = sfn.begin(ARN, 'run', {});
    const chains = new Map<string, number>();
    sfn.record(
      e,
      {
        type: 'StateEntered',
        timestamp: 0,
        state: { name: 'Invert', type: 'Task', input: {} },
        resource: 'arn:aws:lambda:us-east-1:111122223333:function:invert',
      },
      chains,
    );
    sfn.record(
      e,
      {
        type: 'StateExited',
        timestamp: 0,
        state: { name: 'Invert', type: 'Task', output: { ok: 1 } },
        resource: 'arn:aws:lambda:us-east-1:111122223333:function:invert',
      },
      chains,
    );
    // A service integration (SNS publish) records Task* events.
    sfn.record(
      e,
      {
        type: 'StateEntered',
        timestamp: 0,
        state: { name: 'Notify', type: 'Task', input: {} },
        resource: 'arn:aws:states:::sns:publish',
      },
      chains,
    );
    sfn.record(
      e,
      {
        type: 'StateFailed',
        timestamp: 0,
        state: { name: 'Notify', type: 'Task' },
        resource: 'arn:aws:states:::sns:publish',
        Error: 'SNS.AuthorizationErrorException',
        Cause: 'not authorized',
      },
      chains,
    );
    sfn.finish(e, 'ABORTED');
    const { events } = (await aws.call(
      'states',
      'GetExecutionHistory',
      { executionArn: e.executionArn, includeExecutionData: false },
      'us-east-1',
    )) as {
      events: {
        id: number;
        previousEventId: number;
        type: string;
        stateEnteredEventDetails?: { name: string; input?: string };
      }[];
    };
    expect(events.map((x) => x.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskFailed',
      'ExecutionAborted',
    ]);
    expect(events[1]?.stateEnteredEventDetails).toEqual({ name: 'Invert' });
    expect(events[2]?.previousEventId).toBe(events[1]?.id);
    expect(
      await failure(aws.call('states', 'GetExecutionHistory', { executionArn: 'arn:none' }, 'us-east-1')),
    ).toMatchObject({
      name: 'ExecutionDoesNotExist',
    });
  });

  it('[states.GetExecutionHistory.lambda-keeps-running] a stopped execution leaves a running task to finish on its own', async () => {
    const { sfn, aws } = sfnWorld();
    const e = sfn.begin(ARN, 'run', {});
    let finished = false;
    const task = new Promise<void>((resolve) =>
      setTimeout(() => {
        finished = true;
        resolve();
      }, 20),
    );
    await aws.call('states', 'StopExecution', { executionArn: e.executionArn }, 'us-east-1');
    expect(e.status).toBe('ABORTED');
    await task;
    expect(finished).toBe(true);
  });

  it('[states.StartExecution.idempotent] [states.StartExecution.already-exists] [states.StartExecution.invalid-name] [states.StartExecution.no-state-machine] [states.StopExecution.no-execution] starts executions under name rules and idempotency', async () => {
    const { aws, sfn } = sfnWorld();
    const started = (await aws.call(
      'states',
      'StartExecution',
      { stateMachineArn: ARN, name: 'manual-1', input: '{"a":1}' },
      'us-east-1',
    )) as {
      executionArn: string;
    };
    expect(
      await aws.call(
        'states',
        'StartExecution',
        { stateMachineArn: ARN, name: 'manual-1', input: '{"a":1}' },
        'us-east-1',
      ),
    ).toMatchObject({
      executionArn: started.executionArn,
    });
    expect(
      await failure(
        aws.call(
          'states',
          'StartExecution',
          { stateMachineArn: ARN, name: 'manual-1', input: '{"a":2}' },
          'us-east-1',
        ),
      ),
    ).toMatchObject({ name: 'ExecutionAlreadyExists', status: 400 });
    const running = sfn.executions.get(started.executionArn);
    if (running !== undefined) sfn.finish(running, 'SUCCEEDED');
    expect(
      await failure(
        aws.call(
          'states',
          'StartExecution',
          { stateMachineArn: ARN, name: 'manual-1', input: '{"a":1}' },
          'us-east-1',
        ),
      ),
    ).toMatchObject({ name: 'ExecutionAlreadyExists' });
    expect(
      await failure(
        aws.call('states', 'StartExecution', { stateMachineArn: ARN, name: 'has space' }, 'us-east-1'),
      ),
    ).toMatchObject({
      name: 'InvalidName',
    });
    expect(
      await failure(aws.call('states', 'StartExecution', { stateMachineArn: `${ARN}x` }, 'us-east-1')),
    ).toMatchObject({
      name: 'StateMachineDoesNotExist',
    });
    expect(
      await failure(aws.call('states', 'StopExecution', { executionArn: 'arn:none' }, 'us-east-1')),
    ).toMatchObject({
      name: 'ExecutionDoesNotExist',
    });
  });

  it('[states.DescribeStateMachine.creation] [states.DescribeStateMachine.no-state-machine] reports the creation date', async () => {
    const { aws } = sfnWorld();
    expect(
      await aws.call('states', 'DescribeStateMachine', { stateMachineArn: ARN }, 'us-east-1'),
    ).toMatchObject({
      creationDate: new Date(5),
    });
    expect(
      await failure(aws.call('states', 'DescribeStateMachine', { stateMachineArn: `${ARN}x` }, 'us-east-1')),
    ).toMatchObject({
      name: 'StateMachineDoesNotExist',
    });
  });
});

describe('simulated RDS', () => {
  function rdsWorld(c = clock()) {
    const rds = new RdsSimulator(ACCOUNT, { createMs: 1000, modifyMs: 100, rebootMs: 100 }, { now: c.now });
    rds.addInstance({ id: 'green', region: 'us-west-2', parameterGroup: 'dr-params' });
    rds.addInstance({ id: 'nobackup', region: 'us-west-2', backupRetentionPeriod: 0 });
    rds.addParameterGroup({
      name: 'dr-params',
      region: 'us-east-1',
      family: 'postgres17',
      parameters: Object.fromEntries(
        Array.from({ length: 130 }, (_, i) => [
          `p${String(i).padStart(3, '0')}`,
          { value: '1', applyType: 'dynamic', source: 'engine-default' },
        ]),
      ),
    });
    return { rds, c, aws: world([rds]) };
  }
  const replicaOf = (source: string, extra: Record<string, unknown> = {}) => ({
    DBInstanceIdentifier: 'green-dr',
    SourceDBInstanceIdentifier: `arn:aws:rds:us-west-2:${ACCOUNT}:db:${source}`,
    KmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/s',
    ...extra,
  });

  it('[rds.PromoteReadReplica.standalone] [rds.PromoteReadReplica.backups] [rds.PromoteReadReplica.not-found] [rds.PromoteReadReplica.invalid-state] promotes a replica to a standalone writer, once', async () => {
    const { aws, c } = rdsWorld();
    const promoted: string[] = [];
    const withHook = new RdsSimulator(
      ACCOUNT,
      { createMs: 0, modifyMs: 100, rebootMs: 0, promoteMs: 500 },
      {
        now: c.now,
        onPromote: (region, id) => {
          promoted.push(`${region}/${id}`);
        },
      },
    );
    withHook.addInstance({ id: 'green', region: 'us-west-2' });
    withHook.addInstance({
      id: 'green-dr',
      region: 'us-east-1',
      source: `arn:aws:rds:us-west-2:${ACCOUNT}:db:green`,
      backupRetentionPeriod: 0,
    });
    const hooked = world([withHook]);
    const answer = (await hooked.call(
      'rds',
      'PromoteReadReplica',
      { DBInstanceIdentifier: 'green-dr', BackupRetentionPeriod: 7 },
      'us-east-1',
    )) as { DBInstance: { DBInstanceStatus: string; ReadReplicaSourceDBInstanceIdentifier?: string } };
    expect(answer.DBInstance.DBInstanceStatus).toBe('modifying');
    expect(answer.DBInstance.ReadReplicaSourceDBInstanceIdentifier).toBeUndefined();
    expect(promoted).toEqual(['us-east-1/green-dr']);
    // Busy while it promotes, then a standalone writer that keeps backups; the old source is untouched.
    expect(
      await failure(
        hooked.call('rds', 'PromoteReadReplica', { DBInstanceIdentifier: 'green-dr' }, 'us-east-1'),
      ),
    ).toMatchObject({ name: 'InvalidDBInstanceStateFault', status: 400 });
    c.t += 500;
    expect(withHook.instance('us-east-1', 'green-dr')).toMatchObject({
      status: 'available',
      backupRetentionPeriod: 7,
    });
    expect(withHook.instance('us-west-2', 'green')).toMatchObject({ status: 'available' });
    // Not a replica (any more), or not there at all.
    expect(
      await failure(
        hooked.call('rds', 'PromoteReadReplica', { DBInstanceIdentifier: 'green-dr' }, 'us-east-1'),
      ),
    ).toMatchObject({ name: 'InvalidDBInstanceStateFault' });
    expect(
      await failure(aws.call('rds', 'PromoteReadReplica', { DBInstanceIdentifier: 'nope' }, 'us-east-1')),
    ).toMatchObject({ name: 'DBInstanceNotFoundFault', status: 404 });
  });

  it('[rds.CreateDBInstanceReadReplica.no-parameter-group] [rds.CreateDBInstanceReadReplica.parameter-combination] refuses a parameter group for a cross-region PostgreSQL replica', async () => {
    const { aws } = rdsWorld();
    const e = await failure(
      aws.call(
        'rds',
        'CreateDBInstanceReadReplica',
        replicaOf('green', { DBParameterGroupName: 'dr-params' }),
        'us-east-1',
      ),
    );
    expect(e).toMatchObject({ name: 'InvalidParameterCombination', status: 400 });
    expect(e.message).toContain(
      "A parameter group can't be specified during Read Replica creation for the following DB engine: postgres",
    );
  });

  it('[rds.CreateDBInstanceReadReplica.kms] needs KmsKeyId across regions, refuses it in the same region', async () => {
    const { aws } = rdsWorld();
    expect(
      await failure(
        aws.call(
          'rds',
          'CreateDBInstanceReadReplica',
          replicaOf('green', { KmsKeyId: undefined }),
          'us-east-1',
        ),
      ),
    ).toMatchObject({
      name: 'InvalidParameterCombination',
    });
    expect(
      await failure(aws.call('rds', 'CreateDBInstanceReadReplica', replicaOf('green'), 'us-west-2')),
    ).toMatchObject({
      name: 'InvalidParameterCombination',
    });
  });

  const greenRequest = (extra: Record<string, unknown> = {}) => ({
    DBInstanceIdentifier: 'pg-dr-green-1',
    Engine: 'postgres',
    EngineVersion: '17.4',
    DBInstanceClass: 'db.r6g.large',
    MasterUsername: 'postgres',
    MasterUserPassword: 'pw-1234567890',
    DBName: 'app',
    DBParameterGroupName: 'dr-params',
    DBSubnetGroupName: 'subnets',
    StorageEncrypted: true,
    KmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/d',
    Tags: [{ Key: 'pg-dr:provisioned-by', Value: 'pg-dr' }],
    ...extra,
  });

  it('[rds.CreateDBInstance.creating] [rds.CreateDBInstance.kms] creates an encrypted instance that is creating, without an endpoint, until its time has run', async () => {
    const { c, rds } = rdsWorld();
    const created: string[] = [];
    const hooked = new RdsSimulator(
      ACCOUNT,
      { createMs: 1000, modifyMs: 0, rebootMs: 0 },
      {
        now: c.now,
        onCreateInstance: (instance, master) => {
          created.push(`${instance.id} ${master.username}@${master.database}`);
        },
      },
    );
    for (const group of rds.parameterGroups.values()) hooked.addParameterGroup(group);
    const answer = (await world([hooked]).call('rds', 'CreateDBInstance', greenRequest(), 'us-east-1')) as {
      DBInstance: {
        DBInstanceStatus: string;
        Endpoint?: unknown;
        StorageEncrypted: boolean;
        KmsKeyId: string;
      };
    };
    expect(answer.DBInstance).toMatchObject({ DBInstanceStatus: 'creating', StorageEncrypted: true });
    expect(answer.DBInstance.Endpoint).toBeUndefined();
    expect(created).toEqual(['pg-dr-green-1 postgres@app']);
    c.t += 1000;
    const described = (await world([hooked]).call(
      'rds',
      'DescribeDBInstances',
      { DBInstanceIdentifier: 'pg-dr-green-1' },
      'us-east-1',
    )) as {
      DBInstances: {
        DBInstanceStatus: string;
        KmsKeyId: string;
        DBInstanceClass: string;
        TagList: unknown;
      }[];
    };
    expect(described.DBInstances[0]).toMatchObject({
      DBInstanceStatus: 'available',
      KmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/d',
      DBInstanceClass: 'db.r6g.large',
      TagList: [{ Key: 'pg-dr:provisioned-by', Value: 'pg-dr' }],
    });
  });

  it('[rds.CreateDBInstance.already-exists] [rds.CreateDBInstance.parameter-group-not-found] refuses an existing identifier and an unknown parameter group', async () => {
    const { aws } = rdsWorld();
    await aws.call('rds', 'CreateDBInstance', greenRequest(), 'us-east-1');
    expect(await failure(aws.call('rds', 'CreateDBInstance', greenRequest(), 'us-east-1'))).toMatchObject({
      name: 'DBInstanceAlreadyExistsFault',
      status: 400,
    });
    expect(
      await failure(
        aws.call(
          'rds',
          'CreateDBInstance',
          greenRequest({ DBInstanceIdentifier: 'pg-dr-green-2', DBParameterGroupName: 'nope' }),
          'us-east-1',
        ),
      ),
    ).toMatchObject({ name: 'DBParameterGroupNotFoundFault', status: 404 });
  });

  it('[rds.CreateDBInstance.tags] authorizes tags as AddTagsToResource, with the request tags in the context', async () => {
    const { rds } = rdsWorld();
    const seen: { action: string; context?: unknown }[] = [];
    const aws = world([rds], {
      principalArn: () => 'arn:aws:sts::111122223333:assumed-role/r/f',
      allows: (_p, req) => {
        seen.push({ action: req.action, context: req.context });
        return Promise.resolve(req.action !== 'rds:AddTagsToResource');
      },
    });
    const e = await failure(aws.call('rds', 'CreateDBInstance', greenRequest(), 'us-east-1', 'step'));
    expect(e).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(e.message).toContain('rds:AddTagsToResource');
    expect(seen.find((r) => r.action === 'rds:CreateDBInstance')?.context).toEqual({
      'aws:RequestTag/pg-dr:provisioned-by': 'pg-dr',
      'aws:TagKeys': ['pg-dr:provisioned-by'],
    });
  });

  it('[rds.CreateDBInstanceReadReplica.both-arns] authorizes against the replica and the source instance', async () => {
    const { rds } = rdsWorld();
    const aws = world([rds], {
      principalArn: () => 'arn:aws:sts::111122223333:assumed-role/r/f',
      allows: (_p, req) =>
        Promise.resolve(!req.resources.includes(`arn:aws:rds:us-west-2:${ACCOUNT}:db:green`)),
    });
    const e = await failure(
      aws.call('rds', 'CreateDBInstanceReadReplica', replicaOf('green'), 'us-east-1', 'step'),
    );
    expect(e).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(e.message).toContain(
      `rds:CreateDBInstanceReadReplica on resource: arn:aws:rds:us-west-2:${ACCOUNT}:db:green`,
    );
  });

  it('[rds.CreateDBInstanceReadReplica.backups] [rds.CreateDBInstanceReadReplica.invalid-state] [rds.CreateDBInstanceReadReplica.not-found] [rds.CreateDBInstanceReadReplica.already-exists] [rds.CreateDBInstanceReadReplica.kms-not-accessible] refuses a source without backups, a missing one, an existing replica', async () => {
    const { aws } = rdsWorld();
    expect(
      await failure(aws.call('rds', 'CreateDBInstanceReadReplica', replicaOf('nobackup'), 'us-east-1')),
    ).toMatchObject({
      name: 'InvalidDBInstanceStateFault',
    });
    expect(
      await failure(aws.call('rds', 'CreateDBInstanceReadReplica', replicaOf('none'), 'us-east-1')),
    ).toMatchObject({
      name: 'DBInstanceNotFoundFault',
      status: 404,
    });
    await aws.call('rds', 'CreateDBInstanceReadReplica', replicaOf('green'), 'us-east-1');
    expect(
      await failure(aws.call('rds', 'CreateDBInstanceReadReplica', replicaOf('green'), 'us-east-1')),
    ).toMatchObject({
      name: 'DBInstanceAlreadyExistsFault',
    });
    // A disabled key in the replica region answers so (injected: the simulator keeps no key states).
    aws.inject('rds', 'CreateDBInstanceReadReplica', () => 'KMSKeyNotAccessibleFault');
    expect(
      await failure(aws.call('rds', 'CreateDBInstanceReadReplica', replicaOf('green'), 'us-east-1')),
    ).toMatchObject({ name: 'KMSKeyNotAccessibleFault', status: 400 });
  });

  it('[rds.DescribeDBInstances.status] [rds.ModifyDBInstance.parameter-group] [rds.RebootDBInstance.applies] [rds.ModifyDBInstance.invalid-state] [rds.RebootDBInstance.invalid-state] creates on the default group; a new group waits for a reboot', async () => {
    const { aws, c } = rdsWorld();
    const describe = async () =>
      (
        (await aws.call('rds', 'DescribeDBInstances', { DBInstanceIdentifier: 'green-dr' }, 'us-east-1')) as {
          DBInstances: {
            DBInstanceStatus: string;
            DBParameterGroups: { DBParameterGroupName: string; ParameterApplyStatus: string }[];
          }[];
        }
      ).DBInstances[0];
    await aws.call('rds', 'CreateDBInstanceReadReplica', replicaOf('green'), 'us-east-1');
    expect(await describe()).toMatchObject({
      DBInstanceStatus: 'creating',
      DBParameterGroups: [{ DBParameterGroupName: 'default.postgres17' }],
    });
    expect(
      await failure(
        aws.call(
          'rds',
          'ModifyDBInstance',
          { DBInstanceIdentifier: 'green-dr', DBParameterGroupName: 'dr-params' },
          'us-east-1',
        ),
      ),
    ).toMatchObject({
      name: 'InvalidDBInstanceStateFault',
    });
    c.t += 1000;
    await aws.call(
      'rds',
      'ModifyDBInstance',
      { DBInstanceIdentifier: 'green-dr', DBParameterGroupName: 'dr-params', ApplyImmediately: true },
      'us-east-1',
    );
    expect(await describe()).toMatchObject({
      DBInstanceStatus: 'modifying',
      DBParameterGroups: [{ ParameterApplyStatus: 'applying' }],
    });
    expect(
      await failure(aws.call('rds', 'RebootDBInstance', { DBInstanceIdentifier: 'green-dr' }, 'us-east-1')),
    ).toMatchObject({
      name: 'InvalidDBInstanceStateFault',
    });
    c.t += 100;
    expect(await describe()).toMatchObject({
      DBInstanceStatus: 'available',
      DBParameterGroups: [{ DBParameterGroupName: 'dr-params', ParameterApplyStatus: 'pending-reboot' }],
    });
    await aws.call('rds', 'RebootDBInstance', { DBInstanceIdentifier: 'green-dr' }, 'us-east-1');
    c.t += 100;
    expect(await describe()).toMatchObject({
      DBInstanceStatus: 'available',
      DBParameterGroups: [{ ParameterApplyStatus: 'in-sync' }],
    });
  });

  it('[rds.DescribeDBInstances.not-found] [rds.ModifyDBInstance.not-found] [rds.RebootDBInstance.not-found] [rds.ModifyDBInstance.no-parameter-group] answers unknown instances and groups 404', async () => {
    const { aws } = rdsWorld();
    for (const op of ['DescribeDBInstances', 'ModifyDBInstance', 'RebootDBInstance'])
      expect(await failure(aws.call('rds', op, { DBInstanceIdentifier: 'none' }, 'us-east-1'))).toMatchObject(
        {
          name: 'DBInstanceNotFoundFault',
          status: 404,
        },
      );
    expect(
      await failure(
        aws.call(
          'rds',
          'ModifyDBInstance',
          { DBInstanceIdentifier: 'green', DBParameterGroupName: 'nope' },
          'us-west-2',
        ),
      ),
    ).toMatchObject({ name: 'DBParameterGroupNotFoundFault', status: 404 });
  });

  it('[rds.DescribeDBParameters.pages] [rds.DescribeDBParameters.not-found] pages parameters (at most 100) with a marker', async () => {
    const { aws } = rdsWorld();
    const first = (await aws.call(
      'rds',
      'DescribeDBParameters',
      { DBParameterGroupName: 'dr-params' },
      'us-east-1',
    )) as {
      Parameters: unknown[];
      Marker?: string;
    };
    expect(first.Parameters).toHaveLength(100);
    const second = (await aws.call(
      'rds',
      'DescribeDBParameters',
      { DBParameterGroupName: 'dr-params', Marker: first.Marker },
      'us-east-1',
    )) as {
      Parameters: unknown[];
      Marker?: string;
    };
    expect(second.Parameters).toHaveLength(30);
    expect(second.Marker).toBeUndefined();
    expect(
      await failure(aws.call('rds', 'DescribeDBParameters', { DBParameterGroupName: 'none' }, 'us-east-1')),
    ).toMatchObject({
      name: 'DBParameterGroupNotFoundFault',
    });
  });

  const retiring = (c: ReturnType<typeof clock>) => {
    const rds = new RdsSimulator(ACCOUNT, { createMs: 0, modifyMs: 100, rebootMs: 0 }, { now: c.now });
    rds.addInstance({ id: 'blue', region: 'us-west-2', details: { DeletionProtection: true } });
    rds.addInstance({
      id: 'blue-dr',
      region: 'us-east-1',
      source: `arn:aws:rds:us-west-2:${ACCOUNT}:db:blue`,
      details: { DeletionProtection: false },
    });
    return { rds, aws: world([rds]) };
  };
  const describeIn = async (aws: ReturnType<typeof world>, id: string, region: string) =>
    (
      (await aws.call('rds', 'DescribeDBInstances', { DBInstanceIdentifier: id }, region)) as {
        DBInstances: {
          DBInstanceStatus: string;
          DeletionProtection: boolean;
          ReadReplicaDBInstanceIdentifiers: string[];
        }[];
      }
    ).DBInstances[0];

  it('[rds.ModifyDBInstance.deletion-protection] [rds.DeleteDBInstance.deletion-protection] [rds.DeleteDBInstance.replica-snapshot] [rds.DeleteDBInstance.replica-no-snapshot] refuses a protected instance until protection is off (at once), and a final snapshot of a replica', async () => {
    const c = clock();
    const { aws } = retiring(c);
    const final = {
      DBInstanceIdentifier: 'blue',
      FinalDBSnapshotIdentifier: 'blue-final',
      DeleteAutomatedBackups: false,
    };
    expect(await failure(aws.call('rds', 'DeleteDBInstance', final, 'us-west-2'))).toMatchObject({
      name: 'InvalidParameterCombination',
      status: 400,
    });
    await aws.call(
      'rds',
      'ModifyDBInstance',
      { DBInstanceIdentifier: 'blue', DeletionProtection: false },
      'us-west-2',
    );
    expect(await describeIn(aws, 'blue', 'us-west-2')).toMatchObject({
      DBInstanceStatus: 'available',
      DeletionProtection: false,
    });
    expect(
      await failure(
        aws.call(
          'rds',
          'DeleteDBInstance',
          { DBInstanceIdentifier: 'blue-dr', FinalDBSnapshotIdentifier: 'x' },
          'us-east-1',
        ),
      ),
    ).toMatchObject({ name: 'InvalidParameterCombination' });
    await aws.call(
      'rds',
      'DeleteDBInstance',
      { DBInstanceIdentifier: 'blue-dr', SkipFinalSnapshot: true },
      'us-east-1',
    );
  });

  it('[rds.DeleteDBInstance.deleting] [rds.DeleteDBInstance.not-found] [rds.DeleteDBInstance.invalid-state] [rds.DeleteDBInstance.snapshot-exists] deletes after a final snapshot: deleting, then gone', async () => {
    const c = clock();
    const { aws, rds } = retiring(c);
    await aws.call(
      'rds',
      'ModifyDBInstance',
      { DBInstanceIdentifier: 'blue', DeletionProtection: false },
      'us-west-2',
    );
    const final = { DBInstanceIdentifier: 'blue', FinalDBSnapshotIdentifier: 'blue-final' };
    await aws.call('rds', 'DeleteDBInstance', final, 'us-west-2');
    expect(rds.snapshots.get('us-west-2/blue-final')).toEqual({ id: 'blue-final', instance: 'blue' });
    expect(await describeIn(aws, 'blue', 'us-west-2')).toMatchObject({ DBInstanceStatus: 'deleting' });
    expect(await failure(aws.call('rds', 'DeleteDBInstance', final, 'us-west-2'))).toMatchObject({
      name: 'InvalidDBInstanceStateFault',
    });
    c.t += 100;
    expect(
      await failure(aws.call('rds', 'DescribeDBInstances', { DBInstanceIdentifier: 'blue' }, 'us-west-2')),
    ).toMatchObject({
      name: 'DBInstanceNotFoundFault',
      status: 404,
    });
    expect(await failure(aws.call('rds', 'DeleteDBInstance', final, 'us-west-2'))).toMatchObject({
      name: 'DBInstanceNotFoundFault',
    });
    rds.addInstance({ id: 'blue', region: 'us-west-2' });
    expect(await failure(aws.call('rds', 'DeleteDBInstance', final, 'us-west-2'))).toMatchObject({
      name: 'DBSnapshotAlreadyExistsFault',
    });
  });

  it('[rds.StopDBInstance.stopping] [rds.StopDBInstance.replicas] [rds.StopDBInstance.not-found] [rds.StopDBInstance.invalid-state] stops after a snapshot, and refuses an instance with a replica', async () => {
    const c = clock();
    const { aws, rds } = retiring(c);
    const stop = { DBInstanceIdentifier: 'blue', DBSnapshotIdentifier: 'blue-stop' };
    expect(await failure(aws.call('rds', 'StopDBInstance', stop, 'us-west-2'))).toMatchObject({
      name: 'InvalidDBInstanceStateFault',
    });
    await aws.call(
      'rds',
      'DeleteDBInstance',
      { DBInstanceIdentifier: 'blue-dr', SkipFinalSnapshot: true },
      'us-east-1',
    );
    c.t += 100;
    expect((await describeIn(aws, 'blue', 'us-west-2'))?.ReadReplicaDBInstanceIdentifiers).toEqual([]);
    await aws.call('rds', 'StopDBInstance', stop, 'us-west-2');
    expect(rds.snapshots.has('us-west-2/blue-stop')).toBe(true);
    expect(await describeIn(aws, 'blue', 'us-west-2')).toMatchObject({ DBInstanceStatus: 'stopping' });
    expect(
      await failure(aws.call('rds', 'StopDBInstance', { DBInstanceIdentifier: 'blue' }, 'us-west-2')),
    ).toMatchObject({
      name: 'InvalidDBInstanceStateFault',
    });
    c.t += 1_000_000;
    expect(await describeIn(aws, 'blue', 'us-west-2')).toMatchObject({ DBInstanceStatus: 'stopped' });
    expect(
      await failure(aws.call('rds', 'StopDBInstance', { DBInstanceIdentifier: 'none' }, 'us-west-2')),
    ).toMatchObject({
      name: 'DBInstanceNotFoundFault',
    });
  });

  it('[rds.DeleteDBInstance.snapshot-dependent] authorizes the final snapshot as rds:CreateDBSnapshot on the instance and the snapshot', async () => {
    const c = clock();
    const { rds } = retiring(c);
    const aws = world([rds], {
      principalArn: () => 'arn:aws:sts::111122223333:assumed-role/r/f',
      allows: (_p, req) => Promise.resolve(req.action !== 'rds:CreateDBSnapshot'),
    });
    const e = await failure(
      aws.call(
        'rds',
        'DeleteDBInstance',
        { DBInstanceIdentifier: 'blue', FinalDBSnapshotIdentifier: 'blue-final' },
        'us-west-2',
        'step',
      ),
    );
    expect(e).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(e.message).toContain(`rds:CreateDBSnapshot on resource: arn:aws:rds:us-west-2:${ACCOUNT}:db:blue`);
  });
});

describe('simulated CloudWatch, SNS, EventBridge and CloudFormation', () => {
  it("[cloudwatch.PutMetricData.timestamp] stores each datum at its own timestamp, in the caller's region, where GetMetricData finds it", async () => {
    const cw = new CloudWatchSimulator();
    const aws = world([cw]);
    const datum = (at: number, value: number) => ({
      MetricName: 'ReplicaLag',
      Dimensions: [{ Name: 'Database', Value: 'replica' }],
      Timestamp: new Date(at),
      Value: value,
    });
    // The same datum twice (a relay that runs again) changes no Maximum.
    for (let i = 0; i < 2; i++)
      expect(
        await aws.call(
          'cloudwatch',
          'PutMetricData',
          { Namespace: 'PostgresDR', MetricData: [datum(0, 4), datum(60_000, 9)] },
          'us-east-1',
        ),
      ).toEqual({});
    const read = (region: string) =>
      aws.call(
        'cloudwatch',
        'GetMetricData',
        {
          StartTime: new Date(0),
          EndTime: new Date(120_000),
          MetricDataQueries: [
            {
              Id: 'm',
              MetricStat: {
                Metric: {
                  Namespace: 'PostgresDR',
                  MetricName: 'ReplicaLag',
                  Dimensions: [{ Name: 'Database', Value: 'replica' }],
                },
                Period: 60,
                Stat: 'Maximum',
              },
            },
          ],
        },
        region,
      ) as Promise<{ MetricDataResults: { Values: number[] }[] }>;
    expect((await read('us-east-1')).MetricDataResults[0]?.Values).toEqual([9, 4]);
    expect((await read('us-west-2')).MetricDataResults[0]?.Values).toEqual([]);
  });

  it('[cloudwatch.GetMetricData.aggregates] aggregates datapoints per period with the statistic, newest first', async () => {
    const cw = new CloudWatchSimulator();
    for (const [at, v] of [
      [0, 1],
      [30_000, 0],
      [60_000, 1],
    ] as const)
      cw.put('us-east-1', 'PostgresDR', 'DatabaseReachable', { Database: 'primary' }, at, v);
    const aws = world([cw]);
    const result = (await aws.call(
      'cloudwatch',
      'GetMetricData',
      {
        StartTime: new Date(0),
        EndTime: new Date(120_000),
        MetricDataQueries: [
          {
            Id: 'm',
            MetricStat: {
              Metric: {
                Namespace: 'PostgresDR',
                MetricName: 'DatabaseReachable',
                Dimensions: [{ Name: 'Database', Value: 'primary' }],
              },
              Period: 60,
              Stat: 'Minimum',
            },
          },
        ],
      },
      'us-east-1',
    )) as { MetricDataResults: { Values: number[]; Timestamps: Date[] }[] };
    expect(result.MetricDataResults[0]?.Values).toEqual([1, 0]);
    expect(result.MetricDataResults[0]?.Timestamps).toEqual([new Date(60_000), new Date(0)]);
  });

  it('[cloudwatch.route53-health-check-status] publishes Route 53 HealthCheckStatus in us-east-1 only', async () => {
    const c = clock(0);
    const r53 = new Route53Simulator({ switchDelayMs: 0, insyncDelayMs: 0, now: c.now });
    r53.addCheck({ id: 'db', type: 'CLOUDWATCH_METRIC' });
    c.t = 90_000;
    r53.observe('db', 'unhealthy');
    const cw = new CloudWatchSimulator();
    cw.addSource('us-east-1', 'AWS/Route53', 'HealthCheckStatus', (d, s, e) =>
      r53.healthSamples(d.HealthCheckId ?? '', s, e),
    );
    const aws = world([cw]);
    const query = (region: string) =>
      aws.call(
        'cloudwatch',
        'GetMetricData',
        {
          StartTime: new Date(0),
          EndTime: new Date(120_000),
          ScanBy: 'TimestampAscending',
          MetricDataQueries: [
            {
              Id: 'h',
              MetricStat: {
                Metric: {
                  Namespace: 'AWS/Route53',
                  MetricName: 'HealthCheckStatus',
                  Dimensions: [{ Name: 'HealthCheckId', Value: 'db' }],
                },
                Period: 60,
                Stat: 'Minimum',
              },
            },
          ],
        },
        region,
      ) as Promise<{ MetricDataResults: { Values: number[] }[] }>;
    expect((await query('us-east-1')).MetricDataResults[0]?.Values).toEqual([1, 0]);
    expect((await query('us-west-2')).MetricDataResults[0]?.Values).toEqual([]);
  });

  it('[sns.Publish.limits] [sns.Publish.invalid-parameter] [sns.Publish.not-found] publishes within the subject limits, to a topic of the region', async () => {
    const sns = new SnsSimulator();
    const topic = 'arn:aws:sns:us-east-1:111122223333:on-call';
    sns.addTopic({ arn: topic, subscriptions: [] });
    const aws = world([sns]);
    await aws.call('sns', 'Publish', { TopicArn: topic, Subject: 'Drill failed', Message: 'm' }, 'us-east-1');
    expect(sns.published).toEqual([{ topicArn: topic, subject: 'Drill failed', message: 'm' }]);
    for (const subject of ['x'.repeat(100), 'two\nlines'])
      expect(
        await failure(
          aws.call('sns', 'Publish', { TopicArn: topic, Subject: subject, Message: 'm' }, 'us-east-1'),
        ),
      ).toMatchObject({
        name: 'InvalidParameterException',
      });
    expect(
      await failure(aws.call('sns', 'Publish', { TopicArn: topic, Message: 'm' }, 'us-west-2')),
    ).toMatchObject({
      name: 'NotFoundException',
      status: 404,
    });
  });

  it('[sns.ListSubscriptionsByTopic.pending] [sns.ListSubscriptionsByTopic.not-found] lists an unconfirmed subscription as PendingConfirmation', async () => {
    const sns = new SnsSimulator();
    const topic = 'arn:aws:sns:us-east-1:111122223333:on-call';
    sns.addTopic({
      arn: topic,
      subscriptions: [
        { protocol: 'email', endpoint: 'a@example.org', confirmed: false },
        { protocol: 'https', endpoint: 'https://x', confirmed: true },
      ],
    });
    const aws = world([sns]);
    const listed = (await aws.call('sns', 'ListSubscriptionsByTopic', { TopicArn: topic }, 'us-east-1')) as {
      Subscriptions: { SubscriptionArn: string }[];
    };
    expect(listed.Subscriptions.map((s) => s.SubscriptionArn)).toEqual([
      'PendingConfirmation',
      `${topic}:sub-1`,
    ]);
    expect(
      await failure(aws.call('sns', 'ListSubscriptionsByTopic', { TopicArn: `${topic}x` }, 'us-east-1')),
    ).toMatchObject({ name: 'NotFoundException' });
  });

  it('[events.DescribeRule.state] [events.ListTargetsByRule.input] [events.DescribeRule.not-found] [events.ListTargetsByRule.not-found] describes a rule and its targets’ input, in its region', async () => {
    const events = new EventBridgeSimulator();
    events.addRule({
      name: 'drill',
      region: 'us-east-1',
      state: 'ENABLED',
      scheduleExpression: 'cron(0 2 ? * SUN *)',
      targets: [{ Id: 't', Arn: 'arn:x', Input: '{"a":1}' }],
    });
    const aws = world([events]);
    expect(await aws.call('events', 'DescribeRule', { Name: 'drill' }, 'us-east-1')).toMatchObject({
      State: 'ENABLED',
      ScheduleExpression: 'cron(0 2 ? * SUN *)',
    });
    expect(await aws.call('events', 'ListTargetsByRule', { Rule: 'drill' }, 'us-east-1')).toEqual({
      Targets: [{ Id: 't', Arn: 'arn:x', Input: '{"a":1}' }],
    });
    for (const [op, input] of [
      ['DescribeRule', { Name: 'drill' }],
      ['ListTargetsByRule', { Rule: 'drill' }],
    ] as const)
      expect(await failure(aws.call('events', op, input, 'us-west-2'))).toMatchObject({
        name: 'ResourceNotFoundException',
        status: 400,
      });
  });

  it('[events.DisableRule.schedule] [events.DisableRule.not-found] disables a scheduled rule, idempotently, in its region', async () => {
    const events = new EventBridgeSimulator();
    events.addRule({ name: 'drill', region: 'us-east-1', state: 'ENABLED', targets: [] });
    const aws = world([events]);
    for (let i = 0; i < 2; i++)
      expect(await aws.call('events', 'DisableRule', { Name: 'drill' }, 'us-east-1')).toEqual({});
    expect(events.rules.get('us-east-1/drill')?.state).toBe('DISABLED');
    expect(await failure(aws.call('events', 'DisableRule', { Name: 'drill' }, 'us-west-2'))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 400,
    });
  });

  it('[events.EnableRule.schedule] [events.EnableRule.not-found] [events.TagResource.rule] [events.TagResource.not-found] [events.ListTagsForResource.tags] [events.ListTagsForResource.not-found] [events.UntagResource.keys] [events.UntagResource.not-found] enables a rule, and tags it by ARN, in its region', async () => {
    const events = new EventBridgeSimulator();
    events.addRule({ name: 'drill', region: 'us-east-1', state: 'DISABLED', targets: [] });
    const aws = world([events]);
    const arn = `arn:aws:events:us-east-1:${ACCOUNT}:rule/drill`;
    const tags = () => aws.call('events', 'ListTagsForResource', { ResourceARN: arn }, 'us-east-1');
    expect(await tags()).toEqual({ Tags: [] });
    for (const value of ['failover-1', 'failover-2'])
      await aws.call(
        'events',
        'TagResource',
        { ResourceARN: arn, Tags: [{ Key: 'k', Value: value }] },
        'us-east-1',
      );
    // A key already there gets the new value.
    expect(await tags()).toEqual({ Tags: [{ Key: 'k', Value: 'failover-2' }] });
    await aws.call('events', 'UntagResource', { ResourceARN: arn, TagKeys: ['k'] }, 'us-east-1');
    expect(await tags()).toEqual({ Tags: [] });
    for (let i = 0; i < 2; i++)
      expect(await aws.call('events', 'EnableRule', { Name: 'drill' }, 'us-east-1')).toEqual({});
    expect(events.rules.get('us-east-1/drill')?.state).toBe('ENABLED');
    const elsewhere = arn.replace('us-east-1', 'us-west-2');
    for (const [op, input] of [
      ['EnableRule', { Name: 'drill' }],
      ['TagResource', { ResourceARN: elsewhere, Tags: [{ Key: 'k', Value: 'v' }] }],
      ['ListTagsForResource', { ResourceARN: elsewhere }],
      ['UntagResource', { ResourceARN: elsewhere, TagKeys: ['k'] }],
    ] as const)
      expect(await failure(aws.call('events', op, input, 'us-west-2'))).toMatchObject({
        name: 'ResourceNotFoundException',
        status: 400,
      });
  });

  it('[states.GetActivityTask.long-poll] [states.GetActivityTask.no-activity] [states.SendTaskSuccess.closes] [states.SendTaskFailure.closes] [states.SendTaskHeartbeat.resets] hands an activity task to one worker, who answers it once', async () => {
    const sfn = new StepFunctionsSimulator();
    sfn.activityPollMs = 50;
    const activity = `arn:aws:states:us-east-1:${ACCOUNT}:activity:approval`;
    sfn.addActivity(activity);
    const aws = world([sfn]);
    // No task within the poll: a null token.
    expect(await aws.call('states', 'GetActivityTask', { activityArn: activity }, 'us-east-1')).toEqual({});
    expect(
      await failure(aws.call('states', 'GetActivityTask', { activityArn: `${activity}x` }, 'us-east-1')),
    ).toMatchObject({ name: 'ActivityDoesNotExist', status: 400 });

    // A poll waiting when the task is scheduled gets it, with the state's input.
    const polling = aws.call('states', 'GetActivityTask', { activityArn: activity }, 'us-east-1');
    const answered = sfn.scheduleActivityTask(activity, { plan: 1 });
    const task = (await polling) as { taskToken: string; input: string };
    expect(JSON.parse(task.input)).toEqual({ plan: 1 });
    // Taken: another worker does not get it.
    expect(await aws.call('states', 'GetActivityTask', { activityArn: activity }, 'us-east-1')).toEqual({});
    expect(await aws.call('states', 'SendTaskHeartbeat', { taskToken: task.taskToken }, 'us-east-1')).toEqual(
      {},
    );
    await aws.call(
      'states',
      'SendTaskSuccess',
      { taskToken: task.taskToken, output: '{"ok":true}' },
      'us-east-1',
    );
    await expect(answered).resolves.toEqual({ ok: true });

    const failed = sfn.scheduleActivityTask(activity, {});
    const second = (await aws.call('states', 'GetActivityTask', { activityArn: activity }, 'us-east-1')) as {
      taskToken: string;
    };
    await aws.call(
      'states',
      'SendTaskFailure',
      { taskToken: second.taskToken, error: 'Declined', cause: 'no' },
      'us-east-1',
    );
    await expect(failed).rejects.toMatchObject({ name: 'Declined', message: 'no' });
  });

  // Rows: [states.SendTaskSuccess.invalid-token] [states.SendTaskSuccess.timed-out] [states.SendTaskSuccess.invalid-output]
  // [states.SendTaskFailure.invalid-token] [states.SendTaskFailure.timed-out] [states.SendTaskHeartbeat.invalid-token]
  // [states.SendTaskHeartbeat.timed-out]
  it('refuses a token it never issued, a task already closed, and output that is not JSON', async () => {
    const sfn = new StepFunctionsSimulator();
    const activity = `arn:aws:states:us-east-1:${ACCOUNT}:activity:approval`;
    sfn.addActivity(activity);
    const aws = world([sfn]);
    const expired = sfn.scheduleActivityTask(activity, {});
    const task = (await aws.call('states', 'GetActivityTask', { activityArn: activity }, 'us-east-1')) as {
      taskToken: string;
    };
    expect(
      await failure(
        aws.call('states', 'SendTaskSuccess', { taskToken: task.taskToken, output: 'yes' }, 'us-east-1'),
      ),
    ).toMatchObject({ name: 'InvalidOutput', status: 400 });
    sfn.expireActivityTask(task.taskToken, 'States.HeartbeatTimeout');
    await expect(expired).rejects.toMatchObject({ name: 'States.HeartbeatTimeout' });
    for (const [operation, extra] of [
      ['SendTaskSuccess', { output: '{}' }],
      ['SendTaskFailure', { error: 'Declined' }],
      ['SendTaskHeartbeat', {}],
    ] as const) {
      expect(
        await failure(aws.call('states', operation, { taskToken: task.taskToken, ...extra }, 'us-east-1')),
      ).toMatchObject({ name: 'TaskTimedOut', status: 400 });
      expect(
        await failure(aws.call('states', operation, { taskToken: 'forged', ...extra }, 'us-east-1')),
      ).toMatchObject({ name: 'InvalidToken', status: 400 });
    }
  });

  it('[cloudformation.DescribeStacks.outputs] [cloudformation.DescribeStacks.no-stack] returns a stack’s outputs, or ValidationError', async () => {
    const cfn = new CloudFormationSimulator();
    cfn.addStack({
      name: 'pg-dr-orchestration',
      region: 'us-east-1',
      outputs: { FailoverDrillStateMachineArn: 'arn:drill' },
    });
    const aws = world([cfn]);
    expect(
      await aws.call('cloudformation', 'DescribeStacks', { StackName: 'pg-dr-orchestration' }, 'us-east-1'),
    ).toMatchObject({
      Stacks: [{ Outputs: [{ OutputKey: 'FailoverDrillStateMachineArn', OutputValue: 'arn:drill' }] }],
    });
    const e = await failure(
      aws.call('cloudformation', 'DescribeStacks', { StackName: 'pg-dr-orchestration' }, 'us-west-2'),
    );
    expect(e).toMatchObject({
      name: 'ValidationError',
      status: 400,
      message: 'Stack with id pg-dr-orchestration does not exist',
    });
  });
});
