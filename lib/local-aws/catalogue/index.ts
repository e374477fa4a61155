import { CLOUDFORMATION, CLOUDWATCH, EVENTBRIDGE, SNS_SERVICE } from './control-plane';
import { LAMBDA } from './lambda';
import { RDS } from './rds';
import { ROUTE53 } from './route53';
import { S3 } from './s3';
import { SECRETS_MANAGER } from './secrets-manager';
import { SSM } from './ssm';
import { STEP_FUNCTIONS } from './step-functions';
import type { ErrorRow, OperationEntry, ServiceEntry, ServiceName } from './types';

export * from './types';

/** Every service the code calls, in the order the catalogue document lists them. */
export const CATALOGUE: readonly ServiceEntry[] = [
  ROUTE53,
  S3,
  SECRETS_MANAGER,
  SSM,
  STEP_FUNCTIONS,
  RDS,
  EVENTBRIDGE,
  CLOUDFORMATION,
  CLOUDWATCH,
  SNS_SERVICE,
  LAMBDA,
];

export function serviceEntry(service: ServiceName): ServiceEntry {
  const entry = CATALOGUE.find((s) => s.service === service);
  if (entry === undefined) throw new Error(`no catalogue entry for service ${service}`);
  return entry;
}

export function operationEntry(service: ServiceName, operation: string): OperationEntry {
  const entry = serviceEntry(service).operations.find((o) => o.operation === operation);
  if (entry === undefined)
    throw new Error(
      `${service}:${operation} is not in the AWS behaviour catalogue (lib/local-aws/catalogue): add it, with its documented behaviour and errors, before simulating it`,
    );
  return entry;
}

/**
 * The catalogue row for an error a simulator is about to raise. Only documented errors exist in the local world:
 * the operation's own, or the service's access-denied and throttling forms.
 */
export function documentedError(service: ServiceName, operation: string, code: string): ErrorRow {
  const s = serviceEntry(service);
  const found = [
    ...operationEntry(service, operation).errors,
    s.accessDenied,
    s.throttling,
    ...(s.common ?? []),
  ].find((e) => e.code === code);
  if (found === undefined)
    throw new Error(`${service}:${operation} has no documented error ${code} in the AWS behaviour catalogue`);
  return found;
}

/** Every row id in the catalogue, with whether a simulator implements it. */
export function catalogueRows(): { id: string; simulated: boolean }[] {
  return CATALOGUE.flatMap((s) => [
    s.accessDenied,
    s.throttling,
    ...(s.common ?? []),
    ...s.operations.flatMap((o) => [...o.relies, ...o.errors]),
  ]).map((r) => ({ id: r.id, simulated: r.simulated }));
}
