import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CATALOGUE, catalogueRows, type ServiceName } from '../../lib/local-aws/catalogue';
import { CATALOGUE_DOC, renderCatalogue } from '../../lib/local-aws/catalogue/render';

const ROOT = join(__dirname, '..', '..');

/** SDK package → the catalogue's service name. */
const SERVICE_OF_PACKAGE: Record<string, ServiceName> = {
  'route-53': 'route53',
  s3: 's3',
  'secrets-manager': 'secretsmanager',
  ssm: 'ssm',
  sfn: 'states',
  rds: 'rds',
  eventbridge: 'events',
  cloudformation: 'cloudformation',
  cloudwatch: 'cloudwatch',
  sns: 'sns',
  lambda: 'lambda',
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every AWS SDK command the shipped code constructs: `new XCommand(` with X imported from @aws-sdk/client-*. */
function commandsIn(file: string): { service: ServiceName; operation: string }[] {
  const text = readFileSync(file, 'utf8');
  const packageOf = new Map<string, string>();
  for (const m of text.matchAll(/import \{([^}]*)\} from '@aws-sdk\/client-([a-z0-9-]+)'/g))
    for (const name of (m[1] ?? '').split(',').map((n) => n.trim().replace(/^type /, '')))
      if (name.endsWith('Command')) packageOf.set(name, m[2] ?? '');
  // Powertools' getSecret is Secrets Manager's GetSecretValue.
  const powertools =
    /from '@aws-lambda-powertools\/parameters\/secrets'/.test(text) && text.includes('getSecret(')
      ? [{ service: 'secretsmanager' as const, operation: 'GetSecretValue' }]
      : [];
  return [
    ...powertools,
    ...[...text.matchAll(/new (\w+)Command\(/g)].flatMap((m) => {
      const pkg = packageOf.get(`${m[1] ?? ''}Command`);
      if (pkg === undefined) return [];
      const service = SERVICE_OF_PACKAGE[pkg];
      if (service === undefined) throw new Error(`no catalogue service for @aws-sdk/client-${pkg} (${file})`);
      return [{ service, operation: m[1] ?? '' }];
    }),
  ];
}

/** Local imports of a TypeScript file, resolved. */
function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)].flatMap((m) => {
    const base = resolve(dirname(file), m[1] ?? '');
    const found = [`${base}.ts`, join(base, 'index.ts')].find((f) => existsSync(f));
    return found === undefined ? [] : [found];
  });
}

/** The commands a file makes, itself or through what it imports (a handler through its core). */
function reachableCommands(entry: string): Set<string> {
  const seen = new Set<string>();
  const found = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() ?? '';
    if (seen.has(file)) continue;
    seen.add(file);
    for (const c of commandsIn(file)) found.add(`${c.service}:${c.operation}`);
    pending.push(...imports(file));
  }
  return found;
}

describe('AWS behaviour catalogue', () => {
  const shipped = [...files(join(ROOT, 'lambdas')), ...files(join(ROOT, 'lib', 'cli'))];
  const called = new Map<string, string[]>();
  for (const file of shipped)
    for (const c of commandsIn(file)) {
      const key = `${c.service}:${c.operation}`;
      called.set(key, [...(called.get(key) ?? []), file.slice(ROOT.length + 1)]);
    }

  it.each([...called.keys()].sort().map((key) => [key]))(
    '%s, which the code calls, is catalogued with its behaviour, errors and citations',
    (key) => {
      const [service, operation] = key.split(':') as [ServiceName, string];
      const entry = CATALOGUE.find((s) => s.service === service)?.operations.find(
        (o) => o.operation === operation,
      );
      expect({ key, catalogued: entry !== undefined }).toEqual({ key, catalogued: true });
      expect(entry?.relies.length).toBeGreaterThan(0);
      for (const r of [...(entry?.relies ?? []), ...(entry?.errors ?? [])]) {
        expect(r.source.url).toMatch(/^https:\/\/(docs\.aws\.amazon\.com|aws\.amazon\.com)\//);
        expect(r.source.quote.length).toBeGreaterThan(20);
      }
    },
  );

  it('names, for every operation, callers that exist and really make that call', () => {
    const wrong: string[] = [];
    for (const service of CATALOGUE)
      for (const op of service.operations)
        for (const caller of op.calledBy) {
          const path = join(ROOT, caller);
          if (!existsSync(path))
            wrong.push(`${service.service}:${op.operation} names ${caller}, which does not exist`);
          else if (
            caller.endsWith('.ts') &&
            (caller.startsWith('lambdas/') || caller.startsWith('lib/cli/'))
          ) {
            if (!reachableCommands(path).has(`${service.service}:${op.operation}`))
              wrong.push(`${caller} does not call ${service.service}:${op.operation}`);
          }
        }
    expect(wrong).toEqual([]);
  });

  it('gives every row a unique id', () => {
    const ids = catalogueRows().map((r) => r.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('has a test of the simulator for every row it marks simulated', () => {
    const dir = join(ROOT, 'test', 'local-aws');
    const tests = readdirSync(dir)
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
    const missing = catalogueRows()
      .filter((r) => r.simulated && !tests.includes(`[${r.id}]`))
      .map((r) => r.id);
    expect(missing).toEqual([]);
  });

  /** Table rows as trimmed cells (Prettier pads the file's tables). */
  const normalized = (text: string) =>
    text
      .split('\n')
      .filter((line) => !/^\|[\s-|]+\|$/.test(line))
      .map((line) =>
        line.startsWith('|')
          ? line
              .split('|')
              .map((c) => c.trim())
              .join('|')
          : line.trim(),
      )
      .filter((line) => line !== '');

  it('is docs/aws-behaviour.md (regenerate: npx tsx lib/local-aws/catalogue/render.ts)', () => {
    expect(normalized(readFileSync(CATALOGUE_DOC, 'utf8'))).toEqual(normalized(renderCatalogue()));
  });
});
