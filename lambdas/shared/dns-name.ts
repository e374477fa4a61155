/** Route 53 names are absolute and case-insensitive. */
export function normalizeName(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

/** Whether two host names name the same host (case and a final dot aside). */
export const sameHost = (a: string, b: string): boolean => normalizeName(a) === normalizeName(b);
