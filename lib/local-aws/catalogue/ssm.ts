import { commonErrors, error, row, type CallSite, type ServiceEntry } from './types';
import { str } from '../input';

const API = 'https://docs.aws.amazon.com/systems-manager/latest/APIReference';
const UG = 'https://docs.aws.amazon.com/systems-manager/latest/userguide';

/** A parameter's ARN: `parameter` followed by its name (a hierarchical name keeps its inner slashes). */
const parameterArn = (input: Record<string, unknown>, w: CallSite) =>
  `arn:${w.partition}:ssm:${w.region}:${w.account}:parameter/${str(input.Name).replace(/^\//, '')}`;

export const SSM: ServiceEntry = {
  service: 'ssm',
  title: 'AWS Systems Manager Parameter Store',
  global: false,
  accessDenied: error(
    'ssm.access-denied',
    'AccessDeniedException',
    400,
    'A call IAM does not allow fails with AccessDeniedException, HTTP 400.',
    `${API}/CommonErrors.html`,
    'AccessDeniedException: You do not have sufficient access to perform this action. HTTP Status Code: 400',
  ),
  throttling: error(
    'ssm.throttling',
    'ThrottlingException',
    400,
    'Over the request rate: ThrottlingException, retried by the SDK.',
    `${API}/CommonErrors.html`,
    'ThrottlingException: The request was denied due to request throttling. HTTP Status Code: 400',
  ),
  common: commonErrors('ssm', `${API}/CommonErrors.html`),
  operations: [
    {
      service: 'ssm',
      operation: 'GetParameter',
      calledBy: ['lambdas/shared/topology.ts'],
      reference: `${API}/API_GetParameter.html`,
      iam: (input, w) => [{ action: 'ssm:GetParameter', resources: [parameterArn(input, w)] }],
      relies: [
        row(
          'ssm.GetParameter.latest',
          'Without a version or label selector it returns the latest version of the parameter, with its Version number.',
          `${API}/API_GetParameter.html`,
          'To query by parameter label, use "Name": "name:label". To query by parameter version, use "Name": "name:version".',
        ),
        row(
          'ssm.GetParameter.dynamic-reference',
          'CloudFormation reads a parameter through `{{resolve:ssm:name}}` only when it creates or updates the resource that names it; a changed parameter alone changes nothing deployed.',
          'https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-ssm.html',
          "CloudFormation doesn't support drift detection on dynamic references. For ssm dynamic references where you haven't specified the parameter version, we recommend that, if you update the parameter version in Systems Manager, you also perform a stack update operation on any stacks that include the ssm dynamic reference, in order to fetch the latest parameter version.",
          false,
        ),
      ],
      errors: [
        error(
          'ssm.GetParameter.not-found',
          'ParameterNotFound',
          400,
          'No parameter of that name in the client’s region.',
          `${API}/API_GetParameter.html`,
          "ParameterNotFound: The parameter couldn't be found. Verify the name and try again. HTTP Status Code: 400",
        ),
      ],
    },
    {
      service: 'ssm',
      operation: 'PutParameter',
      calledBy: ['lambdas/shared/topology-change.ts'],
      reference: `${API}/API_PutParameter.html`,
      iam: (input, w) => [{ action: 'ssm:PutParameter', resources: [parameterArn(input, w)] }],
      relies: [
        row(
          'ssm.PutParameter.overwrite',
          'Overwrite (default false) must be true to change an existing parameter; each write creates a new version.',
          `${API}/API_PutParameter.html`,
          'Overwrite: Overwrite an existing parameter. The default value is false.',
        ),
        row(
          'ssm.PutParameter.versions',
          'Parameter Store keeps the 100 most recent versions of a parameter and deletes the oldest when a new one is created (unless it carries a label).',
          `${UG}/sysman-paramstore-versions.html`,
          'Parameter Store retains the 100 most recently created versions of a parameter. After this number of versions has been created, Parameter Store deletes the oldest version when a new one is created.',
          false,
        ),
      ],
      errors: [
        error(
          'ssm.PutParameter.already-exists',
          'ParameterAlreadyExists',
          400,
          'The parameter exists and Overwrite is not true: nothing is written.',
          `${API}/API_PutParameter.html`,
          "ParameterAlreadyExists: The parameter already exists. You can't create duplicate parameters. HTTP Status Code: 400",
        ),
        error(
          'ssm.PutParameter.too-many-updates',
          'TooManyUpdates',
          400,
          'Another update of the same parameter is in progress: retry.',
          `${API}/API_PutParameter.html`,
          'TooManyUpdates: There are concurrent updates for a resource that supports one update at a time. HTTP Status Code: 400',
          false,
        ),
      ],
    },
  ],
};
