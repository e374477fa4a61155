import { createInterface } from 'node:readline/promises';
import { runCli } from '../lib/cli/program';

/**
 * The AWS SDK warns on every client it makes that its releases after January 2027 need Node 22: eight lines
 * per command that say nothing about what dr did. That one warning is kept out of dr's output
 * (docs/operations.md, dr exit codes, says it once); every other warning is printed as Node prints it.
 */
const SDK_NODE_NOTICE = /NodeVersionSupportWarning|AWS SDK for JavaScript \(v3\)\s+versions published after/;
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (SDK_NODE_NOTICE.test(`${warning.name}: ${warning.message}`)) return;
  process.stderr.write(`(node:${process.pid}) ${warning.name}: ${warning.message}\n`);
});

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
