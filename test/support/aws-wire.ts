import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as an AWS SDK sent it over the wire, with what its SigV4 signature says about the caller. */
export interface WireRequest {
  readonly method: string;
  readonly path: string;
  /** X-Amz-Target of JSON-protocol services (e.g. AWSEvents.ListTargetsByRule); '' for REST and Query. */
  readonly target: string;
  readonly body: string;
  /** From the Authorization header's credential scope: the region and service the request was signed for. */
  readonly signedRegion: string;
  readonly signedService: string;
  readonly accessKeyId: string;
}

export interface WireResponse {
  readonly status?: number;
  readonly contentType: string;
  readonly body: string;
}

/**
 * A loopback HTTP endpoint for AWS SDK clients pointed at it with AWS_ENDPOINT_URL, so a test can run the real
 * `dr` entry point as a separate process and see what it really sends: which service, which region it signed
 * for, which operation and parameters. `respond` answers each request (unknown ones get a 400 the SDK reports).
 */
export async function startAwsWire(
  respond: (request: WireRequest) => WireResponse | undefined,
): Promise<{ url: string; requests: WireRequest[]; close: () => Promise<void> }> {
  const requests: WireRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(
        req.headers.authorization ?? '',
      );
      const request: WireRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        target: String(req.headers['x-amz-target'] ?? ''),
        body: Buffer.concat(chunks).toString('utf8'),
        accessKeyId: scope?.[1] ?? '',
        signedRegion: scope?.[2] ?? '',
        signedService: scope?.[3] ?? '',
      };
      requests.push(request);
      const answer = respond(request) ?? {
        status: 400,
        contentType: 'application/x-amz-json-1.1',
        body: JSON.stringify({ __type: 'UnknownOperationException', message: 'not served by this test' }),
      };
      res.writeHead(answer.status ?? 200, { 'content-type': answer.contentType });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** The environment of a process whose AWS clients all talk to `endpoint`, with throwaway credentials only. */
export function wireEnv(endpoint: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(
    ([key]) => !key.startsWith('AWS_') && !key.startsWith('CDK_'),
  );
  return {
    ...Object.fromEntries(inherited),
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'AKIAWIRETEST',
    AWS_SECRET_ACCESS_KEY: 'wire-test-secret',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}
