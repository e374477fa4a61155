import { commonErrors, error, row, type CallSite, type ServiceEntry } from './types';
import { str } from '../input';

const API = 'https://docs.aws.amazon.com/lambda/latest/api';
const DG = 'https://docs.aws.amazon.com/lambda/latest/dg';

/** A function's ARN from the name the call gives (the topology sync names functions by name). */
const functionArn = (input: Record<string, unknown>, w: CallSite) => {
  const name = str(input.FunctionName);
  return name.startsWith('arn:')
    ? name
    : `arn:${w.partition}:lambda:${w.region}:${w.account}:function:${name}`;
};

/**
 * Lambda's control plane, as the topology sync (lambdas/topology-sync) uses it to point the health probes at what
 * the topology says. The local world does not simulate it: the sync's tests mock these calls
 * (aws-sdk-client-mock), from these rows.
 */
export const LAMBDA: ServiceEntry = {
  service: 'lambda',
  title: 'AWS Lambda (control plane)',
  global: false,
  accessDenied: error(
    'lambda.access-denied',
    'AccessDeniedException',
    403,
    'A call IAM does not allow fails with AccessDeniedException, HTTP 403.',
    `${API}/CommonErrors.html`,
    'AccessDeniedException: You do not have sufficient access to perform this action. HTTP Status Code: 403',
    false,
  ),
  throttling: error(
    'lambda.throttling',
    'TooManyRequestsException',
    429,
    'Over the request rate: TooManyRequestsException, retried by the SDK.',
    `${API}/API_UpdateFunctionConfiguration.html`,
    'TooManyRequestsException: The request throughput limit was exceeded. HTTP Status Code: 429',
    false,
  ),
  common: commonErrors('lambda', `${API}/CommonErrors.html`).map((e) => ({ ...e, simulated: false })),
  operations: [
    {
      service: 'lambda',
      operation: 'GetFunctionConfiguration',
      calledBy: ['lambdas/topology-sync/probes.ts'],
      reference: `${API}/API_GetFunctionConfiguration.html`,
      iam: (input, w) => [{ action: 'lambda:GetFunctionConfiguration', resources: [functionArn(input, w)] }],
      relies: [
        row(
          'lambda.GetFunctionConfiguration.state',
          'Returns the version-specific settings, Environment.Variables among them, with State, LastUpdateStatus (InProgress while an update is being applied) and the RevisionId an update can be guarded by.',
          `${API}/API_GetFunctionConfiguration.html`,
          'Returns the version-specific settings of a Lambda function or version. The output includes only options that can vary between versions of a function.',
          false,
        ),
      ],
      errors: [
        error(
          'lambda.GetFunctionConfiguration.not-found',
          'ResourceNotFoundException',
          404,
          'No function of that name in the client’s region.',
          `${API}/API_GetFunctionConfiguration.html`,
          'ResourceNotFoundException: The resource specified in the request does not exist. HTTP Status Code: 404',
          false,
        ),
      ],
    },
    {
      service: 'lambda',
      operation: 'UpdateFunctionConfiguration',
      calledBy: ['lambdas/topology-sync/probes.ts'],
      reference: `${API}/API_UpdateFunctionConfiguration.html`,
      iam: (input, w) => [
        { action: 'lambda:UpdateFunctionConfiguration', resources: [functionArn(input, w)] },
      ],
      relies: [
        row(
          'lambda.UpdateFunctionConfiguration.in-progress',
          'The update is applied asynchronously (about a minute for a function in a VPC); meanwhile the function can be invoked with its previous settings but not modified.',
          `${API}/API_UpdateFunctionConfiguration.html`,
          "When you update a function, Lambda provisions an instance of the function and its supporting resources. If your function connects to a VPC, this process can take a minute. During this time, you can't modify the function, but you can still invoke it.",
          false,
        ),
        row(
          'lambda.UpdateFunctionConfiguration.environment',
          'Environment.Variables is the whole map: variables left out are removed, so the sync writes every variable back.',
          `${API}/API_Environment.html`,
          "A function's environment variable settings. You can use environment variables to adjust your function's behavior without updating code.",
          false,
        ),
        row(
          'lambda.UpdateFunctionConfiguration.new-environments',
          'Execution environments already running keep the settings they started with; the next ones start with the new settings.',
          `${DG}/configuration-envvars.html`,
          'When you publish a version, the environment variables are locked for that version along with other version-specific configuration settings.',
          false,
        ),
      ],
      errors: [
        error(
          'lambda.UpdateFunctionConfiguration.conflict',
          'ResourceConflictException',
          409,
          'Another operation (a deploy, an earlier update) is in progress: left for the next run.',
          `${API}/API_UpdateFunctionConfiguration.html`,
          'ResourceConflictException: The resource already exists, or another operation is in progress. HTTP Status Code: 409',
          false,
        ),
        error(
          'lambda.UpdateFunctionConfiguration.precondition-failed',
          'PreconditionFailedException',
          412,
          'The RevisionId given is not the function’s latest: it changed since it was read.',
          `${API}/API_UpdateFunctionConfiguration.html`,
          'PreconditionFailedException: The RevisionId provided does not match the latest RevisionId for the Lambda function or alias. HTTP Status Code: 412',
          false,
        ),
      ],
    },
  ],
};
