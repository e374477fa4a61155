/** What the engine needs to know about a migration script's text before it sends more SQL along with it. */
export interface ScriptShape {
  /** Top-level statements (non-empty text between semicolons outside literals and comments). */
  readonly statements: number;
  /** The text ends outside any string, quoted identifier, dollar quote or block comment. */
  readonly endsClean: boolean;
}

const IDENTIFIER_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/**
 * PostgreSQL's lexical rules, just enough to count statements: `--` and nested `/* *\/` comments, '...' strings
 * ('' inside; E'...' with backslash escapes), "..." identifiers, and $tag$...$tag$ dollar quotes.
 */
export function scriptShape(script: string): ScriptShape {
  let statements = 0;
  let content = false;
  let i = 0;
  const n = script.length;
  while (i < n) {
    const c = script[i] ?? '';
    const next = script[i + 1] ?? '';
    if (c === '-' && next === '-') {
      const end = script.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (script.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (script.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      }
      if (depth > 0) return { statements: statements + (content ? 1 : 0), endsClean: false };
    } else if (c === "'" || c === '"') {
      const escapes =
        c === "'" && /[Ee]/.test(script[i - 1] ?? '') && !IDENTIFIER_CHAR.test(script[i - 2] ?? '');
      content = true;
      i++;
      for (;;) {
        if (i >= n) return { statements: statements + 1, endsClean: false };
        const d = script[i];
        if (escapes && d === '\\') i += 2;
        else if (d === c && script[i + 1] === c) i += 2;
        else if (d === c) {
          i++;
          break;
        } else i++;
      }
    } else if (
      c === '$' &&
      !IDENTIFIER_CHAR.test(script[i - 1] ?? '') &&
      DOLLAR_TAG.test(script.slice(i, i + 64))
    ) {
      const tag = DOLLAR_TAG.exec(script.slice(i, i + 64))?.[0] ?? '$$';
      const end = script.indexOf(tag, i + tag.length);
      content = true;
      if (end === -1) return { statements: statements + 1, endsClean: false };
      i = end + tag.length;
    } else if (c === ';') {
      if (content) statements++;
      content = false;
      i++;
    } else {
      if (!/\s/.test(c)) content = true;
      i++;
    }
  }
  return { statements: statements + (content ? 1 : 0), endsClean: true };
}
