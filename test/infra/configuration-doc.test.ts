import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CONFIG_DEFAULTS, drConfigSchema } from '../../lib/config';

/** `a.b.c` → value, for every leaf of the defaults (arrays are leaves). */
function leaves(value: unknown, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) {
      for (const [k, v] of leaves(inner, prefix === '' ? key : `${prefix}.${key}`)) out.set(k, v);
    }
  } else out.set(prefix, value);
  return out;
}

/** The configuration table of docs/configuration.md: key → the Default column as written. */
function documented(): Map<string, string> {
  const text = readFileSync(join(__dirname, '..', '..', 'docs', 'configuration.md'), 'utf8');
  const rows = new Map<string, string>();
  for (const line of text.split('\n')) {
    const cells = /^\| `([^`]+)` +\| (.*?) +\|/.exec(line);
    if (cells !== null) rows.set(cells[1] ?? '', (cells[2] ?? '').trim());
  }
  return rows;
}

/** Every key path the schema accepts (objects walked through optional, default and pipe wrappers). */
function schemaKeys(schema: z.ZodType, prefix = ''): string[] {
  let inner: z.ZodType = schema;
  for (let i = 0; i < 10; i++) {
    const def = (inner as unknown as { def: { innerType?: z.ZodType; in?: z.ZodType } }).def;
    const next = def.innerType ?? def.in;
    if (next === undefined) break;
    inner = next;
  }
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, value]) => {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      const below = schemaKeys(value, path);
      return below.length === 0 ? [path] : [path, ...below];
    });
  }
  return [];
}

describe('docs/configuration.md', () => {
  const defaults = leaves(CONFIG_DEFAULTS);
  const table = documented();

  it('documents every key that has a default', () => {
    expect([...defaults.keys()].filter((key) => !table.has(key))).toEqual([]);
  });

  it('documents only keys the configuration accepts (no row outlives its key)', () => {
    const accepted = new Set(schemaKeys(drConfigSchema));
    expect(accepted.size).toBeGreaterThan(40);
    expect([...table.keys()].filter((key) => !accepted.has(key))).toEqual([]);
  });

  it('gives each default exactly as the code sets it', () => {
    const wrong = [...defaults.entries()]
      .filter(([key, value]) => {
        const written = table.get(key);
        if (written === undefined) return false;
        const shown = typeof value === 'string' ? value : JSON.stringify(value);
        return !written.includes(`\`${shown}\``);
      })
      .map(
        ([key, value]) =>
          `${key}: the code says ${JSON.stringify(value)}, the table says ${table.get(key) ?? ''}`,
      );
    expect(wrong).toEqual([]);
  });
});
