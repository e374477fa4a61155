import { promises as dns } from 'node:dns';

/** Resolves a CNAME through the system resolver, as the application's clients do (caches and TTL included). */
export function resolveRecord(name: string): Promise<string[]> {
  return dns.resolveCname(name);
}
