import { DatabaseError as ServerError } from 'pg';
import { classifyPostgresError } from '../../../lambdas/shared/postgres-errors';

/** An ErrorResponse as node-postgres builds it from the server's message. */
function serverError(message: string, code: string, severity: string): ServerError {
  const error = new ServerError(message, message.length, 'error');
  error.code = code;
  error.severity = severity;
  return error;
}

describe('classifyPostgresError: by SQLSTATE and severity for server errors, not by message words', () => {
  it.each([
    [
      'a script raising "Connection terminated"',
      serverError('Connection terminated unexpectedly', 'P0001', 'ERROR'),
      'query_failed',
    ],
    [
      'a script raising SQLSTATE 57P03',
      serverError('the database system is starting up', '57P03', 'ERROR'),
      'query_failed',
    ],
    [
      'a statement mentioning a timeout',
      serverError('canceling statement due to lock timeout', '55P03', 'ERROR'),
      'query_failed',
    ],
    [
      'the server still starting (FATAL 57P03)',
      serverError('the database system is starting up', '57P03', 'FATAL'),
      'unreachable',
    ],
    [
      'the session terminated (FATAL 57P01)',
      serverError('terminating connection due to administrator command', '57P01', 'FATAL'),
      'unreachable',
    ],
    [
      'too many connections (FATAL 53300): the server answered',
      serverError('sorry, too many clients already', '53300', 'FATAL'),
      'query_failed',
    ],
    [
      'an unknown database (FATAL 3D000): the server answered',
      serverError('database "nope" does not exist', '3D000', 'FATAL'),
      'query_failed',
    ],
    [
      'a wrong password',
      serverError('password authentication failed for user "app"', '28P01', 'FATAL'),
      'auth_failed',
    ],
    [
      'statement_timeout',
      serverError('canceling statement due to statement timeout', '57014', 'ERROR'),
      'timeout',
    ],
    [
      'a read-only server',
      serverError('cannot execute INSERT in a read-only transaction', '25006', 'ERROR'),
      'read_only',
    ],
    ['the socket closing under the driver', new Error('Connection terminated unexpectedly'), 'unreachable'],
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      'unreachable',
    ],
  ])('%s', (_what, error, kind) => {
    expect(classifyPostgresError(error)).toBe(kind);
  });
});
