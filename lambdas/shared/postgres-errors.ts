import { DatabaseError as ServerError } from 'pg';

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

/** An ErrorResponse from the server (it carries a SQLSTATE and a severity), as opposed to a socket or driver error. */
export function isServerError(error: unknown): error is ServerError {
  return error instanceof ServerError;
}

/**
 * Whether the server ended the session with this error (severity FATAL or PANIC: shutdown, crash, a server still
 * starting, authentication). An ERROR-severity response fails one statement and leaves the session usable, whatever
 * its SQLSTATE: a script may raise 57P03 or 'Connection terminated' itself.
 */
export function endsSession(error: ServerError): boolean {
  return error.severity === 'FATAL' || error.severity === 'PANIC';
}

/**
 * Maps a node-postgres, TLS or socket error to a failure kind. A server ErrorResponse is classified by its
 * SQLSTATE and severity only; message text is read only for errors the driver or the socket produced.
 */
export function classifyPostgresError(error: unknown): PostgresFailureKind {
  const code = errorCode(error);
  if (code === '28P01' || code === '28000') return 'auth_failed';
  // 25006: read_only_sql_transaction (a replica, or default_transaction_read_only).
  if (code === '25006') return 'read_only';
  // 57014: statement cancelled by statement_timeout.
  if (code === '57014') return 'timeout';
  // The server answered. Only its own shutdown, crash or start-up ending the session (57P01-57P03 at FATAL or
  // PANIC) means it is not serving; any other refusal (too many connections 53300, an unknown database) is an
  // answer, and an ERROR-severity 57P0x is a script's own RAISE.
  if (isServerError(error))
    return endsSession(error) && code.startsWith('57P') ? 'unreachable' : 'query_failed';
  const message = error instanceof Error ? error.message : String(error);
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
  if (/timeout|timed out/i.test(message)) return 'timeout';
  // 57P01-57P03 without a server severity (a caller's own error object): the server is shutting down, crashed or
  // still starting. The messages are node-postgres's own for a socket that closed.
  if (
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
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
