import { createHash } from 'node:crypto';
import { checksumMatches, migrationChecksum } from '../../../lambdas/migrations/folder';

// The cases of prisma-engines' own tests (schema-connector checksum.rs), and its compatibility rule.
describe("checksumMatches: Prisma's script_matches_checksum", () => {
  it('renders the zero-padded SHA-256 of the text', () => {
    expect(migrationChecksum('hello')).toBe(
      '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    );
  });

  it('is line-ending agnostic the way Prisma is', () => {
    for (const group of [
      ['ab\ncd\nef\ngh\rab', 'ab\r\ncd\r\nef\r\ngh\rab'],
      ['ab\ncd\nef\ngh\rab\n', 'ab\r\ncd\r\nef\r\ngh\rab\r\n'],
    ])
      for (const script of group)
        for (const other of group) expect(checksumMatches(script, migrationChecksum(other))).toBe(true);
  });

  it('does not match what Prisma does not match', () => {
    expect(checksumMatches('abc', migrationChecksum('abcd'))).toBe(false);
    expect(checksumMatches('abc\n', migrationChecksum('abc'))).toBe(false);
    // Prisma turns every LF of the file into CRLF: a file with mixed endings does not match an all-CRLF sum.
    expect(checksumMatches('a\r\nb\n', migrationChecksum('a\r\nb\r\n'))).toBe(false);
  });

  it('accepts a checksum an old engine wrote without zero padding (prisma-engines#1887)', () => {
    // A script whose digest has a byte below 0x10, so the unpadded form is shorter than 64.
    let script = '';
    for (let i = 0; i < 1000 && script === ''; i++) {
      const digest = createHash('sha256').update(`SELECT ${i};`).digest();
      if (digest.some((byte) => byte < 0x10)) script = `SELECT ${i};`;
    }
    const unpadded = Array.from(createHash('sha256').update(script).digest(), (b) => b.toString(16)).join('');
    expect(unpadded.length).toBeLessThan(64);
    expect(checksumMatches(script, unpadded)).toBe(true);
    expect(checksumMatches(`${script} `, unpadded)).toBe(false);
  });
});
