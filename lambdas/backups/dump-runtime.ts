/**
 * How the dump task gets Node.js and its script onto the engine's own postgres image (which has pg_dump but no
 * Node): a first container, on the official node image, copies its `node` binary and the bundled dump-task.js
 * into a volume both containers share; the dump container then runs them. Both images are Debian bookworm, so
 * the binary finds the C and C++ libraries it links against. The script comes from a presigned URL the
 * workflow's prepare step makes for the CDK asset: the task needs no AWS SDK to fetch it.
 */

/** The dump container's name in the task definition: its exit code is the one the workflow reads. */
export const DUMP_CONTAINER = 'dump';

/** Where the shared volume is mounted in both containers. */
export const RUNTIME_DIR = '/runtime';

/** The two files the first container leaves there. */
export const RUNTIME_NODE = `${RUNTIME_DIR}/node`;
export const RUNTIME_SCRIPT = `${RUNTIME_DIR}/dump-task.js`;

/** The first container's work, as a `node -e` program; its only inputs are DUMP_TASK_URL and RUNTIME_DIR. */
export const RUNTIME_FETCH_PROGRAM = [
  "const fs = require('node:fs');",
  "const path = require('node:path');",
  `const dir = process.env.RUNTIME_DIR || ${JSON.stringify(RUNTIME_DIR)};`,
  'const url = process.env.DUMP_TASK_URL;',
  'const fail = (why) => { console.error(JSON.stringify({ level: "ERROR", message: "runtime not ready", reason: why })); process.exit(1); };',
  "if (!url) fail('DUMP_TASK_URL is not set');",
  "fs.copyFileSync(process.execPath, path.join(dir, 'node'));",
  "fs.chmodSync(path.join(dir, 'node'), 0o755);",
  // Three attempts, 2 s then 4 s apart, for a network error or an S3 5xx (a 403, an expired or refused URL,
  // is final). The URL's query is a signature: it is not repeated in the log.
  'const attempt = (n) => fetch(url, { signal: AbortSignal.timeout(120000) })',
  '  .then(async (answer) => {',
  "    if (answer.status >= 500 && n < 3) throw Object.assign(new Error('HTTP ' + answer.status), { retry: true });",
  "    if (!answer.ok) fail('the dump task script could not be fetched: HTTP ' + answer.status);",
  '    const body = Buffer.from(await answer.arrayBuffer());',
  "    if (body.length === 0) fail('the dump task script is empty');",
  "    fs.writeFileSync(path.join(dir, 'dump-task.js'), body, { mode: 0o644 });",
  '    console.log(JSON.stringify({ level: "INFO", message: "runtime ready", bytes: body.length, attempts: n }));',
  '  })',
  '  .catch((error) => {',
  '    if (n < 3) return new Promise((resolve) => setTimeout(resolve, 2000 * n)).then(() => attempt(n + 1));',
  "    fail('the dump task script could not be fetched: ' + (error && (error.retry ? error.message : error.name)));",
  '  });',
  'attempt(1);',
].join('\n');
