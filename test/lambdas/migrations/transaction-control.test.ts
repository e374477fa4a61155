import {
  statementKind,
  topLevelStatements,
  uncommittedWork,
} from '../../../lambdas/migrations/transaction-control';

const kinds = (script: string) => topLevelStatements(script).map(statementKind);

describe('transaction control read from a script', () => {
  it('names each transaction-control statement by its grammar', () => {
    expect(
      kinds(
        [
          'BEGIN',
          'START TRANSACTION ISOLATION LEVEL SERIALIZABLE',
          'SAVEPOINT a',
          'ROLLBACK TO a',
          'ROLLBACK WORK TO SAVEPOINT a',
          'rollback transaction to savepoint a',
          'RELEASE a',
          'ROLLBACK AND CHAIN',
          'ABORT',
          'COMMIT',
          'END WORK',
          "PREPARE TRANSACTION 'x'",
          "COMMIT PREPARED 'x'",
          "ROLLBACK PREPARED 'x'",
          'PREPARE transaction AS SELECT 1',
          '"ROLLBACK"',
          'CREATE TABLE t (a int)',
        ].join(';\n'),
      ),
    ).toEqual([
      'begin',
      'begin',
      'savepoint',
      'rollback-to-savepoint',
      'rollback-to-savepoint',
      'rollback-to-savepoint',
      'other',
      'rollback',
      'rollback',
      'commit',
      'commit',
      'prepare-transaction',
      'commit-prepared',
      'rollback-prepared',
      'other',
      'other',
      'other',
    ]);
  });

  it('splits only at top-level semicolons', () => {
    const script = [
      "SELECT 'a;b', E'c\\';d', U&'e;f', \"g;h\", $$ i; j $$, $t$ $$; $t$",
      '-- k; l',
      '/* m; /* n; */ o; */ SELECT 1',
      'CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); SELECT CASE WHEN true THEN 1 END; END',
      'CREATE FUNCTION q() RETURNS int LANGUAGE sql RETURN (SELECT 1)',
      'SELECT a$b$ FROM t WHERE x = $1',
      ';;',
    ].join(';\n');
    expect(topLevelStatements(script).map((t) => t[0]?.text)).toEqual([
      'SELECT',
      'SELECT',
      'CREATE',
      'CREATE',
      'SELECT',
    ]);
  });

  it('judges what the server would have committed', () => {
    expect(uncommittedWork('CREATE TABLE t (a int);', false)).toBeUndefined();
    expect(uncommittedWork('BEGIN; CREATE TABLE t (a int); COMMIT;', false)).toBeUndefined();
    expect(
      uncommittedWork('BEGIN; SAVEPOINT s; CREATE TABLE t (a int); ROLLBACK TO s; COMMIT;', false),
    ).toBeUndefined();
    // Nothing was done before it: a defensive ROLLBACK discards nothing.
    expect(uncommittedWork('ROLLBACK; CREATE TABLE t (a int);', false)).toBeUndefined();
    expect(uncommittedWork('BEGIN; SAVEPOINT s; CREATE TABLE t (a int); ROLLBACK;', false)).toMatch(
      /ran ROLLBACK/,
    );
    // The implicit block before BEGIN joins the explicit one, and the ROLLBACK takes both.
    expect(uncommittedWork('CREATE TABLE t (a int); BEGIN; ABORT;', false)).toMatch(/ran ROLLBACK/);
    expect(
      uncommittedWork('CREATE TABLE t (a int); COMMIT; BEGIN; CREATE TABLE u (a int); ROLLBACK;', false),
    ).toMatch(/committed outside it stays/);
    expect(uncommittedWork("BEGIN; CREATE TABLE t (a int); PREPARE TRANSACTION 'm\n1';", false)).toMatch(
      /PREPARE TRANSACTION "'m\\n1'"/,
    );
    expect(uncommittedWork("ROLLBACK PREPARED 'x';", false)).toBeUndefined();
    expect(uncommittedWork('BEGIN; CREATE TABLE t (a int);', true)).toMatch(/left a transaction open/);
  });

  it('keeps only the first tokens of each statement, however long the script', () => {
    const script = 'INSERT INTO t VALUES (1, 2, 3, 4, 5, 6, 7, 8);\n'.repeat(200_000);
    const statements = topLevelStatements(script);
    expect(statements).toHaveLength(200_000);
    expect(statements.every((s) => s.length <= 4)).toBe(true);
  });
});
