import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../lib/config';
import { failoverTiming } from '../../lib/failover-timing';
import { REQUIRED_CONFIG, testConfig } from './test-config';

function errorFor(overrides: Record<string, unknown>): string {
  try {
    parseConfig({ ...REQUIRED_CONFIG, ...overrides });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('DR configuration', () => {
  it('fills the seed defaults around the required keys', () => {
    const config = testConfig();
    expect(config).toMatchObject({
      primaryRegion: 'us-west-2',
      secondaryRegion: 'us-east-1',
      orchestrationRegion: 'us-east-1',
      recordName: 'db.provability-fabric.org',
      recordTtlSeconds: 10,
      database: { backupRetentionDays: 7, multiAz: true, port: 5432 },
      network: {
        primaryAvailabilityZones: ['us-west-2a', 'us-west-2b'],
        secondaryAvailabilityZones: ['us-east-1a', 'us-east-1b'],
      },
    });
  });

  it('merges nested overrides key by key', () => {
    const config = testConfig({
      database: { instanceClass: 'r7g.xlarge' },
      healthCheck: { failureThreshold: 3 },
    });
    expect(config.database.instanceClass).toBe('r7g.xlarge');
    expect(config.database.backupRetentionDays).toBe(7);
    expect(config.healthCheck.failureThreshold).toBe(3);
    expect(config.healthCheck.probeIntervalSeconds).toBe(10);
  });

  it('schedules the drill for Sundays 02:00 UTC with the seed budgets 90/60/60 by default', () => {
    expect(testConfig().drill).toMatchObject({
      schedule: { enabled: true, expression: 'cron(0 2 ? * SUN *)' },
      budgets: { serviceDisruptionSeconds: 90, dnsFailoverSeconds: 60, s3ReplicationSeconds: 60 },
      staleAfterDays: 8,
      migrationDryRun: true,
    });
    // Drills fail over a record of their own unless production is chosen explicitly.
    expect(testConfig().drill).toMatchObject({
      record: 'separate',
      recordName: 'db-drill.provability-fabric.org',
    });
    expect(testConfig({ drill: { record: 'production' } }).drill.recordName).toBe(
      'db.provability-fabric.org',
    );
  });

  it.each([
    [{ primaryRegion: 'us-wst-2' }, 'dr.primaryRegion must be one of us-east-1, us-east-2', '"us-wst-2"'],
    [{ secondaryRegion: 'us-west-2' }, 'dr.secondaryRegion must differ from primaryRegion', '"us-west-2"'],
    [
      { orchestrationRegion: 'eu-west-1' },
      'dr.orchestrationRegion must be one of us-west-2, us-east-1',
      '"eu-west-1"',
    ],
    [{ account: '1234' }, 'dr.account must be a 12-digit AWS account id', '"1234"'],
    [
      { recordName: 'db.example.com' },
      'dr.recordName must be inside hostedZoneName provability-fabric.org',
      '"db.example.com"',
    ],
    [{ recordTtlSeconds: 300 }, 'dr.recordTtlSeconds must be a whole number from 5 to 60', '300'],
    [
      { healthCheck: { requestIntervalSeconds: 15 } },
      'dr.healthCheck.requestIntervalSeconds must be one of 10, 30',
      '15',
    ],
    [
      { healthCheck: { probeTimeoutSeconds: 12 } },
      'dr.healthCheck.probeTimeoutSeconds must be a whole number from 1 to 9',
      '12',
    ],
    [
      { healthCheck: { probeIntervalSeconds: 7 } },
      'dr.healthCheck.probeIntervalSeconds must be one of 10, 15, 20, 30, 60',
      '7',
    ],
    [
      { backups: { crossRegionRetentionDays: 36 } },
      'dr.backups.crossRegionRetentionDays must be a whole number from 1 to 35',
      '36',
    ],
    [
      { database: { backupRetentionDays: 0 } },
      'dr.database.backupRetentionDays must be a whole number from 1 to 35',
      '0',
    ],
    [
      { database: { engineVersion: '9.6' } },
      'dr.database.engineVersion must be a PostgreSQL version from 13 to 18',
      '"9.6"',
    ],
    [
      { network: { secondaryCidr: '10.10.0.0/16' } },
      'dr.network.secondaryCidr must not overlap network.primaryCidr',
      '"10.10.0.0/16"',
    ],
    [
      { network: { primaryAvailabilityZones: ['us-east-1a', 'us-east-1b'] } },
      'dr.network.primaryAvailabilityZones must all be zones of us-west-2',
      'us-east-1a',
    ],
    [
      { sidecarHealthUrl: 'http://sidecar.example.org/health' },
      'dr.sidecarHealthUrl must be an https:// URL',
      'http://',
    ],
    [
      { onCall: { httpsEndpoint: 'https://user:pw@pager.example.org/hook' } },
      'dr.onCall.httpsEndpoint must not embed credentials',
      '',
    ],
    [{ onCall: {} }, 'dr.onCall needs at least one of email or httpsEndpoint', '{}'],
    [
      { migrationsDirectory: 'no/such/folder' },
      'dr.migrationsDirectory must be an existing folder',
      '"no/such/folder"',
    ],
    [
      { blueGreen: { secretNamePrefix: 'pg-dr' } },
      'dr.blueGreen.secretNamePrefix must be a Secrets Manager name prefix ending in /',
      '"pg-dr"',
    ],
    [
      { drill: { schedule: { expression: '0 2 * * 0' } } },
      'dr.drill.schedule.expression must be an EventBridge schedule expression',
      '"0 2 * * 0"',
    ],
    [
      { drill: { budgets: { serviceDisruptionSeconds: 5 } } },
      'dr.drill.budgets.serviceDisruptionSeconds must be a whole number from 10 to 600',
      '5',
    ],
    [
      { drill: { recordName: 'db.provability-fabric.org' } },
      'dr.drill.recordName must differ from recordName',
      '"db.provability-fabric.org"',
    ],
    [
      { drill: { record: 'production', recordName: 'drill.provability-fabric.org' } },
      'dr.drill.recordName applies only to drill.record "separate"',
      '"drill.provability-fabric.org"',
    ],
    [{ drill: { record: 'staging' } }, 'dr.drill.record must be one of separate, production', '"staging"'],
    [
      { drill: { recordName: 'drill.example.com' } },
      'dr.drill.recordName must be inside hostedZoneName',
      '"drill.example.com"',
    ],
    [
      { drill: { s3TimeoutSeconds: 30 } },
      'dr.drill.s3TimeoutSeconds must be at least drill.budgets.s3ReplicationSeconds',
      '30',
    ],
    [
      { database: { secretName: 'prod/postgres' } },
      'dr.drill.migrationDryRun needs database.secretName under blueGreen.secretNamePrefix pg-dr/',
      'true',
    ],
  ])('rejects %j with a sentence naming the key and what it accepts', (overrides, expected, got) => {
    const message = errorFor(overrides);
    expect(message).toContain(expected);
    expect(message).toContain(got);
  });

  it('keeps RDS maintenance and backups out of the drill hour, and says which window to move', () => {
    expect(testConfig().database).toMatchObject({
      preferredMaintenanceWindow: 'tue:03:00-tue:03:30',
      preferredBackupWindow: '04:00-04:30',
    });
    expect(errorFor({ database: { preferredMaintenanceWindow: 'sun:02:30-sun:03:00' } })).toContain(
      'dr.database.preferredMaintenanceWindow overlaps the drill (cron(0 2 ? * SUN *), about an hour)',
    );
    expect(errorFor({ database: { preferredBackupWindow: '01:30-02:10' } })).toContain(
      'dr.database.preferredBackupWindow overlaps the drill',
    );
    // A window that wraps past Saturday night still counts.
    expect(
      errorFor({
        drill: { schedule: { expression: 'cron(30 23 ? * SAT *)' } },
        database: { preferredMaintenanceWindow: 'sun:00:00-sun:00:30' },
      }),
    ).toContain('preferredMaintenanceWindow overlaps the drill');
    expect(() =>
      testConfig({ database: { preferredMaintenanceWindow: 'sun:03:00-sun:03:30' } }),
    ).not.toThrow();
    expect(errorFor({ database: { preferredBackupWindow: '4am' } })).toContain('must be hh24:mi-hh24:mi');
  });

  it('refuses a private hosted zone, saying why (TestDNSAnswer answers public zones only)', () => {
    const message = errorFor({ hostedZoneVisibility: 'private' });
    expect(message).toContain('dr.hostedZoneVisibility');
    expect(message).toContain('supports public hosted zones only');
    expect(testConfig().hostedZoneVisibility).toBe('public');
  });

  it('names unknown keys instead of ignoring a typo', () => {
    expect(errorFor({ recordTTL: 10 })).toContain('dr has unknown key(s) recordTTL');
    expect(errorFor({ database: { multiAZ: false } })).toContain('dr.database has unknown key(s) multiAZ');
  });

  it('reports every bad key at once, one line each', () => {
    const message = errorFor({ primaryRegion: 'mars-1', recordTtlSeconds: 0 });
    expect(message.split('\n').filter((line) => line.startsWith('  dr.'))).toHaveLength(2);
  });

  it('does not echo a credential it rejects', () => {
    expect(
      errorFor({ onCall: { httpsEndpoint: 'https://user:hunter2@pager.example.org/hook' } }),
    ).not.toContain('hunter2');
  });

  it('shows what it rejects through the redaction rule: no query values, bounded, unknown key names too', () => {
    const endpoint = errorFor({ onCall: { httpsEndpoint: 'http://pager.example.org/hook?token=tok-Cfg-5' } });
    expect(endpoint).toContain('http://pager.example.org/hook?token=***');
    expect(endpoint).not.toContain('tok-Cfg-5');
    const pasted = errorFor({
      ['postgresql://admin:hunter2@db.example.org/app']: 1,
      recordName: 'x'.repeat(100_000),
    });
    expect(pasted).toContain('dr has unknown key(s) postgresql://***@db.example.org/app');
    expect(pasted).not.toContain('hunter2');
    expect(pasted.length).toBeLessThan(1000);
  });

  it('ships a cdk.json whose production health does not silently depend on a sidecar endpoint', () => {
    // A sidecar check failing moves production to the read-only replica: it must be a deliberate choice.
    const shipped = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as {
      context: { dr: Record<string, unknown> };
    };
    expect(shipped.context.dr.sidecarHealthUrl).toBeUndefined();
    expect(parseConfig(shipped.context.dr).sidecarHealthUrl).toBeUndefined();
  });

  it('needs the dr object itself', () => {
    expect(() => parseConfig(undefined)).toThrow('Context key "dr" must be an object in cdk.json');
  });
});

describe('worst-case failover arithmetic', () => {
  it('needs N whole minutes of mostly failed probes after a partly failed one, then the TTL, for the defaults', () => {
    const timing = failoverTiming(testConfig({ sidecarHealthUrl: 'https://sidecar.example.org/health' }));
    expect(timing.databaseDetection.map((t) => t.seconds)).toEqual([60, 180]);
    expect(timing.remoteDetection.map((t) => t.seconds)).toEqual([60, 180]);
    expect(timing.worstCaseDatabaseFailoverSeconds).toBe(250);
    expect(timing.sidecarDetection?.map((t) => t.seconds)).toEqual([20]);
    expect(timing.worstCaseDnsSwitchSeconds).toBe(10);
    // A Multi-AZ failover (typically 60-120 s) leaves DNS alone: 2 minutes less a probe's 3 s timeout.
    expect(timing.toleratedOutageSeconds).toBe(117);
  });

  it('follows the configuration: the slower observer sets the detection, the more eager one the tolerance', () => {
    const timing = failoverTiming(
      testConfig({
        recordTtlSeconds: 30,
        healthCheck: { alarmEvaluationPeriods: 2, remoteAlarmEvaluationPeriods: 4 },
      }),
    );
    expect(timing.worstCaseDatabaseFailoverSeconds).toBe(60 + 240 + 30);
    expect(timing.toleratedOutageSeconds).toBe(60 - 3);
    expect(timing.sidecarDetection).toBeUndefined();
  });
});

describe('docs/failover.md arithmetic', () => {
  it('shows the figures the code computes from the defaults', () => {
    const section = readFileSync(join(__dirname, '..', '..', 'docs', 'failover.md'), 'utf8');
    const timing = failoverTiming(testConfig({ sidecarHealthUrl: 'https://sidecar.example.org/health' }));
    const sum = (terms: readonly { seconds: number }[]) => terms.reduce((n, t) => n + t.seconds, 0);
    const rows = section.split('\n').filter((line) => line.startsWith('| '));
    const worstCase = (label: string) =>
      rows
        .find((row) => row.includes(label))
        ?.split('|')[3]
        ?.trim();

    expect(worstCase('Primary database stops answering, seen from its region')).toBe(
      `**${sum(timing.databaseDetection)} s**`,
    );
    expect(worstCase('seen from the secondary region')).toBe(`**${sum(timing.remoteDetection)} s**`);
    expect(worstCase('Sidecar stops answering')).toBe(`**${sum(timing.sidecarDetection ?? [])} s**`);
    expect(worstCase('PRIMARY check unhealthy')).toBe(
      `**${timing.worstCaseDnsSwitchSeconds} s** + Route 53's own switch`,
    );
    expect(worstCase('Total, database loss')).toBe(
      `**${timing.worstCaseDatabaseFailoverSeconds} s** + Route 53's own switch`,
    );
    expect(worstCase('Longest outage that never fails over')).toBe(`**${timing.toleratedOutageSeconds} s**`);
  });
});
