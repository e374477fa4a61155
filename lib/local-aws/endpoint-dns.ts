/**
 * The VPC's DNS for RDS endpoints, here: an RDS endpoint is a DNS name the VPC resolver answers with the
 * instance's address. The local world names its instances `<id>.<region>.rds.test` (`.test` is reserved,
 * RFC 2606: it never resolves anywhere else) and answers those names with the loopback address of the local
 * server behind each, so the steps connect, and verify TLS, by the endpoint name as they do on AWS. The test
 * certificates (lib/local-postgres/certificates.ts) cover `*.<region>.rds.test`.
 */
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';

/** The local world's RDS endpoint of an instance. */
export const localRdsEndpoint = (instanceIdentifier: string, region: string): string =>
  `${instanceIdentifier}.${region}.rds.test`;

/** The names the local certificates cover (one wildcard per region). */
export const LOCAL_RDS_DOMAIN = (region: string): string => `${region}.rds.test`;

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * Answers `*.rds.test` names with 127.0.0.1 (every local server listens there) until the returned undo is
 * called; every other name is looked up as before. Only loopback is ever answered.
 */
export function resolveLocalRdsEndpoints(): () => void {
  const original = dns.lookup;
  const patched = function lookup(
    hostname: string,
    options: LookupOptions | number | LookupCallback,
    callback?: LookupCallback,
  ): void {
    const done = (typeof options === 'function' ? options : callback) as LookupCallback;
    const opts: LookupOptions = typeof options === 'object' ? options : {};
    if (!hostname.toLowerCase().endsWith('.rds.test')) {
      (original as (...args: unknown[]) => void)(hostname, options, callback);
      return;
    }
    process.nextTick(() => {
      if (opts.all === true) done(null, [{ address: '127.0.0.1', family: 4 }]);
      else done(null, '127.0.0.1', 4);
    });
  };
  (dns as { lookup: unknown }).lookup = patched;
  return () => {
    (dns as { lookup: unknown }).lookup = original;
  };
}
