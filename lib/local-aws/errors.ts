import { documentedError, type ServiceName } from './catalogue';

/** An error shaped as the AWS SDK v3 raises it for a service's answer: name, message, $fault, $metadata. */
export interface AwsError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { readonly httpStatusCode: number; readonly requestId: string };
}

let requests = 0;

/**
 * The error a service answers with, for a simulator to throw. It must be documented in the catalogue for that
 * operation (or be the service's access-denied or throttling form): the local world cannot invent failures AWS
 * does not have. The name is the SDK's (a modeled error's shape name, else the wire code, which goes in `Code`).
 * HEAD requests carry no body, so the SDK knows only the status: a 404 is NotFound, anything else "Unknown",
 * with the message "UnknownError" (what @aws-sdk/client-s3 raises).
 */
export function awsError(service: ServiceName, operation: string, code: string, message: string): AwsError {
  const documented = documentedError(service, operation, code);
  const status = documented.status;
  const headRequest = service === 's3' && operation === 'HeadObject';
  const name = headRequest
    ? status === 404
      ? 'NotFound'
      : 'Unknown'
    : (documented.sdkName ?? documented.code);
  const error = new Error(headRequest ? 'UnknownError' : message) as Error & {
    $fault: 'client' | 'server';
    $metadata: { httpStatusCode: number; requestId: string };
    Code?: string;
  };
  error.name = name;
  if (!headRequest) error.Code = documented.code;
  error.$fault = status >= 500 ? 'server' : 'client';
  error.$metadata = { httpStatusCode: status, requestId: `local-${++requests}` };
  return error;
}

/** The message IAM gives a principal it does not allow. */
export function notAuthorized(principalArn: string, action: string, resource: string): string {
  return `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;
}
