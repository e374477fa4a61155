import { commonErrors, error, row, type ServiceEntry } from './types';
import { str } from '../input';

const EB = 'https://docs.aws.amazon.com/eventbridge/latest/APIReference';
const CFN = 'https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference';
const CW = 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference';
const CW_UG = 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring';
const SNS = 'https://docs.aws.amazon.com/sns/latest/api';

export const EVENTBRIDGE: ServiceEntry = {
  service: 'events',
  title: 'Amazon EventBridge',
  global: false,
  accessDenied: error(
    'events.access-denied',
    'AccessDeniedException',
    400,
    'A call IAM does not allow fails with AccessDeniedException, HTTP 400.',
    `${EB}/CommonErrors.html`,
    'AccessDeniedException: You do not have sufficient access to perform this action. HTTP Status Code: 400',
  ),
  throttling: error(
    'events.throttling',
    'ThrottlingException',
    400,
    'Over the API rate: ThrottlingException.',
    `${EB}/CommonErrors.html`,
    'ThrottlingException: The request was denied due to request throttling. HTTP Status Code: 400',
  ),
  common: commonErrors('events', `${EB}/CommonErrors.html`),
  operations: [
    {
      service: 'events',
      operation: 'ListTargetsByRule',
      calledBy: ['lib/cli/drill-command.ts'],
      reference: `${EB}/API_ListTargetsByRule.html`,
      iam: (input, w) => [
        {
          action: 'events:ListTargetsByRule',
          resources: [`arn:${w.partition}:events:${w.region}:${w.account}:rule/${str(input.Rule)}`],
        },
      ],
      relies: [
        row(
          'events.ListTargetsByRule.input',
          'Returns each target with its constant Input (the drill input `dr drill` reuses), up to 100 per page.',
          `${EB}/API_ListTargetsByRule.html`,
          'Lists the targets assigned to the specified rule. The maximum number of results per page for requests is 100.',
        ),
      ],
      errors: [
        error(
          'events.ListTargetsByRule.not-found',
          'ResourceNotFoundException',
          400,
          'No rule of that name in the client’s region.',
          `${EB}/API_ListTargetsByRule.html`,
          'ResourceNotFoundException: An entity that you specified does not exist. HTTP Status Code: 400',
        ),
      ],
    },
    {
      service: 'events',
      operation: 'DisableRule',
      calledBy: ['statemachines/region-failover.asl.json'],
      reference: `${EB}/API_DisableRule.html`,
      iam: (input, w) => [
        {
          action: 'events:DisableRule',
          resources: [`arn:${w.partition}:events:${w.region}:${w.account}:rule/${str(input.Name)}`],
        },
      ],
      relies: [
        row(
          'events.DisableRule.schedule',
          'A disabled scheduled rule no longer triggers (idempotent: disabling a disabled rule succeeds). CloudFormation does not enable it again unless a deploy changes the rule.',
          `${EB}/API_DisableRule.html`,
          "Disables the specified rule. A disabled rule won't match any events, and won't self-trigger if it has a schedule expression.",
        ),
      ],
      errors: [
        error(
          'events.DisableRule.not-found',
          'ResourceNotFoundException',
          400,
          'No rule of that name in the caller’s region.',
          `${EB}/API_DisableRule.html`,
          'ResourceNotFoundException: An entity that you specified does not exist. HTTP Status Code: 400',
        ),
      ],
    },
    {
      service: 'events',
      operation: 'EnableRule',
      calledBy: ['statemachines/dr-rebuild.asl.json'],
      reference: `${EB}/API_EnableRule.html`,
      iam: (input, w) => [
        {
          action: 'events:EnableRule',
          resources: [`arn:${w.partition}:events:${w.region}:${w.account}:rule/${str(input.Name)}`],
        },
      ],
      relies: [
        row(
          'events.EnableRule.schedule',
          'An enabled scheduled rule triggers again on its schedule (enabling an enabled rule succeeds).',
          `${EB}/API_EnableRule.html`,
          'Enables the specified rule. If the rule does not exist, the operation fails.',
        ),
      ],
      errors: [
        error(
          'events.EnableRule.not-found',
          'ResourceNotFoundException',
          400,
          'No rule of that name in the caller’s region.',
          `${EB}/API_EnableRule.html`,
          'ResourceNotFoundException: An entity that you specified does not exist. HTTP Status Code: 400',
        ),
      ],
    },
    {
      service: 'events',
      operation: 'TagResource',
      calledBy: ['statemachines/region-failover.asl.json'],
      reference: `${EB}/API_TagResource.html`,
      iam: (input) => [
        {
          action: 'events:TagResource',
          resources: [str(input.ResourceARN)],
          context: {
            'aws:TagKeys': ((input.Tags as { Key?: string }[] | undefined) ?? []).map((t) => t.Key ?? ''),
          },
        },
      ],
      relies: [
        row(
          'events.TagResource.rule',
          'A rule can carry tags; a tag key already on it gets the new value.',
          `${EB}/API_TagResource.html`,
          'In EventBridge, rules and event buses can be tagged. [...] If you specify a tag key that is already associated with the resource, the new tag value that you specify replaces the previous value for that tag.',
        ),
      ],
      errors: [
        error(
          'events.TagResource.not-found',
          'ResourceNotFoundException',
          400,
          'No rule with that ARN.',
          `${EB}/API_TagResource.html`,
          'ResourceNotFoundException: An entity that you specified does not exist. HTTP Status Code: 400',
        ),
      ],
    },
    {
      service: 'events',
      operation: 'ListTagsForResource',
      calledBy: ['statemachines/dr-rebuild.asl.json', 'lib/cli/doctor-command.ts'],
      reference: `${EB}/API_ListTagsForResource.html`,
      iam: (input) => [{ action: 'events:ListTagsForResource', resources: [str(input.ResourceARN)] }],
      relies: [
        row(
          'events.ListTagsForResource.tags',
          'Returns the rule’s tags as Key/Value pairs.',
          `${EB}/API_ListTagsForResource.html`,
          'Displays the tags associated with an EventBridge resource. In EventBridge, rules and event buses can be tagged.',
        ),
      ],
      errors: [
        error(
          'events.ListTagsForResource.not-found',
          'ResourceNotFoundException',
          400,
          'No rule with that ARN.',
          `${EB}/API_ListTagsForResource.html`,
          'ResourceNotFoundException: An entity that you specified does not exist. HTTP Status Code: 400',
        ),
      ],
    },
    {
      service: 'events',
      operation: 'UntagResource',
      calledBy: ['statemachines/dr-rebuild.asl.json'],
      reference: `${EB}/API_UntagResource.html`,
      iam: (input) => [
        {
          action: 'events:UntagResource',
          resources: [str(input.ResourceARN)],
          context: { 'aws:TagKeys': ((input.TagKeys as string[] | undefined) ?? []).map(String) },
        },
      ],
      relies: [
        row(
          'events.UntagResource.keys',
          'Removes the named tag keys from the rule.',
          `${EB}/API_UntagResource.html`,
          'Removes one or more tags from the specified EventBridge resource. In Amazon EventBridge, rules and event buses can be tagged.',
        ),
      ],
      errors: [
        error(
          'events.UntagResource.not-found',
          'ResourceNotFoundException',
          400,
          'No rule with that ARN.',
          `${EB}/API_UntagResource.html`,
          'ResourceNotFoundException: An entity that you specified does not exist. HTTP Status Code: 400',
        ),
      ],
    },
    {
      service: 'events',
      operation: 'DescribeRule',
      calledBy: ['lib/cli/drill-command.ts', 'statemachines/region-failover.asl.json'],
      reference: `${EB}/API_DescribeRule.html`,
      iam: (input, w) => [
        {
          action: 'events:DescribeRule',
          resources: [`arn:${w.partition}:events:${w.region}:${w.account}:rule/${str(input.Name)}`],
        },
      ],
      relies: [
        row(
          'events.DescribeRule.state',
          'State is ENABLED, DISABLED or ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS; ScheduleExpression for scheduled rules.',
          `${EB}/API_DescribeRule.html`,
          'State: Specifies whether the rule is enabled or disabled. Valid Values: ENABLED | DISABLED | ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
        ),
      ],
      errors: [
        error(
          'events.DescribeRule.not-found',
          'ResourceNotFoundException',
          400,
          'No rule of that name in the client’s region.',
          `${EB}/API_DescribeRule.html`,
          'ResourceNotFoundException: An entity that you specified does not exist. HTTP Status Code: 400',
        ),
      ],
    },
  ],
};

export const CLOUDFORMATION: ServiceEntry = {
  service: 'cloudformation',
  title: 'AWS CloudFormation',
  global: false,
  accessDenied: error(
    'cloudformation.access-denied',
    'AccessDenied',
    403,
    'A call IAM does not allow fails with AccessDenied, HTTP 403.',
    `${CFN}/CommonErrors.html`,
    'AccessDeniedException: You do not have sufficient access to perform this action. (observed on the wire for CloudFormation: AccessDenied, 403)',
  ),
  throttling: error(
    'cloudformation.throttling',
    'Throttling',
    400,
    'Over the API rate: Throttling "Rate exceeded".',
    `${CFN}/CommonErrors.html`,
    'ThrottlingException: The request was denied due to request throttling. HTTP Status Code: 400',
  ),
  common: commonErrors('cloudformation', `${CFN}/CommonErrors.html`),
  operations: [
    {
      service: 'cloudformation',
      operation: 'DescribeStacks',
      calledBy: [
        'lib/cli/drill-command.ts',
        'lib/cli/migrate-command.ts',
        'lib/cli/hold-command.ts',
        'lib/cli/failover-command.ts',
      ],
      reference: `${CFN}/API_DescribeStacks.html`,
      iam: (input, w) => [
        {
          action: 'cloudformation:DescribeStacks',
          resources: [
            `arn:${w.partition}:cloudformation:${w.region}:${w.account}:stack/${str(input.StackName, '*')}/*`,
          ],
        },
      ],
      relies: [
        row(
          'cloudformation.DescribeStacks.outputs',
          'Returns the stack with its Outputs (OutputKey, OutputValue): how the CLI finds the state machines and health checks.',
          `${CFN}/API_DescribeStacks.html`,
          'Returns the description for the specified stack; if no stack name was specified, then it returns the description for all the stacks created.',
        ),
      ],
      errors: [
        error(
          'cloudformation.DescribeStacks.no-stack',
          'ValidationError',
          400,
          'No stack of that name in the client’s region: ValidationError "Stack with id X does not exist" (the same code as real validation errors).',
          `${CFN}/API_DescribeStacks.html`,
          "If the stack doesn't exist, a ValidationError is returned.",
        ),
      ],
    },
  ],
};

export const CLOUDWATCH: ServiceEntry = {
  service: 'cloudwatch',
  title: 'Amazon CloudWatch',
  global: false,
  accessDenied: error(
    'cloudwatch.access-denied',
    'AccessDenied',
    403,
    'A call IAM does not allow fails with AccessDenied.',
    `${CW}/CommonErrors.html`,
    'AccessDeniedException: You do not have sufficient access to perform this action.',
  ),
  throttling: error(
    'cloudwatch.throttling',
    'Throttling',
    400,
    'Over the API rate (GetMetricData 50 per second per region): Throttling.',
    `${CW_UG}/cloudwatch_limits.html`,
    'GetMetricData: 50 transactions per second (TPS)',
  ),
  common: commonErrors('cloudwatch', `${CW}/CommonErrors.html`),
  operations: [
    {
      service: 'cloudwatch',
      operation: 'GetMetricData',
      calledBy: [
        'lambdas/drill/steps/preflight-handler.ts',
        'lambdas/drill/steps/observe-dns-handler.ts',
        'lambdas/topology-sync/handler.ts',
      ],
      reference: `${CW}/API_GetMetricData.html`,
      iam: () => [{ action: 'cloudwatch:GetMetricData', resources: ['*'] }],
      relies: [
        row(
          'cloudwatch.GetMetricData.aggregates',
          'Returns each query’s values aggregated per Period with its Stat, newest first by default; StartTime inclusive, EndTime exclusive; a metric with no data in the range returns no values.',
          `${CW}/API_GetMetricData.html`,
          'You can use the GetMetricData API to retrieve CloudWatch metric values.',
        ),
        row(
          'cloudwatch.route53-health-check-status',
          'Route 53 publishes AWS/Route53 HealthCheckStatus (1 healthy, 0 unhealthy, Minimum) per HealthCheckId in us-east-1 only: what the drill reads instead of GetHealthCheckStatus.',
          'https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-cloudwatch.html',
          'HealthCheckStatus: The status of the health check endpoint that CloudWatch is checking. 1 indicates healthy, and 0 indicates unhealthy. Valid statistics: Minimum',
        ),
        row(
          'cloudwatch.alarm.missing-data',
          'An alarm with TreatMissingData "missing" goes to INSUFFICIENT_DATA when every point of its evaluation range is missing; Route 53 metric checks follow the data, not this setting.',
          `${CW_UG}/AlarmThatSendsEmail.html`,
          'If all data points in the alarm evaluation range are missing, the alarm transitions to INSUFFICIENT_DATA.',
          false,
        ),
      ],
      errors: [
        error(
          'cloudwatch.GetMetricData.bad-token',
          'InvalidNextToken',
          400,
          'A stale pagination token.',
          `${CW}/API_GetMetricData.html`,
          'InvalidNextToken: The next token specified is invalid. HTTP Status Code: 400',
          false,
        ),
      ],
    },
    {
      service: 'cloudwatch',
      operation: 'PutMetricData',
      calledBy: ['lambdas/topology-sync/handler.ts'],
      reference: `${CW}/API_PutMetricData.html`,
      iam: (input) => [
        {
          action: 'cloudwatch:PutMetricData',
          resources: ['*'],
          context: { 'cloudwatch:namespace': str(input.Namespace) },
        },
      ],
      relies: [
        row(
          'cloudwatch.PutMetricData.timestamp',
          'Stores each datum under its namespace, name and dimensions at its own Timestamp (default: when received); a datum repeated at the same time changes no Maximum.',
          `${CW}/API_PutMetricData.html`,
          'Publishes metric data points to Amazon CloudWatch. CloudWatch associates the data points with the specified metric. If the specified metric does not exist, CloudWatch creates the metric.',
        ),
        row(
          'cloudwatch.PutMetricData.namespace-condition',
          'IAM can limit it to one namespace with the cloudwatch:namespace condition key.',
          'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html',
          'Use IAM condition keys to limit users to publishing metrics only in the CloudWatch namespaces that you specify.',
          false,
        ),
      ],
      errors: [
        error(
          'cloudwatch.PutMetricData.invalid',
          'InvalidParameterValue',
          400,
          'A value CloudWatch rejects (a non-finite number, too many data).',
          `${CW}/API_PutMetricData.html`,
          'InvalidParameterValue: The value of an input parameter is bad or out-of-range. HTTP Status Code: 400',
          false,
        ),
      ],
    },
  ],
};

export const SNS_SERVICE: ServiceEntry = {
  service: 'sns',
  title: 'Amazon SNS',
  global: false,
  accessDenied: error(
    'sns.access-denied',
    'AuthorizationError',
    403,
    'A call IAM does not allow fails with AuthorizationError, HTTP 403.',
    `${SNS}/API_Publish.html`,
    'AuthorizationError: Indicates that the user has been denied access to the requested resource. HTTP Status Code: 403',
    true,
    'AuthorizationErrorException',
  ),
  throttling: error(
    'sns.throttling',
    'Throttling',
    400,
    'Over the publish rate of the region.',
    `${SNS}/CommonErrors.html`,
    'ThrottlingException: The request was denied due to request throttling. HTTP Status Code: 400',
    false,
  ),
  common: commonErrors('sns', `${SNS}/CommonErrors.html`),
  operations: [
    {
      service: 'sns',
      operation: 'Publish',
      calledBy: [
        'statemachines/blue-green-migration.asl.json',
        'statemachines/failover-drill.asl.json',
        'lambdas/safety-net/drill-handler.ts',
      ],
      reference: `${SNS}/API_Publish.html`,
      iam: (input) => [{ action: 'sns:Publish', resources: [str(input.TopicArn)] }],
      relies: [
        row(
          'sns.Publish.limits',
          'Subject: UTF-8, no line breaks, under 100 characters; Message at most 256 KB; the topic must be in the caller’s region. A KMS-encrypted topic also needs kms:GenerateDataKey* and kms:Decrypt on its key.',
          `${SNS}/API_Publish.html`,
          'Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 characters long.',
        ),
      ],
      errors: [
        error(
          'sns.Publish.not-found',
          'NotFound',
          404,
          'No topic of that ARN.',
          `${SNS}/API_Publish.html`,
          'NotFound: Indicates that the requested resource does not exist. HTTP Status Code: 404',
          true,
          'NotFoundException',
        ),
        error(
          'sns.Publish.invalid-parameter',
          'InvalidParameter',
          400,
          'A subject of 100 characters or more, or with a line break.',
          `${SNS}/API_Publish.html`,
          'InvalidParameter: Indicates that a request parameter does not comply with the associated constraints. HTTP Status Code: 400',
          true,
          'InvalidParameterException',
        ),
      ],
    },
    {
      service: 'sns',
      operation: 'ListSubscriptionsByTopic',
      calledBy: ['lib/cli/doctor-command.ts'],
      reference: `${SNS}/API_ListSubscriptionsByTopic.html`,
      iam: (input) => [{ action: 'sns:ListSubscriptionsByTopic', resources: [str(input.TopicArn)] }],
      relies: [
        row(
          'sns.ListSubscriptionsByTopic.pending',
          'Up to 100 per page; an unconfirmed subscription’s SubscriptionArn is the literal PendingConfirmation (deleted after 3 days).',
          'https://docs.aws.amazon.com/sns/latest/dg/sns-create-subscribe-endpoint-to-topic.html',
          'The subscription ID displays PendingConfirmation until the subscription is confirmed.',
        ),
      ],
      errors: [
        error(
          'sns.ListSubscriptionsByTopic.not-found',
          'NotFound',
          404,
          'No topic of that ARN.',
          `${SNS}/API_ListSubscriptionsByTopic.html`,
          'NotFound: Indicates that the requested resource does not exist. HTTP Status Code: 404',
          true,
          'NotFoundException',
        ),
      ],
    },
  ],
};
