/**
 * The toolkit's validation patterns, each stated once and used by the workflow inputs, the step handlers,
 * the `dr` CLI and the CDK configuration. Constants only (no imports), so the CDK app can load it.
 */

/** One DNS label: letters, digits, hyphens inside, at most 63 characters. */
const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';

/** A host name (one label, such as localhost, or several), at most 253 characters, without a final dot. */
export const HOST_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(\\.${LABEL})*$`);

/** A host name as Route 53 and DNS answers write it: the same, with an optional final dot. */
export const HOST_NAME_OR_FQDN = new RegExp(`^(?=.{1,253}$)${LABEL}(\\.${LABEL})*\\.?$`);

/**
 * A DNS record name Route 53 may hold: two labels or more ending in a top-level domain, a label may start
 * with an underscore (`_service.example.org`), an optional final dot.
 */
export const DNS_RECORD_NAME =
  /^(?=.{1,254}$)([A-Za-z0-9_]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$/;

/** A Route 53 hosted zone id (Z and up to 31 upper-case letters and digits). */
export const HOSTED_ZONE_ID = /^Z[A-Z0-9]{1,31}$/;

/**
 * An RDS DB instance identifier: 1 to 63 lower-case letters, digits and hyphens, starting with a letter, not
 * ending with a hyphen, never two hyphens in a row (the RDS API reference, DBInstanceIdentifier).
 */
export const RDS_INSTANCE_IDENTIFIER = /^(?!.*--)[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The identifiers the toolkit accepts for schema, table and column names: an unquoted PostgreSQL identifier
 * (letter or underscore, then letters, digits, underscores; at most 63 bytes, NAMEDATALEN - 1).
 */
export const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A table as `table` or `schema.table`, each part an SQL_IDENTIFIER. */
export const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

/** A lower-case PostgreSQL identifier (a database, user or subscription name this toolkit creates or uses). */
export const LOWER_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** An AWS Region code (`us-east-1`, `ap-southeast-2`, `us-gov-west-1`). */
export const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** The toolkit's resource prefix (`dr.resourcePrefix`): 2-20 lower-case letters, digits or hyphens. */
export const RESOURCE_PREFIX = /^[a-z][a-z0-9-]{1,19}$/;

/**
 * The logical dumps' key prefix in the backup buckets: empty, or folders each ending in `/`, none of them `.`
 * or `..` (each starts with a letter, digit, `_` or `-`).
 */
export const DUMP_PREFIX = /^(?:[A-Za-z0-9_-][A-Za-z0-9_.-]{0,62}\/){0,8}$/;
