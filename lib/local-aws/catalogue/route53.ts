import { commonErrors, error, row, type IamOf, type ServiceEntry } from './types';
import { str } from '../input';

const API = 'https://docs.aws.amazon.com/Route53/latest/APIReference';
const DG = 'https://docs.aws.amazon.com/Route53/latest/DeveloperGuide';
const stripPrefix = (id: unknown, prefix: string) => str(id).replace(new RegExp(`^/?${prefix}/`), '');
const zoneArn: IamOf = (input, w) => [
  {
    action: '',
    resources: [
      `arn:${w.partition}:route53:::hostedzone/${stripPrefix(input.HostedZoneId ?? input.Id, 'hostedzone')}`,
    ],
  },
];
const checkArn = (input: Record<string, unknown>, partition: string) =>
  `arn:${partition}:route53:::healthcheck/${str(input.HealthCheckId)}`;
const withAction =
  (action: string, of: IamOf): IamOf =>
  (input, where) =>
    of(input, where).map((r) => ({ ...r, action }));

/**
 * route53:ChangeResourceRecordSetsNormalizedRecordNames: lower case, no trailing dot, anything but
 * a-z 0-9 - _ . escaped as \ and three octal digits.
 */
export function normalizedRecordName(name: string): string {
  return Array.from(name.toLowerCase().replace(/\.$/, ''))
    .map((c) => (/[a-z0-9\-_.]/.test(c) ? c : `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`))
    .join('');
}

const NOT_FOUND_CHECK = (op: string) =>
  error(
    `route53.${op}.no-such-health-check`,
    'NoSuchHealthCheck',
    404,
    'No health check has that id.',
    `${API}/API_${op}.html`,
    'NoSuchHealthCheck: No health check exists with the specified ID. HTTP Status Code: 404',
  );
const NO_ZONE = (op: string) =>
  error(
    `route53.${op}.no-such-hosted-zone`,
    'NoSuchHostedZone',
    404,
    'No hosted zone has that id.',
    `${API}/API_${op}.html`,
    'NoSuchHostedZone: No hosted zone exists with the ID that you specified. HTTP Status Code: 404',
  );
const INVALID = (op: string, when: string, simulated = true) =>
  error(
    `route53.${op}.invalid-input`,
    'InvalidInput',
    400,
    when,
    `${API}/API_${op}.html`,
    'InvalidInput: The input is not valid. HTTP Status Code: 400',
    simulated,
  );

export const ROUTE53: ServiceEntry = {
  service: 'route53',
  title: 'Amazon Route 53',
  global: true,
  accessDenied: error(
    'route53.access-denied',
    'AccessDenied',
    403,
    'A call IAM does not allow fails with AccessDenied (HTTP 403): "User: <principal> is not authorized to perform: route53:<Action> on resource: <arn>".',
    'https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/security-iam.html',
    'Observed wire form (GitHub reports): <Code>AccessDenied</Code> ... is not authorized to perform: route53:ListResourceRecordSets on resource: arn:aws:route53:::hostedzone/Z..., status code 403',
  ),
  throttling: error(
    'route53.throttling',
    'Throttling',
    400,
    'Requests over the account rate (10/s since July 2026; GetHealthCheckStatus: burst 4, 1/s) fail with Throttling, HTTP 400.',
    `${DG}/throttling-api-requests.html`,
    'returns an HTTP 400 error (Bad request). The response header also includes a Code element with a value of Throttling and a Message element with a value of Rate exceeded',
  ),
  common: commonErrors(
    'route53',
    'https://docs.aws.amazon.com/Route53/latest/APIReference/CommonErrors.html',
  ),
  operations: [
    {
      service: 'route53',
      operation: 'TestDNSAnswer',
      calledBy: [
        'lambdas/drill/steps/preflight-handler.ts',
        'lambdas/drill/steps/observe-dns-handler.ts',
        'lambdas/dns-flip/handler.ts',
      ],
      reference: `${API}/API_TestDNSAnswer.html`,
      iam: () => [{ action: 'route53:TestDNSAnswer', resources: ['*'] }],
      relies: [
        row(
          'route53.TestDNSAnswer.public-only',
          'Answers for public hosted zones only; the drill, the flip confirmation and dr doctor need a public zone (a private zone is refused at synth and by the steps, see GetHostedZone).',
          `${API}/API_TestDNSAnswer.html`,
          'This call only supports querying public hosted zones.',
        ),
        row(
          'route53.TestDNSAnswer.record-data',
          'Returns RecordData (the values Route 53 would answer, without resolver caches) and ResponseCode (usually NOERROR).',
          `${API}/API_TestDNSAnswer.html`,
          'Gets the value that Amazon Route 53 returns in response to a DNS request for a specified record name and type.',
        ),
        row(
          'route53.failover.primary-while-healthy',
          'Failover records: Route 53 answers the PRIMARY while its health check is healthy, the SECONDARY otherwise.',
          `${DG}/dns-failover-types.html`,
          'Route 53 responds to DNS queries using the primary record when the primary resource is healthy and the secondary record when the primary resource is unhealthy.',
        ),
        row(
          'route53.failover.both-unhealthy',
          'When both the PRIMARY and the SECONDARY are unhealthy, Route 53 answers the PRIMARY.',
          `${DG}/health-checks-how-route-53-chooses-records.html`,
          'If Route 53 considers both the primary and secondary records unhealthy, Route 53 returns the primary record.',
        ),
        row(
          'route53.failover.switch-delay',
          'Route 53 acts on a health change after a delay it does not publish; the drill measures it (the simulator takes it as a setting).',
          `${DG}/dns-failover-determining-health-of-endpoints.html`,
          'After a health check status changes, Route 53 propagates the change; the time it takes is not published.',
        ),
        row(
          'route53.health.inverted',
          'An inverted health check reports the opposite of what it sees.',
          `${API}/API_UpdateHealthCheck.html`,
          'Specify whether you want Amazon Route 53 to invert the status of a health check, for example, to consider a health check unhealthy when it otherwise would be considered healthy.',
        ),
        row(
          'route53.health.disabled',
          'A disabled health check is always healthy (DNS keeps the record); disabled and inverted, it is unhealthy.',
          `${API}/API_UpdateHealthCheck.html`,
          'After you disable a health check, Route 53 considers the status of the health check to always be healthy. ... in disabled state, you can also invert the status of the health check to route traffic differently.',
        ),
        row(
          'route53.health.calculated-threshold',
          'A CALCULATED check is healthy when at least HealthThreshold children are; 0 means always healthy, more than the children always unhealthy.',
          `${API}/API_UpdateHealthCheck.html`,
          'If you specify a number greater than the number of child health checks, Route 53 always considers this health check to be unhealthy. If you specify 0, Route 53 always considers this health check to be healthy.',
        ),
        row(
          'route53.health.metric-insufficient-data',
          'A CLOUDWATCH_METRIC check follows the alarm’s data stream (not the alarm state); with too little data it takes InsufficientDataHealthStatus, and LastKnownStatus with no history is healthy.',
          `${API}/API_HealthCheckConfig.html`,
          'LastKnownStatus: Route 53 uses the status of the health check from the last time that CloudWatch had sufficient data to determine the alarm state. For new health checks that have no last known status, the default status for the health check is healthy.',
        ),
        row(
          'route53.health.metric-no-m-of-n',
          'A metric health check’s alarm must be on a standard-resolution metric with a plain statistic, no metric math and no "M out of N" (the CDK app only creates N-of-N alarms for them).',
          `${API}/API_AlarmIdentifier.html`,
          'Route 53 supports CloudWatch alarms with the following features: Standard-resolution metrics. High-resolution metrics aren’t supported. ... Route 53 does not support "M out of N" alarms.',
          false,
        ),
        row(
          'route53.health.metric-settings-read-once',
          'A metric check reads its alarm’s settings when it is created or its AlarmIdentifier updated, never again: the CDK app names each probe alarm after its rule (…-maj-3of3), so a changed rule is a new alarm the check is repointed at.',
          'https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-creating-values.html',
          'If you create a Route 53 health check that monitors the data stream for a CloudWatch alarm and then you update the settings in the CloudWatch alarm, Route 53 doesn’t automatically update the alarm settings in the health check.',
          false,
        ),
      ],
      errors: [
        NO_ZONE('TestDNSAnswer'),
        INVALID(
          'TestDNSAnswer',
          'A private hosted zone (the exact error is undocumented; InvalidInput is the modelled one) or a malformed name.',
        ),
      ],
    },
    {
      service: 'route53',
      operation: 'GetHealthCheck',
      calledBy: [
        'lambdas/drill/steps/health-check-handler.ts',
        'lambdas/drill/steps/preflight-handler.ts',
        'lambdas/safety-net/drill-handler.ts',
        'lib/cli/drill-command.ts',
        'lib/cli/hold-command.ts',
      ],
      reference: `${API}/API_GetHealthCheck.html`,
      iam: (input, w) => [{ action: 'route53:GetHealthCheck', resources: [checkArn(input, w.partition)] }],
      relies: [
        row(
          'route53.GetHealthCheck.config',
          'Returns the check’s HealthCheckConfig (Type, Inverted, Disabled, ChildHealthChecks, HealthThreshold, AlarmIdentifier, InsufficientDataHealthStatus) and HealthCheckVersion.',
          `${API}/API_GetHealthCheck.html`,
          'A complex type that contains information about one health check that is associated with the current AWS account.',
        ),
      ],
      errors: [NOT_FOUND_CHECK('GetHealthCheck'), INVALID('GetHealthCheck', 'A malformed id.', false)],
    },
    {
      service: 'route53',
      operation: 'UpdateHealthCheck',
      calledBy: [
        'lambdas/drill/steps/health-check-handler.ts',
        'lambdas/safety-net/drill-handler.ts',
        'lib/cli/drill-command.ts',
        'lib/cli/hold-command.ts',
      ],
      reference: `${API}/API_UpdateHealthCheck.html`,
      iam: (input, w) => [{ action: 'route53:UpdateHealthCheck', resources: [checkArn(input, w.partition)] }],
      relies: [
        row(
          'route53.UpdateHealthCheck.version',
          'HealthCheckVersion makes an update conditional: each update increments it, and a stale version is refused.',
          `${API}/API_UpdateHealthCheck.html`,
          'If the value of HealthCheckVersion in the health check is greater, the health check was changed after you got the version number. Route 53 does not update the health check, and it returns a HealthCheckVersionMismatch error.',
        ),
      ],
      errors: [
        error(
          'route53.UpdateHealthCheck.version-mismatch',
          'HealthCheckVersionMismatch',
          409,
          'Someone updated the check since its version was read.',
          `${API}/API_UpdateHealthCheck.html`,
          'HealthCheckVersionMismatch: The value of HealthCheckVersion in the request doesn’t match the value of HealthCheckVersion in the health check. HTTP Status Code: 409',
        ),
        NOT_FOUND_CHECK('UpdateHealthCheck'),
        INVALID('UpdateHealthCheck', 'A setting the check type does not take.'),
      ],
    },
    {
      service: 'route53',
      operation: 'GetHealthCheckStatus',
      calledBy: ['lib/cli/doctor-command.ts'],
      reference: `${API}/API_GetHealthCheckStatus.html`,
      iam: (input, w) => [
        { action: 'route53:GetHealthCheckStatus', resources: [checkArn(input, w.partition)] },
      ],
      relies: [
        row(
          'route53.GetHealthCheckStatus.observations',
          'One observation per health checker (Region, IPAddress, StatusReport.Status free text, CheckedTime); for development, not production polling (burst 4, 1/s). The workflows read CloudWatch HealthCheckStatus instead; dr doctor prints the raw observations, since what they say for alarm-based checks is undocumented.',
          `${API}/API_GetHealthCheckStatus.html`,
          "This API is intended for use during development to diagnose behavior. It doesn't support production use-cases with high query rates that require immediate and actionable responses.",
        ),
        row(
          'route53.GetHealthCheckStatus.no-calculated',
          'Refuses CALCULATED checks (the exact error is undocumented; InvalidInput is the modelled one).',
          `${API}/API_GetHealthCheckStatus.html`,
          "You can't use GetHealthCheckStatus to get the status of a calculated health check.",
        ),
      ],
      errors: [
        NOT_FOUND_CHECK('GetHealthCheckStatus'),
        INVALID('GetHealthCheckStatus', 'A CALCULATED check.'),
      ],
    },
    {
      service: 'route53',
      operation: 'ListResourceRecordSets',
      calledBy: [
        'lambdas/dns-flip/handler.ts',
        'lambdas/topology-sync/handler.ts',
        'lambdas/drill/steps/preflight-handler.ts',
      ],
      reference: `${API}/API_ListResourceRecordSets.html`,
      iam: withAction('route53:ListResourceRecordSets', zoneArn),
      relies: [
        row(
          'route53.ListResourceRecordSets.order',
          'Sorted by name with its labels reversed, then by type; starts at the first set at or after StartRecordName (and StartRecordType); up to 300 per page with IsTruncated and NextRecord* to go on.',
          `${API}/API_ListResourceRecordSets.html`,
          'ListResourceRecordSets sorts results first by DNS name with the labels reversed, for example: com.example.www. ... When multiple records have the same DNS name, ListResourceRecordSets sorts results by the record type.',
        ),
        row(
          'route53.ListResourceRecordSets.pending',
          'Includes changes still PENDING.',
          `${API}/API_ListResourceRecordSets.html`,
          'This action returns the most current version of the records. This includes records that are PENDING, and that are not yet available on all Route 53 DNS servers.',
        ),
      ],
      errors: [
        NO_ZONE('ListResourceRecordSets'),
        INVALID('ListResourceRecordSets', 'StartRecordType without StartRecordName.'),
      ],
    },
    {
      service: 'route53',
      operation: 'ChangeResourceRecordSets',
      calledBy: ['lambdas/dns-flip/handler.ts', 'lambdas/topology-sync/handler.ts'],
      reference: `${API}/API_ChangeResourceRecordSets.html`,
      iam: (input, w) => {
        const changes =
          ((input.ChangeBatch as { Changes?: unknown[] } | undefined)?.Changes as
            { Action?: string; ResourceRecordSet?: { Name?: string; Type?: string } }[] | undefined) ?? [];
        return [
          {
            action: 'route53:ChangeResourceRecordSets',
            resources: zoneArn(input, w)[0]?.resources ?? [],
            context: {
              'route53:ChangeResourceRecordSetsNormalizedRecordNames': changes.map((c) =>
                normalizedRecordName(c.ResourceRecordSet?.Name ?? ''),
              ),
              'route53:ChangeResourceRecordSetsRecordTypes': changes.map(
                (c) => c.ResourceRecordSet?.Type ?? '',
              ),
              'route53:ChangeResourceRecordSetsActions': changes.map((c) => c.Action ?? ''),
            },
          },
        ];
      },
      relies: [
        row(
          'route53.ChangeResourceRecordSets.transactional',
          'A batch is validated, then applied whole or not at all; UPSERT creates or replaces a set; the change starts PENDING.',
          `${API}/API_ChangeResourceRecordSets.html`,
          'Route 53 validates the changes in the request and then either makes all or none of the changes in the change batch request.',
        ),
        row(
          'route53.ChangeResourceRecordSets.condition-keys',
          'IAM can limit the call to record names (normalized: lower case, no trailing dot), types and actions.',
          `${DG}/specifying-rrset-conditions.html`,
          'For route53:ChangeResourceRecordSetsNormalizedRecordNames: All letters must be lowercase. The DNS name must be without the trailing dot.',
        ),
      ],
      errors: [
        error(
          'route53.ChangeResourceRecordSets.invalid-change-batch',
          'InvalidChangeBatch',
          400,
          'CREATE of a set that exists, DELETE of one that does not match, or a plain set beside failover sets of the same name and type.',
          `${API}/API_ChangeResourceRecordSets.html`,
          "InvalidChangeBatch: This exception contains a list of messages that might contain one or more error messages. ... You can't create non-failover resource record sets that have the same values for the Name and Type elements as failover resource record sets.",
        ),
        error(
          'route53.ChangeResourceRecordSets.prior-request',
          'PriorRequestNotComplete',
          400,
          'Route 53 is still processing an earlier change to the zone: retry with backoff.',
          `${API}/API_ChangeResourceRecordSets.html`,
          "If Amazon Route 53 can't process a request before the next request arrives, it will reject subsequent requests for the same hosted zone and return an HTTP 400 error (Bad request).",
        ),
        NO_ZONE('ChangeResourceRecordSets'),
        NOT_FOUND_CHECK('ChangeResourceRecordSets'),
        INVALID('ChangeResourceRecordSets', 'A malformed change.'),
      ],
    },
    {
      service: 'route53',
      operation: 'GetChange',
      calledBy: ['lambdas/dns-flip/handler.ts', 'lambdas/topology-sync/handler.ts'],
      reference: `${API}/API_GetChange.html`,
      iam: (input, w) => [
        {
          action: 'route53:GetChange',
          resources: [`arn:${w.partition}:route53:::change/${stripPrefix(input.Id, 'change')}`],
        },
      ],
      relies: [
        row(
          'route53.GetChange.insync',
          'PENDING until the change has reached every Route 53 server of the zone, then INSYNC (generally within 60 s).',
          `${API}/API_GetChange.html`,
          'INSYNC indicates that the changes have propagated to all Route 53 DNS servers managing the hosted zone.',
        ),
      ],
      errors: [
        error(
          'route53.GetChange.no-such-change',
          'NoSuchChange',
          404,
          'No change has that id.',
          `${API}/API_GetChange.html`,
          'NoSuchChange: A change with the specified change ID does not exist. HTTP Status Code: 404',
        ),
        INVALID('GetChange', 'A malformed id.', false),
      ],
    },
    {
      service: 'route53',
      operation: 'GetHostedZone',
      calledBy: ['lambdas/workflow-input/handler.ts', 'lambdas/drill/steps/preflight-handler.ts'],
      reference: `${API}/API_GetHostedZone.html`,
      iam: withAction('route53:GetHostedZone', zoneArn),
      relies: [
        row(
          'route53.GetHostedZone.private-zone',
          'HostedZone.Config.PrivateZone says whether the zone is private (Config may be absent: treat that as public only when the zone has a delegation set).',
          `${API}/API_GetHostedZone.html`,
          'PrivateZone: A value that indicates whether this is a private hosted zone.',
        ),
      ],
      errors: [NO_ZONE('GetHostedZone'), INVALID('GetHostedZone', 'A malformed id.', false)],
    },
  ],
};
