import { SQL_IDENTIFIER, SQL_IDENTIFIER_DESCRIPTION } from '../../lambdas/shared/sql-identifier';
import { setIdentifier } from '../../lambdas/workflow-input/schema';
import { UsageError } from './usage-error';
import { RDS_INSTANCE_IDENTIFIER, RESOURCE_PREFIX } from '../../lambdas/shared/patterns';

/**
 * Parsers for CLI option values, run by commander as it reads the command line: a bad value stops the
 * command before any AWS or database call, with a message that names the flag and never echoes the value
 * (it may be a pasted password or URL).
 */
type Parser<T> = (value: string) => T;

function matching(flag: string, pattern: RegExp, what: string): Parser<string> {
  return (value) => {
    if (!pattern.test(value)) throw new UsageError(`${flag} must be ${what}`);
    return value;
  };
}

/** A whole number within [min, max]. */
export function wholeNumber(flag: string, max: number, unit = '', min = 1): Parser<number> {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new UsageError(
        `${flag} must be a whole number from ${min} to ${max}${unit === '' ? '' : ` ${unit}`}`,
      );
    return n;
  };
}

export const rdsInstanceId = (flag: string) =>
  matching(flag, RDS_INSTANCE_IDENTIFIER, 'an RDS instance identifier');

export const stackName = (flag = '--stack') =>
  matching(flag, /^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name');

export const stateMachineArn = (flag = '--state-machine-arn') =>
  matching(
    flag,
    /^arn:aws[a-z-]*:states:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/,
    'a Step Functions state machine ARN',
  );

export const executionArn = (flag: string) =>
  matching(
    flag,
    /^arn:aws[a-z-]*:states:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:execution:[A-Za-z0-9_-]{1,80}:[A-Za-z0-9_-]{1,80}$/,
    'a Step Functions execution ARN',
  );

export const healthCheckId = (flag = '--health-check-id') =>
  matching(
    flag,
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    'a Route 53 health check id (a UUID)',
  );

export const regionName = (flag = '--region') =>
  matching(flag, /^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region such as us-east-1');

export const executionName = (flag = '--execution-name') =>
  matching(flag, /^[A-Za-z0-9_-]{1,80}$/, 'a Step Functions execution name (letters, digits, - and _)');

export const resourcePrefix = (flag = '--resource-prefix') =>
  matching(flag, RESOURCE_PREFIX, '2-20 lower-case letters, digits or hyphens, starting with a letter');

export const ruleName = (flag = '--schedule-rule') =>
  matching(flag, /^[A-Za-z0-9._-]{1,64}$/, 'an EventBridge rule name');

/** A schema name: `--schema` and the `schema` parameter of a database URL. */
export const identifier = (flag: string) => matching(flag, SQL_IDENTIFIER, SQL_IDENTIFIER_DESCRIPTION);

export const migrationName = (flag: string) =>
  matching(flag, /^[A-Za-z0-9_-]{1,255}$/, 'a migration folder name such as 20240101000000_init');

export const recordSetIdentifier =
  (flag: string): Parser<string> =>
  (value) => {
    if (!setIdentifier.safeParse(value).success)
      throw new UsageError(`${flag} must be a Route 53 set identifier (letters, digits, . _ : -)`);
    return value;
  };

/**
 * A local folder path: anything a file system accepts, within reason, but not a URL (error messages name the
 * folder, and a pasted connection URL would carry its password into them).
 */
export const folderPath =
  (flag: string): Parser<string> =>
  (value) => {
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
    if (value === '' || value.length > 4096 || /[\0\n\r]/.test(value) || url)
      throw new UsageError(`${flag} must be a folder path`);
    return value;
  };
