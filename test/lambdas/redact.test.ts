import { spawnSync } from 'node:child_process';
import { echoName, echoNames, MASK, MAX_ECHOED_NAME, redact, redactUrl } from '../../lambdas/shared/redact';
import { toStepError } from '../../lambdas/shared/step';
import { HOSTILE, HOSTILE_PASSWORD, OVERSIZED } from '../support/bad-values';

describe('the redaction rule', () => {
  it.each([
    ['postgresql://admin:hunter2@db.example.org:5432/app', 'postgresql://***@db.example.org:5432/app'],
    [
      'https://api.example.org/health?token=s3cret&region=eu#frag',
      'https://api.example.org/health?token=***&region=***#***',
    ],
    ['postgresql://u:p@ho st/db?sslmode=disable', 'postgresql://***@ho st/db?sslmode=***'],
    ['https://api.example.org/health', 'https://api.example.org/health'],
    ['https://api.example.org/?bare', 'https://api.example.org/?***'],
  ])('redactUrl(%j) is %j', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it('masks URLs, key=value pairs and known secrets inside any text', () => {
    expect(
      redact(
        "error: unknown option '--database-ur=postgresql://u:pw@h/db' host=h password=pw at https://x/y?token=t",
      ),
    ).toBe("error: unknown option '--database-ur=***' host=*** password=*** at https://x/y?token=***");
    expect(redact('connection to db as app with Pw-Local-1 failed', 'Pw-Local-1')).toBe(
      'connection to db as app with *** failed',
    );
  });

  it.each([
    ["password='hunter2'", "password='***'"],
    ['password = hunter2', 'password = ***'],
    ['{"password":"hunter2","user":"app"}', '{"password":"***","user":"app"}'],
    ['password="hun ter2"', 'password="***"'],
    ['Authorization: Bearer hunter2.abc', 'Authorization: ***'],
    ['sent Bearer hunter2.abc', 'sent Bearer ***'],
    ['password: hunter2', 'password: ***'],
    ['password=hunter2 sslmode=require', 'password=*** sslmode=***'],
    ['postgresql://u:hun ter2@db.example.org/app', 'postgresql://***@db.example.org/app'],
    ["postgresql://u:hun'ter2@db.example.org/app", 'postgresql://***@db.example.org/app'],
    ['postgresql://u:hun/ter2@db.example.org/app', 'postgresql://***@db.example.org/app'],
    ['postgresql://u:hun\nter2@db.example.org/app', 'postgresql://***@db.example.org/app'],
  ])('masks a secret in any notation: %j', (text, expected) => {
    expect(redact(text)).toBe(expected);
    expect(redact(redact(text))).toBe(expected);
  });

  it('echoes a made-up name only if it looks like a name, bounded, control characters escaped', () => {
    expect(echoName('sneaky')).toBe('sneaky');
    expect(echoName('--database-ur')).toBe('--database-ur');
    expect(echoName('--database-ur=postgresql://u:pw@h/db')).toBe('--database-ur=***');
    expect(echoName('postgresql://u:pw@h/db?token=t')).toBe('postgresql://***@h/db?token=***');
    expect(echoName('admin:hunter2@db.example.org')).toBe('***');
    expect(echoName("x'; DROP TABLE account; --")).toBe('***');
    expect(echoName(OVERSIZED)).toHaveLength(MAX_ECHOED_NAME);
    expect(echoName(OVERSIZED).endsWith('…')).toBe(true);
    for (const value of [...HOSTILE, OVERSIZED]) {
      const shown = echoName(value);
      expect(shown).not.toContain(HOSTILE_PASSWORD);
      expect(shown.length).toBeLessThanOrEqual(MAX_ECHOED_NAME);
      expect(shown).not.toMatch(/\p{Cc}/u);
    }
    expect(echoNames(['a', 'b', 'c', 'd', 'e', 'f', 'g'])).toBe('a, b, c, d, e and 2 more');
  });

  it('every step error message goes through it, whatever threw', () => {
    const error = toStepError(
      new Error(`connect to postgresql://admin:${HOSTILE_PASSWORD}@db/app?x=1 failed`),
    );
    expect(error).toMatchObject({
      name: 'StepFailed',
      message: 'connect to postgresql://***@db/app?x=*** failed',
    });
    // A safe message keeps its cause.
    const plain = new Error('socket hang up');
    expect(toStepError(plain).cause).toBe(plain);
  });
});

it('redacting twice changes nothing', () => {
  for (const text of [
    'https://h/p?token=t&a=b#frag',
    "unknown option '--x=postgresql://u:p@h/d?s=1#f'",
    'password=pw',
  ]) {
    expect(redact(redact(text))).toBe(redact(text));
  }
});

describe('the redaction rule on hostile sizes', () => {
  // Run in a child process: a quadratic rule cannot be interrupted inside one regular expression, so only a
  // process that is killed can fail the test instead of holding the worker. The rule takes milliseconds on a
  // megabyte; an unbounded URL scheme made it quadratic (100,000 letters took over a minute, a megabyte hours).
  const script = `
    const { redact, echoName, redactUrl } = require(${JSON.stringify(require.resolve('../../lambdas/shared/redact'))});
    const runs = { letters: 'x'.repeat(1e6), schemeLike: 'a+'.repeat(5e5), secretFields: 'password="'.repeat(1e5),
      keyValues: ' a=b'.repeat(25e4), urls: ('a://b c' + 'd'.repeat(50)).repeat(17e3) };
    const lengths = {};
    for (const [name, text] of Object.entries(runs))
      lengths[name] = [redact(text).length, echoName(text).length, redactUrl(text).length];
    const long = 'x'.repeat(1e5) + 'postgresql://admin:hunter2@db.example.org/app';
    process.stdout.write(JSON.stringify({ lengths, long: redact(long).slice(-40) }));`;

  it('is linear in its input: a megabyte of any shape is redacted, and a long prefix hides no URL', () => {
    const ran = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect(ran.signal).toBeNull();
    expect(ran.stderr).toBe('');
    const out = JSON.parse(ran.stdout) as { lengths: Record<string, number[]>; long: string };
    expect(out.lengths.letters).toEqual([1e6, MAX_ECHOED_NAME, MASK.length]);
    expect(Object.keys(out.lengths)).toHaveLength(5);
    expect(out.long).toBe('xxxxxpostgresql://***@db.example.org/app');
  }, 60_000);
});
