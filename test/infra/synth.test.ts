import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildDrApp } from '../../lib/app';
import { testConfig } from './test-config';

const root = join(__dirname, '..', '..');

/** The environment of a machine with no AWS account: no credentials, no profile, no config files. */
function offlineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(
    ([key]) => !key.startsWith('AWS_') && !key.startsWith('CDK_'),
  );
  return {
    ...Object.fromEntries(inherited),
    ...extra,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

interface ValidationReport {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: unknown[];
    suppressedViolations: {
      ruleName: string;
      reason: string;
      violatingConstructs: { constructPath: string }[];
    }[];
  }[];
}

describe('cdk synth of the real app', () => {
  let outdir: string;
  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'pg-dr-synth-'));
  });
  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('synthesizes offline without credentials, cdk-nag clean (its time is measured by bench:synth)', () => {
    const result = spawnSync(
      join(root, 'node_modules', '.bin', 'cdk'),
      ['synth', '--quiet', '--output', outdir],
      {
        cwd: root,
        env: offlineEnv(),
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect({ status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({
      status: 0,
      stderr: '',
    });

    const report = JSON.parse(
      readFileSync(join(outdir, 'validation-report.json'), 'utf8'),
    ) as ValidationReport;
    // Both packs run: AWS Solutions and NIST 800-53 rev 5.
    for (const pack of ['AwsSolutions', 'NIST.800.53.R5']) {
      const nag = report.pluginReports.find((r) => r.pluginName === pack);
      expect({ pack, conclusion: nag?.conclusion, violations: nag?.violations }).toEqual({
        pack,
        conclusion: 'success',
        violations: [],
      });
      // Every acknowledged finding carries a written reason.
      for (const suppressed of nag?.suppressedViolations ?? []) {
        expect({ rule: suppressed.ruleName, reason: suppressed.reason.length > 30 }).toEqual({
          rule: suppressed.ruleName,
          reason: true,
        });
      }
    }

    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string; environment?: string; dependencies?: string[] }>;
    };
    const stacks = Object.entries(manifest.artifacts).filter(
      ([, a]) => a.type === 'aws:cloudformation:stack',
    );
    expect(Object.fromEntries(stacks.map(([name, a]) => [name, a.environment]))).toEqual({
      'pg-dr-on-call-us-east-1': 'aws://111122223333/us-east-1',
      'pg-dr-on-call-us-west-2': 'aws://111122223333/us-west-2',
      'pg-dr-secondary-foundation': 'aws://111122223333/us-east-1',
      'pg-dr-primary': 'aws://111122223333/us-west-2',
      'pg-dr-secondary': 'aws://111122223333/us-east-1',
      'pg-dr-failover-dns': 'aws://111122223333/us-east-1',
      'pg-dr-orchestration': 'aws://111122223333/us-east-1',
    });

    // The migration steps carry the migrations folder in their package.
    const bundled = readdirSync(outdir).filter((entry) =>
      existsSync(join(outdir, entry, 'migrations', '20240101000000_init', 'migration.sql')),
    );
    expect(bundled.length).toBeGreaterThanOrEqual(1);
  }, 150_000);

  it('passes the CDK’s built-in CloudFormation validation without a finding (the template tests skip it)', () => {
    const validated = join(outdir, 'validated');
    const app = new App({ outdir: validated, context: { 'aws:cdk:bundling-stacks': [] } });
    buildDrApp(app, testConfig());
    app.synth();
    const report = JSON.parse(
      readFileSync(join(validated, 'validation-report.json'), 'utf8'),
    ) as ValidationReport;
    // Its findings are only warnings unless @aws-cdk/core:validateAgainstDefaultRules: none is the bar here.
    expect(
      report.pluginReports.map((r) => ({
        plugin: r.pluginName,
        conclusion: r.conclusion,
        violations: r.violations,
      })),
    ).toEqual([{ plugin: 'CloudFormation Validate', conclusion: 'success', violations: [] }]);
  });

  it('fails with one clear line per bad key and no stack trace', () => {
    const context = {
      dr: {
        account: '111122223333',
        hostedZoneId: 'Z0EXAMPLE12345',
        onCall: { email: 'a@b.org' },
        migrationsDirectory: 'examples/prisma/migrations',
        recordTtlSeconds: 600,
        primaryRegion: 'us-east-1',
      },
    };
    const result = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
      cwd: root,
      env: offlineEnv({ CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'Invalid DR configuration:\n' +
        '  dr.recordTtlSeconds must be a whole number from 5 to 60; got 600.\n' +
        '  dr.secondaryRegion must differ from primaryRegion; got "us-east-1".\n',
    );
  });
});
