/**
 * Runs after every test of the suite: nothing the code under test printed (Lambda logs, metrics) may contain
 * a password of a test server. Local workflow runs add their execution histories (test/support/workflow.ts).
 */
import { serverPasswords } from '../../lib/local-postgres/server';

const leaks: string[] = [];

/** Records where a known password appears in `text`. */
export function scanForSecrets(where: string, text: string): void {
  for (const password of serverPasswords()) {
    if (text.includes(password)) leaks.push(`${where}: ${text.slice(0, 300)}`);
  }
}

for (const stream of [process.stdout, process.stderr]) {
  const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = (chunk: unknown, ...rest: unknown[]) => {
    scanForSecrets(stream === process.stdout ? 'stdout' : 'stderr', String(chunk));
    return original(chunk, ...rest);
  };
}

afterEach(() => {
  const found = leaks.splice(0);
  expect(found).toEqual([]);
});
