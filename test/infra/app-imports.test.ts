import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

describe('the CDK app', () => {
  it('loads no Lambda runtime library (Powertools, pg, AWS SDK clients): it takes only constants from lambdas/', () => {
    // A fresh Node process: jest's own module registry would hide what the app really loads.
    const script = `require('./lib/app'); require('./lib/config');
      const loaded = Object.keys(require.cache);
      console.log(JSON.stringify({
        libraries: [...new Set(loaded.filter((k) => /node_modules\\/(@aws-lambda-powertools|pg|pg-[a-z-]+|@aws-sdk\\/client-[a-z0-9-]+)\\//.test(k))
          .map((k) => k.replace(/.*node_modules\\//, '').split('/').slice(0, 2).join('/')))],
        lambdas: loaded.filter((k) => k.startsWith(${JSON.stringify(join(ROOT, 'lambdas'))})).map((k) => k.slice(${ROOT.length + 1})).sort(),
      }));`;
    const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const { libraries, lambdas } = JSON.parse(out) as { libraries: string[]; lambdas: string[] };
    expect(libraries).toEqual([]);
    // Constants, the validation patterns, the redaction rule the configuration's errors go through, the
    // topology's parameter names, the dump task's container layout and its objects' names (no imports of their own).
    expect(lambdas).toEqual([
      'lambdas/backups/dump-objects.ts',
      'lambdas/backups/dump-runtime.ts',
      'lambdas/health-probe/metric.ts',
      'lambdas/shared/metric-names.ts',
      'lambdas/shared/patterns.ts',
      'lambdas/shared/provisioning-tags.ts',
      'lambdas/shared/redact.ts',
      'lambdas/shared/topology-parameters.ts',
    ]);
  });
});
