import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import type { DrConfig } from '../config';

export function postgresEngine(settings: DrConfig['database']): rds.IInstanceEngine {
  const major = settings.engineVersion.split('.')[0] ?? settings.engineVersion;
  return rds.DatabaseInstanceEngine.postgres({
    version: rds.PostgresEngineVersion.of(settings.engineVersion, major),
  });
}

/**
 * Parameters both sides of the DR pair share. A replica in another region cannot use the primary's group,
 * so each region creates its own from this one definition.
 */
export function drParameterGroup(
  scope: Construct,
  id: string,
  settings: DrConfig['database'],
): rds.ParameterGroup {
  return new rds.ParameterGroup(scope, id, {
    engine: postgresEngine(settings),
    description: 'PostgreSQL DR: TLS only, logical replication for blue-green cutovers',
    parameters: {
      'rds.force_ssl': '1',
      // Blue-green cutovers replicate logically from blue to green; enabling it later needs a reboot.
      'rds.logical_replication': '1',
      log_min_duration_statement: '1000',
    },
  });
}
