import { echoName, echoNames, MAX_ECHOED_NAME, redact, redactUrl } from '../../lambdas/shared/redact';
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
