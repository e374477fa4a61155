import { createInterface } from 'node:readline/promises';
import { runCli } from '../lib/cli/program';

/** A question for the person at the terminal; none without one (a script must pass --yes). */
const ask = process.stdin.isTTY
  ? async (question: string) => {
      const terminal = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await terminal.question(question);
      } finally {
        terminal.close();
      }
    }
  : undefined;

void runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  ...(ask === undefined ? {} : { ask }),
}).then((code) => {
  process.exitCode = code;
});
