import type { Command } from 'commander';
import { echoName, looksLikeUrl, redact } from '../../lambdas/shared/redact';

/** Levenshtein distance, bounded: stops counting past `limit` (returns limit + 1). */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_v, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    if (Math.min(...current) > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length] ?? limit + 1;
}

/** dr's own words: every command name and alias, and every option flag. */
export function vocabularyOf(program: Command): ReadonlySet<string> {
  const words = new Set<string>();
  const visit = (command: Command) => {
    words.add(command.name());
    for (const alias of command.aliases()) words.add(alias);
    for (const option of command.options) {
      if (option.long !== undefined) words.add(option.long);
      if (option.short !== undefined) words.add(option.short);
    }
    command.commands.forEach(visit);
  };
  visit(program);
  return words;
}

/**
 * How a command-line word the parser quotes is shown. An option's name (`--x`, its `=value` masked) and a URL
 * (redacted) are shown; a bare word only when it is one of dr's own words or a typo of one (`drils`), since a
 * word out of nowhere may be a password pasted in the wrong place (`dr hunter2`): that one is named by its
 * position instead.
 */
function shownToken(token: string, index: number, vocabulary: ReadonlySet<string>): string {
  if (token.startsWith('-') || looksLikeUrl(token)) return `'${echoName(token)}'`;
  const limit = Math.min(2, Math.floor(token.length / 3));
  const near = [...vocabulary].some((word) => editDistance(token, word, limit) <= limit);
  return near ? `'${echoName(token)}'` : `<argument ${index + 1}>`;
}

/**
 * A command-line error made safe to print: every token of the command line it quotes (commander quotes what it
 * echoes: an unknown command or option, `--option=value`, an invalid argument) is replaced as `shownToken`
 * says, then the whole message goes through the redaction rule.
 */
export function redactCommandLineError(
  message: string,
  argv: readonly string[],
  vocabulary: ReadonlySet<string> = new Set(),
): string {
  const tokens = new Map<string, number>();
  for (const [index, arg] of argv.entries()) {
    if (!tokens.has(arg)) tokens.set(arg, index);
    const equals = arg.indexOf('=');
    if (arg.startsWith('-') && equals > 0 && !tokens.has(arg.slice(equals + 1)))
      tokens.set(arg.slice(equals + 1), index);
  }
  let text = message;
  for (const [token, index] of [...tokens].sort(([a], [b]) => b.length - a.length)) {
    if (token !== '') text = text.split(`'${token}'`).join(shownToken(token, index, vocabulary));
  }
  return redact(text);
}
