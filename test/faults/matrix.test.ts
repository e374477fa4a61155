import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAULT_MATRIX, renderMatrix } from './matrix';

const ROOT = join(__dirname, '..', '..');
const START = '<!-- fault-matrix:start -->';
const END = '<!-- fault-matrix:end -->';

describe('fault matrix', () => {
  it.each(FAULT_MATRIX.map((row) => [`${row.workflow} / ${row.step}: ${row.fault}`, row] as const))(
    '%s is a test that exists',
    (_name, row) => {
      const [file, name] = row.test;
      const text = readFileSync(join(ROOT, file), 'utf8').replace(/\s+/g, ' ');
      expect(text.includes(`'${name}'`) || text.includes(`"${name}"`)).toBe(true);
    },
  );

  /** Table rows as trimmed cells, padding and the separator row ignored (Prettier pads the docs' copy). */
  const cells = (table: string) =>
    table
      .split('\n')
      .filter((line) => line.startsWith('|') && !/^\|[\s-|]+\|$/.test(line))
      .map((line) =>
        line
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim()),
      );

  it('is the table in docs/reliability.md (regenerate: npx tsx test/faults/matrix.ts)', () => {
    const readme = readFileSync(join(ROOT, 'docs', 'reliability.md'), 'utf8');
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    expect(cells(readme.slice(start + START.length, end))).toEqual(cells(renderMatrix()));
  });
});
