import { App } from 'aws-cdk-lib';
import { buildDrApp, type DrStacks } from '../../lib/app';
import { parseConfig, type DrConfig } from '../../lib/config';

/** The required keys, as a user would put them in cdk.json; everything else takes its default. */
export const REQUIRED_CONFIG = {
  account: '111122223333',
  hostedZoneId: 'Z0EXAMPLE12345',
  onCall: { email: 'oncall@example.org' },
  migrationsDirectory: 'examples/prisma/migrations',
} as const;

export function testConfig(overrides: Record<string, unknown> = {}): DrConfig {
  return parseConfig({ ...REQUIRED_CONFIG, ...overrides });
}

export function synthApp(overrides: Record<string, unknown> = {}): {
  app: App;
  stacks: DrStacks;
  config: DrConfig;
} {
  // Template assertions need no Lambda bundles (esbuild skipped) and not the CDK's built-in CloudFormation
  // validation, which only warns and doubles every synth here: test/infra/synth.test.ts runs the real synth,
  // bundles and validation included.
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  const config = testConfig(overrides);
  return { app, stacks: buildDrApp(app, config), config };
}
