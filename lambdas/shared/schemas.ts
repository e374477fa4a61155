import { z } from 'zod';
import {
  AWS_REGION,
  HOST_NAME,
  HOST_NAME_OR_FQDN,
  HOSTED_ZONE_ID,
  LOWER_IDENTIFIER,
  RDS_INSTANCE_IDENTIFIER,
  SQL_IDENTIFIER,
} from './patterns';

/** The step inputs' field schemas, one per rule of patterns.ts, each with the message a refusal gives. */
export const awsRegion = z.string().regex(AWS_REGION, { error: 'must be an AWS Region code' });
export const hostName = z.string().regex(HOST_NAME, { error: 'must be a host name' });
export const hostNameOrFqdn = z.string().regex(HOST_NAME_OR_FQDN, { error: 'must be a host name' });
export const hostedZoneId = z.string().regex(HOSTED_ZONE_ID, { error: 'must be a Route 53 hosted zone id' });
export const rdsInstanceIdentifier = z
  .string()
  .regex(RDS_INSTANCE_IDENTIFIER, { error: 'must be an RDS instance identifier' });
export const lowerIdentifier = z
  .string()
  .regex(LOWER_IDENTIFIER, { error: 'must be a lower-case identifier' });
/** A database to create or name (RDS DBName, CREATE DATABASE): letters, digits, underscore. */
export const databaseName = z
  .string()
  .regex(SQL_IDENTIFIER, { error: 'must be a database name (letters, digits, underscore; at most 63)' });
