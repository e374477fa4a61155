import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  TestDNSAnswerCommand,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { flipRecord, rollbackRecord, type FlipTiming } from '../../lambdas/dns-flip/flip';
import { handler } from '../../lambdas/dns-flip/handler';
import { fakeClock } from '../support/fake-clock';

const route53 = mockClient(Route53Client);
const ZONE = 'Z0EXAMPLE12345';
const BLUE = 'blue.abc123.us-west-2.rds.amazonaws.com';
const GREEN = 'green.def456.us-west-2.rds.amazonaws.com';
const TIMING: FlipTiming = { pollIntervalMs: 5000, maxWaitMs: 60_000, maxRetries: 3, retryBaseMs: 500 };

const PRIMARY: ResourceRecordSet = {
  Name: 'db.provability-fabric.org.',
  Type: 'CNAME',
  SetIdentifier: 'db.provability-fabric.org-primary',
  Failover: 'PRIMARY',
  TTL: 10,
  HealthCheckId: 'hc-primary',
  ResourceRecords: [{ Value: BLUE }],
};
const SECONDARY: ResourceRecordSet = {
  ...PRIMARY,
  SetIdentifier: 'db.provability-fabric.org-secondary',
  Failover: 'SECONDARY',
  HealthCheckId: 'hc-secondary',
  ResourceRecords: [{ Value: 'replica.xyz.us-east-1.rds.amazonaws.com' }],
};

const throttled = (name = 'Throttling') =>
  Object.assign(new Error('Rate exceeded'), { name, $metadata: { httpStatusCode: 400 } });

const request = {
  hostedZoneId: ZONE,
  recordName: 'db.provability-fabric.org',
  recordType: 'CNAME' as const,
  setIdentifier: PRIMARY.SetIdentifier,
  target: GREEN,
};

beforeEach(() => {
  route53.reset();
  route53
    .on(ListResourceRecordSetsCommand)
    .resolves({ ResourceRecordSets: [PRIMARY, SECONDARY], IsTruncated: false, MaxItems: 100 });
  route53
    .on(ChangeResourceRecordSetsCommand)
    .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } });
  route53
    .on(GetChangeCommand)
    .resolvesOnce({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } })
    .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
  route53.on(TestDNSAnswerCommand).resolves({
    RecordData: [`${GREEN}.`],
    ResponseCode: 'NOERROR',
    Nameserver: 'ns',
    RecordName: PRIMARY.Name,
    RecordType: 'CNAME',
    Protocol: 'UDP',
  });
});

describe('flipRecord', () => {
  it('UPSERTs only the value of the chosen set, waits for INSYNC, confirms with TestDNSAnswer', async () => {
    const clock = fakeClock();
    const result = await flipRecord({ route53, ...clock }, TIMING, request);

    expect(route53.commandCalls(ListResourceRecordSetsCommand)[0]?.args[0].input).toEqual({
      HostedZoneId: ZONE,
      StartRecordName: 'db.provability-fabric.org.',
      StartRecordType: 'CNAME',
      MaxItems: 100,
    });
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand).map((c) => c.args[0].input)).toEqual([
      {
        HostedZoneId: ZONE,
        ChangeBatch: {
          Comment: `pg-dr blue-green cutover to ${GREEN}`,
          Changes: [
            { Action: 'UPSERT', ResourceRecordSet: { ...PRIMARY, ResourceRecords: [{ Value: GREEN }] } },
          ],
        },
      },
    ]);
    expect(route53.commandCalls(GetChangeCommand).map((c) => c.args[0].input)).toEqual([
      { Id: '/change/C1' },
      { Id: '/change/C1' },
    ]);
    expect(route53.commandCalls(TestDNSAnswerCommand)[0]?.args[0].input).toEqual({
      HostedZoneId: ZONE,
      RecordName: 'db.provability-fabric.org.',
      RecordType: 'CNAME',
    });
    expect(result).toMatchObject({
      changed: true,
      changeId: '/change/C1',
      previous: PRIMARY,
      insyncAfterMs: 10_000,
      answer: [`${GREEN}.`],
    });
  });

  it('rolls back by UPSERTing the previous record exactly', async () => {
    route53.on(TestDNSAnswerCommand).resolves({ RecordData: [BLUE], ResponseCode: 'NOERROR' });
    const result = await rollbackRecord({ route53, ...fakeClock() }, TIMING, ZONE, PRIMARY);
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input).toEqual({
      HostedZoneId: ZONE,
      ChangeBatch: {
        Comment: 'pg-dr blue-green rollback',
        Changes: [{ Action: 'UPSERT', ResourceRecordSet: PRIMARY }],
      },
    });
    expect(result.answer).toEqual([`${BLUE}.`]);
  });

  it('retries throttled and not-yet-complete calls with backoff', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled('PriorRequestNotComplete'))
      .resolves({ ChangeInfo: { Id: '/change/C2', Status: 'INSYNC', SubmittedAt: new Date() } });
    const clock = fakeClock();
    const result = await flipRecord({ route53, ...clock }, TIMING, request);
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(3);
    expect(clock.sleeps).toEqual([500, 1000]);
    expect(result.changeId).toBe('/change/C2');
  });

  it('gives up when Route 53 keeps throttling', async () => {
    route53.on(ChangeResourceRecordSetsCommand).rejects(throttled());
    await expect(flipRecord({ route53, ...fakeClock() }, TIMING, request)).rejects.toMatchObject({
      name: 'Route53Unavailable',
      message: 'ChangeResourceRecordSets: still Throttling after 4 attempts',
    });
  });

  it('stops waiting for INSYNC at the limit with a clear error', async () => {
    route53
      .on(GetChangeCommand)
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } });
    const clock = fakeClock();
    await expect(
      flipRecord({ route53, ...clock }, { ...TIMING, maxWaitMs: 30_000 }, request),
    ).rejects.toMatchObject({
      name: 'DnsChangeNotInSync',
      message: 'change /change/C1 is still PENDING after 30 s (limit 30 s)',
    });
    expect(route53.commandCalls(GetChangeCommand)).toHaveLength(6);
  });

  it('refuses when the name has several sets and no set identifier was given', async () => {
    await expect(
      flipRecord({ route53, ...fakeClock() }, TIMING, { ...request, setIdentifier: undefined }),
    ).rejects.toMatchObject({
      name: 'RecordAmbiguous',
      message:
        'db.provability-fabric.org. has 2 CNAME sets (db.provability-fabric.org-primary, db.provability-fabric.org-secondary): give setIdentifier',
    });
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(0);
  });

  it('refuses a record that does not exist', async () => {
    await expect(
      flipRecord({ route53, ...fakeClock() }, TIMING, {
        ...request,
        recordName: 'other.provability-fabric.org',
      }),
    ).rejects.toMatchObject({
      name: 'RecordNotFound',
    });
  });

  it('reports when Route 53 answers something else after the change', async () => {
    route53
      .on(TestDNSAnswerCommand)
      .resolves({ RecordData: [SECONDARY.ResourceRecords?.[0]?.Value ?? ''], ResponseCode: 'NOERROR' });
    await expect(flipRecord({ route53, ...fakeClock() }, TIMING, request)).rejects.toMatchObject({
      name: 'DnsAnswerMismatch',
      message: expect.stringContaining("is the record's health check unhealthy?") as unknown,
    });
  });

  it('confirms a repointed SECONDARY set by reading it back, since Route 53 answers the healthy PRIMARY', async () => {
    const NEW_REPLICA = 'green-dr.xyz.us-east-1.rds.amazonaws.com';
    route53
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce({ ResourceRecordSets: [PRIMARY, SECONDARY] })
      .resolves({
        ResourceRecordSets: [PRIMARY, { ...SECONDARY, ResourceRecords: [{ Value: NEW_REPLICA }] }],
      });
    const result = await flipRecord({ route53, ...fakeClock() }, TIMING, {
      ...request,
      setIdentifier: SECONDARY.SetIdentifier,
      target: NEW_REPLICA,
    });
    expect(result.answer).toEqual([`${NEW_REPLICA}.`]);
    expect(route53.commandCalls(TestDNSAnswerCommand)).toHaveLength(0);
    expect(
      route53.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input.ChangeBatch?.Changes?.[0]
        ?.ResourceRecordSet,
    ).toEqual({
      ...SECONDARY,
      ResourceRecords: [{ Value: NEW_REPLICA }],
    });
  });

  it('refuses a weighted record: it would write back, and a rollback restore, routing it does not handle', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [{ ...PRIMARY, Failover: undefined, Weight: 10 }],
    });
    await expect(flipRecord({ route53, ...fakeClock() }, TIMING, request)).rejects.toMatchObject({
      name: 'RecordUnsupported',
      message: expect.stringContaining('Weight') as string,
    });
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(0);
  });

  it('only confirms a record that already points at the target (a retried step changes nothing)', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [{ ...PRIMARY, ResourceRecords: [{ Value: `${GREEN}.` }] }, SECONDARY],
    });
    const result = await flipRecord({ route53, ...fakeClock() }, TIMING, request);
    expect(result.changed).toBe(false);
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(0);
    expect(route53.commandCalls(TestDNSAnswerCommand)).toHaveLength(1);
  });
});

describe('dns-flip handler', () => {
  it('flips, then rolls back from the snapshot the flip returned', async () => {
    const flipped = await handler({ mode: 'flip', ...request, pollIntervalMs: 0 });
    expect(flipped).toMatchObject({ changed: true, previous: PRIMARY });

    route53.on(TestDNSAnswerCommand).resolves({ RecordData: [BLUE] });
    const previous = (flipped as { previous: ResourceRecordSet }).previous;
    await handler({ mode: 'rollback', hostedZoneId: ZONE, previous, pollIntervalMs: 0 });
    expect(
      route53.commandCalls(ChangeResourceRecordSetsCommand)[1]?.args[0].input.ChangeBatch?.Changes?.[0]
        ?.ResourceRecordSet,
    ).toEqual(PRIMARY);
  });

  it.each([
    [
      'AliasTarget',
      {
        HostedZoneId: 'Z2FDTNDATAQYW2',
        DNSName: 'd111111abcdef8.cloudfront.net',
        EvaluateTargetHealth: false,
      },
    ],
    ['Weight', 100],
    ['GeoLocation', { CountryCode: 'US' }],
    ['Region', 'us-east-1'],
    ['MultiValueAnswer', true],
  ])(
    'rolls back only what a flip writes: a previous record with %s is refused, naming it',
    async (field, value) => {
      const previous = { ...PRIMARY, [field]: value };
      const error = (await handler({ mode: 'rollback', hostedZoneId: ZONE, previous }).catch(
        (e: unknown) => e,
      )) as Error;
      expect(error.name).toBe('InvalidInput');
      expect(error.message).toContain(`previous has unknown field(s) ${field}`);
      expect(route53.calls()).toHaveLength(0);
      // The core refuses it too, for any other caller.
      await expect(rollbackRecord({ route53, ...fakeClock() }, TIMING, ZONE, previous)).rejects.toMatchObject(
        {
          name: 'RecordUnsupported',
          message: expect.stringContaining(field) as string,
        },
      );
      expect(route53.calls()).toHaveLength(0);
    },
  );

  it('names Route 53 failures as routable error types', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [] });
    const error = (await handler({ mode: 'flip', ...request }).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('RecordNotFound');
  });

  it.each([
    [
      { mode: 'flip', hostedZoneId: 'nope', recordName: 'db.example.org', target: GREEN },
      'hostedZoneId must be a Route 53 hosted zone id',
    ],
    [
      { mode: 'flip', hostedZoneId: ZONE, recordName: 'db.example.org', target: 'x; rm -rf /' },
      'target must be a DNS name',
    ],
    [{ mode: 'delete', hostedZoneId: ZONE }, 'mode'],
    [{ mode: 'rollback', hostedZoneId: ZONE }, 'previous is required'],
  ])('rejects %j without calling Route 53', async (event, message) => {
    const error = (await handler(event).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toContain(message);
    expect(route53.calls()).toHaveLength(0);
  });
});
