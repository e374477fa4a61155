/**
 * The identifiers the toolkit accepts for schema, table and column names: an unquoted PostgreSQL identifier
 * (letter or underscore, then letters, digits, underscores; at most 63 bytes, NAMEDATALEN - 1). Stated once:
 * `--schema`, the `schema` parameter of a database URL and the step inputs all check this.
 */
export const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export const SQL_IDENTIFIER_DESCRIPTION = 'an identifier (letters, digits, underscore; at most 63)';

/** Any name as a quoted SQL identifier (double quotes doubled), for names read from the catalog. */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
