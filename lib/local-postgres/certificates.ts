import { generate } from 'selfsigned';
import { SUPPORTED_REGIONS } from '../config';
import { LOCAL_RDS_DOMAIN } from '../local-aws/endpoint-dns';

export interface TestCertificates {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

let cached: Promise<TestCertificates> | undefined;

/**
 * A throwaway CA and a server certificate it signed for localhost/127.0.0.1/::1 (and the local world's RDS
 * endpoints, `*.<region>.rds.test`), so clients in tests verify
 * the chain and host name exactly as they do against RDS. Generated once per test process.
 */
export function testCertificates(): Promise<TestCertificates> {
  cached ??= (async () => {
    const notBeforeDate = new Date(Date.now() - 60_000);
    const notAfterDate = new Date(Date.now() + 7 * 24 * 3600_000);
    const ca = await generate([{ name: 'commonName', value: 'pg-dr test CA' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    });
    const server = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate,
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
            { type: 7, ip: '::1' },
            // The local world's RDS endpoints (lib/local-aws/endpoint-dns.ts).
            ...SUPPORTED_REGIONS.map((region) => ({
              type: 2 as const,
              value: `*.${LOCAL_RDS_DOMAIN(region)}`,
            })),
          ],
        },
      ],
    });
    return { caCert: ca.cert, serverCert: server.cert, serverKey: server.private };
  })();
  return cached;
}
