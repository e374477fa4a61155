import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SmokeTestReport } from '../../lambdas/smoke-test/smoke';
import { runSmokeTest, type SmokeTestOptions } from '../../lambdas/smoke-test/smoke';
import { coldStart } from '../support/lambda';

type Route = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

/** A local HTTP server on 127.0.0.1 whose answer depends on how many times it was hit. */
async function serve(route: Route): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    route(req, res, hits);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/health`,
    hits: () => hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const noWait = () => Promise.resolve();
const base = (url: string): SmokeTestOptions => ({
  url,
  expectStatus: 200,
  attempts: 3,
  timeoutMs: 1000,
  backoffMs: 100,
  maxBackoffMs: 400,
});

describe('smoke test against a local HTTP server', () => {
  it('passes on the first healthy answer', async () => {
    const app = await serve((_req, res) => {
      json(res, 200, { status: 'ok', db: { status: 'green' } });
    });
    try {
      const report = await runSmokeTest(
        { ...base(app.url), bodyContains: '"ok"', jsonField: { path: 'db.status', equals: 'green' } },
        noWait,
      );
      expect(report).toMatchObject({ ok: true, attempts: [{ attempt: 1, ok: true, status: 200 }] });
      expect(app.hits()).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('fails on the wrong status after every attempt, saying what it got', async () => {
    const app = await serve((_req, res) => {
      json(res, 503, { status: 'draining' });
    });
    try {
      const report = await runSmokeTest(base(app.url), noWait);
      expect(report.ok).toBe(false);
      expect(report.attempts.map((a) => a.problem)).toEqual(Array(3).fill('status 503, expected 200'));
      expect(app.hits()).toBe(3);
    } finally {
      await app.close();
    }
  });

  it('fails when the body or a JSON field does not match', async () => {
    const app = await serve((_req, res) => {
      json(res, 200, { status: 'ok', db: { status: 'blue' } });
    });
    try {
      const body = await runSmokeTest({ ...base(app.url), attempts: 1, bodyContains: 'green' }, noWait);
      expect(body.attempts[0]?.problem).toBe('body does not contain "green"');
      const field = await runSmokeTest(
        { ...base(app.url), attempts: 1, jsonField: { path: 'db.status', equals: 'green' } },
        noWait,
      );
      expect(field.attempts[0]?.problem).toBe('db.status is "blue", expected "green"');
      const missing = await runSmokeTest(
        { ...base(app.url), attempts: 1, jsonField: { path: 'db.version', equals: 2 } },
        noWait,
      );
      expect(missing.attempts[0]?.problem).toBe('db.version is missing, expected 2');
    } finally {
      await app.close();
    }
  });

  it('shows what a JSON field held bounded and redacted, whatever the application answered', async () => {
    const app = await serve((_req, res) => {
      json(res, 200, {
        db: { status: { url: 'https://x.example.org/?token=tok-Body-6', pad: 'x'.repeat(60_000) } },
      });
    });
    try {
      const field = await runSmokeTest(
        { ...base(app.url), attempts: 1, jsonField: { path: 'db.status', equals: 'green' } },
        noWait,
      );
      const problem = field.attempts[0]?.problem ?? '';
      expect(problem).toMatch(
        /^db\.status is \{"url":"https:\/\/x\.example\.org\/\?token=\*\*\*","pad":"x+…, expected "green"$/,
      );
      expect(problem.length).toBeLessThan(300);
    } finally {
      await app.close();
    }
  });

  it('gives up on a slow server after the per-try timeout', async () => {
    const app = await serve((_req, res) => {
      setTimeout(() => {
        json(res, 200, {});
      }, 5000).unref();
    });
    try {
      const report = await runSmokeTest({ ...base(app.url), attempts: 2, timeoutMs: 200 }, noWait);
      expect(report.attempts.map((a) => a.problem)).toEqual([
        'no response within 200 ms',
        'no response within 200 ms',
      ]);
    } finally {
      await app.close();
    }
  });

  it('recovers when the service becomes healthy within the retries, backing off between attempts', async () => {
    const app = await serve((_req, res, hit) => {
      json(res, hit < 3 ? 502 : 200, { hit });
    });
    const waits: number[] = [];
    try {
      const report = await runSmokeTest({ ...base(app.url), attempts: 5 }, (ms) => {
        waits.push(ms);
        return Promise.resolve();
      });
      expect(report.ok).toBe(true);
      expect(report.attempts.map((a) => a.ok)).toEqual([false, false, true]);
      expect(waits).toEqual([100, 200]);
    } finally {
      await app.close();
    }
  });

  it('reports a refused connection as a failed request', async () => {
    const app = await serve((_req, res) => {
      json(res, 200, {});
    });
    await app.close();
    const report = await runSmokeTest({ ...base(app.url), attempts: 1 }, noWait);
    expect(report.attempts[0]?.problem).toMatch(/^request failed: .*ECONNREFUSED/);
  });

  describe('handler', () => {
    type Handler = (event: unknown) => Promise<SmokeTestReport>;

    it('fails as SmokeTestFailed with the last problem', async () => {
      const app = await serve((_req, res) => {
        json(res, 500, {});
      });
      try {
        const { handler } = coldStart<Handler>('../../lambdas/smoke-test/handler');
        const error = (await handler({ url: app.url, attempts: 2, backoffMs: 0 }).catch(
          (e: unknown) => e,
        )) as Error;
        expect(error.name).toBe('SmokeTestFailed');
        expect(error.message).toBe(`${app.url} failed 2 attempt(s); last: status 500, expected 200`);
      } finally {
        await app.close();
      }
    });

    it('shows the URL without its query values or fragment, in the error and in the report', async () => {
      const app = await serve((req, res) => {
        // The token is sent: only what is printed is redacted.
        json(res, req.url === '/health?token=tok-Secret-7&region=eu' ? 503 : 400, {});
      });
      try {
        const { handler } = coldStart<Handler>('../../lambdas/smoke-test/handler');
        const url = `${app.url}?token=tok-Secret-7&region=eu#tok-Secret-7`;
        const error = (await handler({ url, attempts: 1 }).catch((e: unknown) => e)) as Error;
        expect(error.name).toBe('SmokeTestFailed');
        expect(error.message).toBe(
          `${app.url}?token=***&region=***#*** failed 1 attempt(s); last: status 503, expected 200`,
        );
        const report = await runSmokeTest({ ...base(url), attempts: 1 }, noWait);
        expect(report.url).toBe(`${app.url}?token=***&region=***#***`);
        expect(JSON.stringify(report)).not.toContain('tok-Secret-7');
      } finally {
        await app.close();
      }
    });

    it.each([
      [{ url: 'ftp://example.org/health' }, 'url must be an http(s) URL'],
      [{ url: 'https://user:pw@example.org/health' }, 'url must not embed credentials'],
      [{ url: 'https://example.org', attempts: 1000 }, 'attempts'],
      [{ url: 'https://example.org', method: 'POST' }, 'event has unknown field(s) method'],
    ])('rejects %j before sending anything', async (event, message) => {
      const { handler } = coldStart<Handler>('../../lambdas/smoke-test/handler');
      const error = (await handler(event).catch((e: unknown) => e)) as Error;
      expect(error.name).toBe('InvalidInput');
      expect(error.message).toContain(message);
    });
  });
});
