import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNTIME_FETCH_PROGRAM } from '../../lambdas/backups/dump-runtime';
import { bundleTaskScript } from '../../lib/constructs/dump-task-runtime';

/**
 * The dump task's two containers, played on this machine: the first (the node image) runs the fetch program
 * the task definition gives it, against a local server standing in for the presigned URL; the second (the
 * postgres image) runs the copied node binary on the fetched script, which is the bundle the asset deploys.
 */
describe('the dump task runtime: node and the bundled script into the shared volume, then run from there', () => {
  let folder: string;
  let server: Server;
  let base: string;
  let script: Buffer;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'pg-dr-dump-runtime-'));
    bundleTaskScript('dump-task.ts', join(folder, 'bundle.js'));
    script = readFileSync(join(folder, 'bundle.js'));
    let flaky = 0;
    server = createServer((request, response) => {
      // S3 answers 503 once (Slow Down), then the object.
      if (request.url?.startsWith('/flaky/dump-task.js') === true && flaky++ === 0) {
        response.writeHead(503);
        response.end('<Error><Code>SlowDown</Code></Error>');
      } else if (
        request.url?.startsWith('/dump-task.js?X-Amz-Signature=good') === true ||
        request.url?.startsWith('/flaky/dump-task.js') === true
      ) {
        response.writeHead(200, { 'content-type': 'application/javascript' });
        response.end(script);
      } else {
        response.writeHead(403);
        response.end('<Error><Code>AccessDenied</Code></Error>');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(folder, { recursive: true, force: true });
  });

  /** The first container's command, as the task definition has it, with RUNTIME_DIR a fresh folder. */
  async function fetchRuntime(url: string | undefined) {
    const runtime = mkdtempSync(join(folder, 'volume-'));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, RUNTIME_DIR: runtime };
    if (url !== undefined) env.DUMP_TASK_URL = url;
    // Not spawnSync: the local server answers from this process.
    const child = spawn(process.execPath, ['-e', RUNTIME_FETCH_PROGRAM], { env });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { runtime, code, output };
  }

  it('copies node and the script into the volume; the copied node runs the script', async () => {
    const { runtime, code, output } = await fetchRuntime(`${base}/dump-task.js?X-Amz-Signature=good`);
    expect(output).toMatch(/"message":"runtime ready"/);
    expect(code).toBe(0);
    expect(statSync(join(runtime, 'node')).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(runtime, 'dump-task.js')).equals(script)).toBe(true);
    // The dump container: the copied node on the fetched script. A request that is not JSON ends it with 1,
    // logged as the task logs (JSON, service dr-dump), which shows the bundle loads all it imports.
    const run = spawnSync(join(runtime, 'node'), [join(runtime, 'dump-task.js')], {
      env: { PATH: process.env.PATH, PG_DR_DUMP: 'not json', DUMP_WORK_DIR: runtime },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stdout + run.stderr).toMatch(
      /"message":"dump failed".*"service":"dr-dump".*PG_DR_DUMP is not JSON/,
    );
  });

  it('tries again after a 5xx (S3 asking to slow down), and gets the script', async () => {
    const { runtime, code, output } = await fetchRuntime(`${base}/flaky/dump-task.js?X-Amz-Signature=good`);
    expect(output).toMatch(/"message":"runtime ready".*"attempts":2/);
    expect(code).toBe(0);
    expect(readFileSync(join(runtime, 'dump-task.js')).equals(script)).toBe(true);
  });

  it('fails when the URL is refused, naming the status and not the signature', async () => {
    const { runtime, code, output } = await fetchRuntime(`${base}/dump-task.js?X-Amz-Signature=expired`);
    expect(code).toBe(1);
    expect(output).toMatch(/"message":"runtime not ready".*HTTP 403/);
    expect(output).not.toMatch(/expired/);
    expect(existsSync(join(runtime, 'dump-task.js'))).toBe(false);
  });

  it('fails without a URL', async () => {
    const { code, output } = await fetchRuntime(undefined);
    expect(code).toBe(1);
    expect(output).toMatch(/DUMP_TASK_URL is not set/);
  });
});
