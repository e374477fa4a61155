/**
 * What a migration script does with transactions, read from its text the way the server splits it: the
 * top-level statements (separated by semicolons outside quotes, comments, dollar-quoted bodies and SQL-standard
 * `BEGIN ATOMIC … END` function bodies, with psql's rule for the latter) and, for each, the transaction-control
 * command it is, if any. Command tags cannot tell these apart: `ROLLBACK` and `ROLLBACK TO SAVEPOINT` both
 * report ROLLBACK, `ROLLBACK PREPARED` too, and `PREPARE TRANSACTION` reports PREPARE TRANSACTION only on
 * servers that allow it.
 *
 * Transaction control inside a DO block or a called procedure is not visible here (it is in a string or in
 * the catalog), and is not judged.
 */

export type StatementKind =
  | 'begin'
  | 'commit'
  | 'rollback'
  | 'rollback-to-savepoint'
  | 'savepoint'
  | 'prepare-transaction'
  | 'commit-prepared'
  | 'rollback-prepared'
  | 'other';

interface Token {
  readonly kind: 'word' | 'string' | 'symbol';
  /** Upper-cased for words; the raw text otherwise. */
  readonly text: string;
}

/** PostgreSQL's identifier characters: letters, underscore, any non-ASCII; digits and $ after the first. */
const wordStart = (code: number) =>
  (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code >= 128;
const wordPart = (code: number) => wordStart(code) || (code >= 48 && code <= 57) || code === 36;
/** The server's whitespace: space, tab, newline, carriage return, form feed (and vertical tab). */
const isSpace = (code: number) => code === 32 || (code >= 9 && code <= 13);
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/** How many leading tokens of each statement are kept: enough to classify it. */
const HEAD = 4;

/**
 * The script's top-level statements, each as its first few tokens (empty statements left out). Linear in the
 * script's length, whatever its size.
 */
export function topLevelStatements(script: string): Token[][] {
  const statements: Token[][] = [];
  let tokens: Token[] = [];
  let count = 0;
  let words: string[] = [];
  let parenDepth = 0;
  let beginDepth = 0;
  const push = (token: Token) => {
    if (count < HEAD) tokens.push(token);
    if (token.kind === 'word' && words.length < HEAD) words.push(token.text);
    count += 1;
  };
  const endStatement = () => {
    if (count > 0) statements.push(tokens);
    tokens = [];
    words = [];
    count = 0;
    parenDepth = 0;
    beginDepth = 0;
  };
  /** psql's heuristic: inside CREATE [OR REPLACE] FUNCTION|PROCEDURE, BEGIN/CASE … END nest. */
  const inRoutineDefinition = () => {
    if (words[0] !== 'CREATE') return false;
    const next = words[1] === 'OR' && words[2] === 'REPLACE' ? words[3] : words[1];
    return next === 'FUNCTION' || next === 'PROCEDURE';
  };
  let i = 0;
  const n = script.length;
  /** Index just past a quoted run that ends at `quote` (doubled quotes stay inside; backslashes too if `escapes`). */
  const skipQuoted = (from: number, quote: string, escapes: boolean) => {
    let j = from;
    while (j < n) {
      const c = script[j];
      if (escapes && c === '\\') j += 2;
      else if (c === quote) {
        if (script[j + 1] === quote) j += 2;
        else return j + 1;
      } else j += 1;
    }
    return n;
  };
  while (i < n) {
    const c = script[i] as string;
    const next = script[i + 1];
    if (isSpace(script.charCodeAt(i))) {
      i += 1;
    } else if (c === '-' && next === '-') {
      const end = script.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (script[i] === '/' && script[i + 1] === '*') {
          depth += 1;
          i += 2;
        } else if (script[i] === '*' && script[i + 1] === '/') {
          depth -= 1;
          i += 2;
        } else i += 1;
      }
    } else if (c === "'") {
      const end = skipQuoted(i + 1, "'", false);
      push({ kind: 'string', text: script.slice(i, end) });
      i = end;
    } else if ((c === 'E' || c === 'e') && next === "'") {
      const end = skipQuoted(i + 2, "'", true);
      push({ kind: 'string', text: script.slice(i, end) });
      i = end;
    } else if (c === '"') {
      const end = skipQuoted(i + 1, '"', false);
      push({ kind: 'word', text: script.slice(i, end) });
      i = end;
    } else if (c === '$' && DOLLAR_TAG.test(script.slice(i, i + 64))) {
      const tag = (DOLLAR_TAG.exec(script.slice(i, i + 64)) as RegExpExecArray)[0];
      const close = script.indexOf(tag, i + tag.length);
      const end = close === -1 ? n : close + tag.length;
      push({ kind: 'string', text: script.slice(i, end) });
      i = end;
    } else if (wordStart(script.charCodeAt(i))) {
      let j = i + 1;
      while (j < n && wordPart(script.charCodeAt(j))) j += 1;
      const word = script.slice(i, j).toUpperCase();
      push({ kind: 'word', text: word });
      if (parenDepth === 0 && inRoutineDefinition()) {
        if (word === 'BEGIN') beginDepth += 1;
        else if (word === 'CASE' && beginDepth >= 1) beginDepth += 1;
        else if (word === 'END' && beginDepth > 0) beginDepth -= 1;
      }
      i = j;
    } else if (c === ';') {
      if (parenDepth === 0 && beginDepth === 0) endStatement();
      else push({ kind: 'symbol', text: c });
      i += 1;
    } else {
      if (c === '(') parenDepth += 1;
      else if (c === ')') parenDepth = Math.max(0, parenDepth - 1);
      push({ kind: 'symbol', text: c });
      i += 1;
    }
  }
  endStatement();
  return statements;
}

/** The transaction-control command a statement is (PostgreSQL's grammar for each), or 'other'. */
export function statementKind(tokens: readonly Token[]): StatementKind {
  const word = (k: number): string | undefined => {
    const token = tokens[k];
    return token?.kind === 'word' ? token.text : undefined;
  };
  const first = word(0);
  /** Index past an optional WORK | TRANSACTION noise word. */
  const afterNoise = word(1) === 'WORK' || word(1) === 'TRANSACTION' ? 2 : 1;
  switch (first) {
    case 'BEGIN':
      return 'begin';
    case 'START':
      return word(1) === 'TRANSACTION' ? 'begin' : 'other';
    case 'COMMIT':
      return word(1) === 'PREPARED' ? 'commit-prepared' : 'commit';
    case 'END':
      return 'commit';
    case 'ABORT':
      return 'rollback';
    case 'ROLLBACK':
      if (word(1) === 'PREPARED') return 'rollback-prepared';
      return word(afterNoise) === 'TO' ? 'rollback-to-savepoint' : 'rollback';
    case 'SAVEPOINT':
      return 'savepoint';
    case 'PREPARE':
      return word(1) === 'TRANSACTION' && tokens[2]?.kind === 'string' ? 'prepare-transaction' : 'other';
    default:
      return 'other';
  }
}

/**
 * Why the statements of a script that the server ran without error did not commit their work, or undefined.
 * `openAtEnd`: the session was left inside a transaction (ReadyForQuery status T or E). Models the server's
 * rules for a multi-statement simple query: statements outside an explicit block form an implicit transaction
 * that a later BEGIN takes in; COMMIT ends the block keeping its work; ROLLBACK (or ABORT) ends it discarding
 * its work; ROLLBACK TO SAVEPOINT keeps the block going; PREPARE TRANSACTION ends it with its work neither
 * committed nor discarded.
 */
export function uncommittedWork(script: string, openAtEnd: boolean): string | undefined {
  let pending = false;
  let committed = false;
  const statements = topLevelStatements(script);
  for (const [index, tokens] of statements.entries()) {
    const kind = statementKind(tokens);
    const laterWork = () =>
      statements.slice(index + 1).some((later) => {
        const k = statementKind(later);
        return k === 'other' || k === 'commit-prepared' || k === 'rollback-prepared';
      });
    const stays = () => committed || laterWork();
    switch (kind) {
      case 'commit':
        committed ||= pending;
        pending = false;
        break;
      case 'rollback':
        if (pending)
          return (
            'the script ran ROLLBACK: the work of that transaction was discarded' +
            (stays()
              ? '; what the script committed outside it stays, check the database before resolving'
              : '')
          );
        break;
      case 'prepare-transaction':
        return (
          `the script ran PREPARE TRANSACTION ${JSON.stringify((tokens[2]?.text ?? '').slice(0, 66))}: its work is neither committed ` +
          'nor discarded and holds its locks until someone runs COMMIT PREPARED or ROLLBACK PREPARED' +
          (stays() ? '; what the script committed outside it stays, check the database before resolving' : '')
        );
      case 'begin':
      case 'savepoint':
      case 'rollback-to-savepoint':
        break;
      default:
        pending = true;
    }
  }
  if (openAtEnd)
    return (
      'the script left a transaction open (BEGIN without COMMIT): that transaction was rolled back' +
      (committed ? '; what the script committed before it stays, check the database before resolving' : '')
    );
  return undefined;
}
