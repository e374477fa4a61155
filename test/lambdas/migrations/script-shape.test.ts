import { scriptShape } from '../../../lambdas/migrations/script-shape';

describe('scriptShape: statements and a clean end, by PostgreSQL lexical rules', () => {
  it.each([
    ['', 0, true],
    ['-- only a comment\n', 0, true],
    ['SELECT 1', 1, true],
    ['SELECT 1;', 1, true],
    ['SELECT 1; SELECT 2;', 2, true],
    ["SELECT ';';", 1, true],
    ["SELECT 'it''s; fine';", 1, true],
    ["SELECT E'a\\';b';", 1, true],
    ['SELECT "a;b" FROM t;', 1, true],
    ['CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; SELECT 2; $$ LANGUAGE sql;', 1, true],
    ['DO $body$ BEGIN PERFORM 1; END $body$;\nSELECT 2;', 2, true],
    ['SELECT $1;', 1, true],
    ['/* a; /* nested; */ b; */ SELECT 1;', 1, true],
    ['SELECT 1; -- trailing; comment', 1, true],
    ["SELECT 'unterminated", 1, false],
    ['SELECT 1; /* unterminated', 1, false],
    ['SELECT $$ unterminated', 1, false],
  ])('%j has %d statement(s), ends clean: %s', (script, statements, endsClean) => {
    expect(scriptShape(script)).toEqual({ statements, endsClean });
  });
});
