import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as patterns from '../../../lambdas/shared/patterns';
import { hostName, hostNameOrFqdn, rdsInstanceIdentifier } from '../../../lambdas/shared/schemas';
import { blueGreenInputSchema } from '../../../lambdas/workflow-input/schema';
import { rdsInstanceId } from '../../../lib/cli/option-values';

const ROOT = join(__dirname, '..', '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

describe('validation patterns, stated once', () => {
  it('an RDS instance identifier as the RDS API defines it: no double hyphen, no final hyphen, a letter first', () => {
    for (const ok of ['g', 'green', 'green-db-2', `a${'b'.repeat(62)}`])
      expect(rdsInstanceIdentifier.safeParse(ok).success).toBe(true);
    for (const bad of ['green--db', 'green-', '1green', 'Green', 'green_db', `a${'b'.repeat(63)}`, ''])
      expect(rdsInstanceIdentifier.safeParse(bad).success).toBe(false);
    // The same rule in the CLI and in the workflow input.
    expect(() => rdsInstanceId('--green-instance-id')('green--db')).toThrow(/RDS instance identifier/);
    const input = blueGreenInputSchema.safeParse({ greenInstanceIdentifier: 'green--db' });
    expect(JSON.stringify(input.error?.issues)).toContain('must be an RDS instance identifier');
  });

  it('a host name with or without the final dot DNS answers carry', () => {
    expect(hostName.safeParse('db.example.org').success).toBe(true);
    expect(hostName.safeParse('localhost').success).toBe(true);
    expect(hostName.safeParse('db.example.org.').success).toBe(false);
    expect(hostNameOrFqdn.safeParse('db.example.org.').success).toBe(true);
    expect(hostName.safeParse('db..example.org').success).toBe(false);
    expect(hostName.safeParse(`${'a'.repeat(64)}.org`).success).toBe(false);
  });

  it('no other source file writes one of these patterns again', () => {
    const own = join(ROOT, 'lambdas', 'shared', 'patterns.ts');
    const literals = Object.values(patterns).map((p) => p.source);
    const copies = [...sources(join(ROOT, 'lambdas')), ...sources(join(ROOT, 'lib'))]
      .filter((file) => file !== own)
      .flatMap((file) => {
        const text = readFileSync(file, 'utf8');
        return literals.filter((l) => text.includes(l)).map((l) => `${relative(ROOT, file)}: /${l}/`);
      });
    expect(copies).toEqual([]);
  });
});
