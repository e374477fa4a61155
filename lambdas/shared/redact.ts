/**
 * What of a caller's text may appear in an error message or a log line: the one rule, used by every error path
 * (the `dr` CLI and its argument parser, the step handlers, the smoke test, database errors).
 *
 * - URLs keep their scheme, host, port and path; the userinfo (`user:password@`), every query value (the
 *   parameter names stay) and the fragment become `***`.
 * - `key=value` and `--option=value` keep the key and lose the value; a field named like a secret (`password`,
 *   `token`, `secret`, `api_key`, `authorization`...) loses its value in any notation (`password = 'x y'`,
 *   `"password": "x"`, `token: x`), and so does an `Authorization` scheme (`Bearer x`).
 * - Secrets the caller knows (a password in hand) are removed wherever they appear.
 *
 * Names a caller made up (an unknown field, option or command) are echoed through `echoName`: bounded in length,
 * and shown only if they look like a name; anything else is masked by the rules above or entirely.
 */

export const MASK = '***';

/** How many characters of a caller's name are echoed; longer names end with an ellipsis. */
export const MAX_ECHOED_NAME = 64;

/** How many characters of a value an error may show (where showing it helps, e.g. a configuration error). */
export const MAX_ECHOED_VALUE = 200;

/** How many unknown names one message lists before saying how many more there were. */
export const MAX_ECHOED_NAMES = 5;

// A URL's scheme and `://` (RFC 3986 §3.1), the scheme bounded: registered schemes are short, and an unbounded
// one made every unanchored rule below quadratic in a run of letters (a 100,000-letter value took over a minute).
// A longer "scheme" is matched from its last 32 characters, so its URL is still redacted.
const SCHEME = String.raw`[A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/`;
const STARTS_WITH_SCHEME = new RegExp(`^${SCHEME}`);
// The userinfo runs to the last `@` before the query: a password with an unencoded `/` or `@` stays inside it.
const URL_PARTS = new RegExp(String.raw`^(${SCHEME})([^?#]*@)?([^?#]*)(\?[^#]*)?(#.*)?$`, 's');
// A userinfo holding a character that ends a URL in text (a space, a quote, a newline): masked up to its `@`.
const ODD_USERINFO_IN_TEXT = new RegExp(String.raw`(${SCHEME})([^@/]{0,256}[\s'"<>\`][^@/]{0,256})@`, 'g');
// A field named like a secret, in any notation: `password=x`, `password = 'x y'`, `"password": "x"`, `token: x`.
const SECRET_FIELD_IN_TEXT =
  /(["']?)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|authorization)\1(\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|(?:(?:Bearer|Basic)\s+)?[^\s,;}&"'#]+)/gi;
const AUTH_SCHEME_IN_TEXT = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;
const URL_IN_TEXT = new RegExp(String.raw`${SCHEME}[^\s'"<>\`]*`, 'g');
const KEY_VALUE_IN_TEXT = /(^|[^A-Za-z0-9_.-])(-{0,2}[A-Za-z_][A-Za-z0-9_.-]*)=([^\s&'"<>`]+)/g;
const ALREADY_MASKED = /^\*\*\*(#\*\*\*)?$/;
const NAME_SHAPED = /^-{0,2}[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Whether the text starts like a URL (a scheme and `://`): what redactUrl is for. */
export function looksLikeUrl(text: string): boolean {
  return STARTS_WITH_SCHEME.test(text);
}

/** A URL with its userinfo, query values and fragment masked; scheme, host, port, path and parameter names kept. */
export function redactUrl(url: string): string {
  const parts = URL_PARTS.exec(url);
  if (parts === null) return MASK;
  const [, scheme = '', userinfo, rest = '', query, fragment] = parts;
  const maskedQuery =
    query === undefined
      ? ''
      : `?${query
          .slice(1)
          .split('&')
          .map((pair) => {
            const equals = pair.indexOf('=');
            // A bare segment cannot be told from a value: it is masked too.
            return equals < 0 ? (pair === '' ? '' : MASK) : `${pair.slice(0, equals)}=${MASK}`;
          })
          .join('&')}`;
  return `${scheme}${userinfo === undefined ? '' : `${MASK}@`}${rest}${maskedQuery}${fragment === undefined ? '' : `#${MASK}`}`;
}

/**
 * Text with every secret-bearing part masked: the known `secrets`, URL credentials, query values and fragments,
 * and the values of `key=value` pairs (libpq's `password=...` among them).
 */
export function redact(text: string, ...secrets: (string | undefined)[]): string {
  const withoutKnown = secrets.reduce<string>(
    (t, secret) => (secret === undefined || secret.length === 0 ? t : t.split(secret).join(MASK)),
    text,
  );
  return (
    withoutKnown
      .replace(ODD_USERINFO_IN_TEXT, (_whole, scheme: string) => `${scheme}${MASK}@`)
      .replace(URL_IN_TEXT, redactUrl)
      .replace(
        SECRET_FIELD_IN_TEXT,
        (_whole, quote: string, key: string, separator: string, value: string) => {
          const quoted = value.startsWith('"') || value.startsWith("'") ? value[0] : '';
          return `${quote}${key}${quote}${separator}${quoted}${MASK}${quoted}`;
        },
      )
      .replace(AUTH_SCHEME_IN_TEXT, (_whole, scheme: string) => `${scheme} ${MASK}`)
      // A value the URL rule already masked (`***`, `***#***`) stays: redacting twice changes nothing.
      .replace(KEY_VALUE_IN_TEXT, (whole, before: string, key: string, value: string) =>
        ALREADY_MASKED.test(value) ? whole : `${before}${key}=${MASK}`,
      )
  );
}

const CONTROL = /\p{Cc}/gu;

/**
 * A name the caller made up (an unknown field, option or command), safe to echo: kept if it looks like a name,
 * a URL or `key=value` redacted, anything else masked; control characters escaped; at most MAX_ECHOED_NAME
 * characters.
 */
export function echoName(name: string): string {
  let shown: string;
  if (NAME_SHAPED.test(name)) shown = name;
  else if (looksLikeUrl(name)) shown = redactUrl(name);
  else if (/^-{0,2}[A-Za-z_][A-Za-z0-9_.-]*=/.test(name))
    shown = `${name.slice(0, name.indexOf('='))}=${MASK}`;
  else shown = MASK;
  shown = shown.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return shown.length > MAX_ECHOED_NAME ? `${shown.slice(0, MAX_ECHOED_NAME - 1)}…` : shown;
}

/** Several made-up names, each through echoName, at most MAX_ECHOED_NAMES of them. */
export function echoNames(names: readonly string[]): string {
  const shown = names.slice(0, MAX_ECHOED_NAMES).map(echoName).join(', ');
  const more = names.length - MAX_ECHOED_NAMES;
  return more > 0 ? `${shown} and ${more} more` : shown;
}

/** A value the caller gave, safe to show: through the redaction rule, at most MAX_ECHOED_VALUE characters. */
export function echoValue(value: string): string {
  const shown = redact(value);
  return shown.length > MAX_ECHOED_VALUE ? `${shown.slice(0, MAX_ECHOED_VALUE - 1)}…` : shown;
}
