/**
 * SQL_IDENTIFIER (patterns.ts) is what `--schema`, the `schema` parameter of a database URL and the step
 * inputs accept for schema, table and column names.
 */
export { SQL_IDENTIFIER } from './patterns';

export const SQL_IDENTIFIER_DESCRIPTION = 'an identifier (letters, digits, underscore; at most 63)';

/** Any name as a quoted SQL identifier (double quotes doubled), for names read from the catalog. */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
