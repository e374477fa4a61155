/**
 * The AWS behaviour catalogue: for every AWS API the Lambdas, the workflows and the CLI call, what the code
 * relies on and every error mode it must handle, each with the page of the API reference or developer guide
 * it comes from. The local simulators implement these rows (and only these: an error they raise must be one
 * listed here), and docs/aws-behaviour.md is rendered from this data.
 */

/** Where a row comes from: the page, and the sentence (or a close paraphrase) that says it. */
export interface Citation {
  readonly url: string;
  readonly quote: string;
}

/** Who answers a call: the IAM service prefix and the SDK package (`@aws-sdk/client-<sdk>`). */
export type ServiceName =
  | 'route53'
  | 's3'
  | 'secretsmanager'
  | 'ssm'
  | 'states'
  | 'rds'
  | 'events'
  | 'cloudformation'
  | 'cloudwatch'
  | 'sns'
  | 'lambda';

export interface BehaviourRow {
  /** Stable id, `<service>.<Operation>.<key>`; simulator tests name it in brackets. */
  readonly id: string;
  readonly text: string;
  readonly source: Citation;
  /** The local simulator implements this row (and a test of the simulator proves it). */
  readonly simulated: boolean;
}

export interface ErrorRow extends BehaviourRow {
  /** The error code on the wire (what the API reference lists). */
  readonly code: string;
  readonly status: number;
  /**
   * The `error.name` the JS SDK v3 raises when it differs from the wire code: a modeled error takes its shape's
   * name (RDS "DBInstanceNotFound" arrives as DBInstanceNotFoundFault, SNS "NotFound" as NotFoundException).
   */
  readonly sdkName?: string;
}

export interface IamRequirement {
  readonly action: string;
  /** The resource ARN(s) the request is authorized against ('*' where the action has no resource type). */
  readonly resources: readonly string[];
  /** Condition keys the service puts in the request context. */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
}

/** What a call is authorized against, derived from its input and where it is made. */
export type IamOf = (input: Record<string, unknown>, where: CallSite) => readonly IamRequirement[];

/** Where a call is made, and how the service would name what it refers to. */
export interface CallSite {
  readonly region: string;
  readonly account: string;
  readonly partition: string;
  /** The full ARN of a resource the call names by name (a secret's ARN carries a random suffix). */
  readonly arnOf?: (kind: 'secret', nameOrArn: string) => string | undefined;
  /** The tags of a resource by its ARN, for the aws:ResourceTag/<key> condition keys the service supplies. */
  readonly tagsOf?: (arn: string) => Readonly<Record<string, string>> | undefined;
}

export interface OperationEntry {
  readonly service: ServiceName;
  readonly operation: string;
  /** Who calls it: a Lambda (its entry file under lambdas/), the CLI, or a Step Functions integration. */
  readonly calledBy: readonly string[];
  readonly reference: string;
  readonly iam: IamOf;
  readonly relies: readonly BehaviourRow[];
  readonly errors: readonly ErrorRow[];
}

export interface ServiceEntry {
  readonly service: ServiceName;
  readonly title: string;
  /** Global services sign for us-east-1 and ignore the client's region for placement. */
  readonly global: boolean;
  /** How the service answers a call IAM denies. */
  readonly accessDenied: ErrorRow;
  /** How it answers when the request rate is exceeded. */
  readonly throttling: ErrorRow;
  /** Errors any call of the service can answer with (an internal failure, the service unavailable). */
  readonly common?: readonly ErrorRow[];
  readonly operations: readonly OperationEntry[];
}

export const row = (
  id: string,
  text: string,
  url: string,
  quote: string,
  simulated = true,
): BehaviourRow => ({ id, text, source: { url, quote }, simulated });

export const error = (
  id: string,
  code: string,
  status: number,
  text: string,
  url: string,
  quote: string,
  simulated = true,
  sdkName?: string,
): ErrorRow => ({
  id,
  code,
  status,
  text,
  source: { url, quote },
  simulated,
  ...(sdkName === undefined ? {} : { sdkName }),
});

/** The internal-failure and unavailable errors every AWS query and REST API lists among its common errors. */
export function commonErrors(service: string, page: string): ErrorRow[] {
  return [
    error(
      `${service}.internal-failure`,
      'InternalFailure',
      500,
      'The service failed to process the request: retry.',
      page,
      'InternalFailure: The request processing has failed because of an unknown error, exception or failure. HTTP Status Code: 500',
    ),
    error(
      `${service}.service-unavailable`,
      'ServiceUnavailable',
      503,
      'The request failed because of a temporary failure of the server: retry.',
      page,
      'ServiceUnavailable: The request has failed due to a temporary failure of the server. HTTP Status Code: 503',
    ),
  ];
}
