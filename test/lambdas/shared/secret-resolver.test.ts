import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { secretsManagerResolver } from '../../../lambdas/shared/database';

const secrets = mockClient(SecretsManagerClient);

describe('secretsManagerResolver: what a bad secret says', () => {
  afterEach(() => secrets.reset());

  it('never quotes a plain-text secret (the password itself) in its error', async () => {
    const password = 'Zq9Xw7-plain-password';
    secrets.on(GetSecretValueCommand).resolves({ SecretString: password });
    const resolve = secretsManagerResolver({ maxAgeSeconds: 0 });
    const failure = await resolve({ secretId: 'pg-dr/plain' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    const text = `${String(failure)} ${JSON.stringify(failure)} ${JSON.stringify((failure as Error).cause ?? null)}`;
    expect(text).toContain('secret pg-dr/plain is not JSON with username/password fields');
    expect(text).not.toContain(password.slice(0, 4));
  });

  it('names the secret when the JSON lacks the fields', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ user: 'x' }) });
    await expect(secretsManagerResolver({ maxAgeSeconds: 0 })({ secretId: 'pg-dr/odd' })).rejects.toThrow(
      'secret pg-dr/odd has no username/password fields',
    );
  });
});
