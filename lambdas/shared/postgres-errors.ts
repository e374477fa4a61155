/** The one redaction rule (lambdas/shared/redact.ts), re-exported for the callers that classify errors here. */
export { redact } from './redact';

/** Why a PostgreSQL operation failed, in the terms an operator acts on. */
export type PostgresFailureKind =
  'unreachable' | 'timeout' | 'auth_failed' | 'tls_failed' | 'read_only' | 'query_failed';

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

export function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
}

/** Maps a node-postgres, TLS or socket error to a failure kind. */
export function classifyPostgresError(error: unknown): PostgresFailureKind {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === '28P01' || code === '28000') return 'auth_failed';
  // 25006: read_only_sql_transaction (a replica, or default_transaction_read_only).
  if (code === '25006') return 'read_only';
  // A socket error code wins over words in the message: Node reports a reset during the handshake as
  // ECONNRESET "Client network socket disconnected before secure TLS connection was established", which is
  // no answer at all, not a TLS refusal.
  if (UNREACHABLE_CODES.has(code)) return 'unreachable';
  if (
    TLS_CODES.has(code) ||
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    /SSL|TLS|certificate/i.test(message)
  ) {
    return 'tls_failed';
  }
  // 57014: statement cancelled by statement_timeout.
  if (code === '57014' || /timeout|timed out/i.test(message)) return 'timeout';
  // 57P01-57P03: the server is shutting down, crashed or still starting.
  if (
    UNREACHABLE_CODES.has(code) ||
    code.startsWith('57P') ||
    /terminated unexpectedly|Connection terminated|not queryable/i.test(message)
  ) {
    return 'unreachable';
  }
  return 'query_failed';
}

/** An error whose message is safe to show: classified and redacted. */
export class DatabaseError extends Error {
  override readonly name = 'DatabaseError';
  constructor(
    readonly kind: PostgresFailureKind,
    message: string,
  ) {
    super(message);
  }
}
