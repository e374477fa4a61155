import type { z } from 'zod';

/**
 * JSON text read as `schema` says, or undefined when it is not JSON or not of that shape: for a reader that
 * answers both the same way (a report that is not one, a stack output this version does not read).
 */
export function jsonOf<T extends z.ZodType>(schema: T, text: string | undefined): z.infer<T> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
  const result = schema.safeParse(parsed);
  return result.success ? result.data : undefined;
}
