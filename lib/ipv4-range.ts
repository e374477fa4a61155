/**
 * IPv4 address ranges in CIDR notation, as VPCs, security groups and routes take them. Pure: the CDK app and
 * the config validation use it.
 */

export interface Ipv4Range {
  /** The first address, as an unsigned 32-bit number. */
  readonly start: number;
  /** The prefix length, 0 to 32. */
  readonly prefix: number;
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/**
 * `10.0.0.0/16` → its range; undefined when it is not a CIDR block whose address is the first of its range
 * (AWS refuses `10.0.0.1/16` as a VPC or route range, and it is usually a typo).
 */
export function parseIpv4Range(text: string): Ipv4Range | undefined {
  const match = CIDR.exec(text);
  if (match === null) return undefined;
  const parts = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (parts.some((p) => p > 255) || prefix > 32) return undefined;
  const start = parts.reduce((acc, p) => acc * 256 + p, 0);
  const size = 2 ** (32 - prefix);
  if (start % size !== 0) return undefined;
  return { start, prefix };
}

/** Whether two ranges share an address. */
export function rangesOverlap(a: Ipv4Range, b: Ipv4Range): boolean {
  const end = (r: Ipv4Range) => r.start + 2 ** (32 - r.prefix);
  return a.start < end(b) && b.start < end(a);
}
