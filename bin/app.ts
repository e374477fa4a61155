#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { buildDrApp } from '../lib/app';
import { ConfigError, parseConfig } from '../lib/config';
import { acknowledgeNistAppDecisions } from '../lib/nag';

const app = new App();
let config;
try {
  config = parseConfig(app.node.tryGetContext('dr'));
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
buildDrApp(app, config);
acknowledgeNistAppDecisions(app);
Validations.of(app).addPlugins(
  new AwsSolutionsChecks(app, { verbose: true }),
  new NIST80053R5Checks(app, { verbose: true }),
);
