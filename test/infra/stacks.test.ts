import { Match, Template } from 'aws-cdk-lib/assertions';
import { synthApp } from './test-config';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

function onlyResource(template: Template, type: string, props?: Record<string, unknown>) {
  const found = template.findResources(
    type,
    props === undefined ? undefined : { Properties: props },
  ) as Resources;
  const values = Object.values(found);
  expect(values).toHaveLength(1);
  return values[0]?.Properties ?? {};
}

/** Ingress rules to the PostgreSQL port, inline or standalone. */
function postgresIngress(template: Template): Record<string, unknown>[] {
  const standalone = Object.values(resourcesOf(template, 'AWS::EC2::SecurityGroupIngress')).map(
    (r) => r.Properties ?? {},
  );
  const inline = Object.values(resourcesOf(template, 'AWS::EC2::SecurityGroup')).flatMap(
    (sg) => (sg.Properties?.SecurityGroupIngress as Record<string, unknown>[] | undefined) ?? [],
  );
  return [...standalone, ...inline].filter((rule) => rule.FromPort === 5432);
}

/** All IAM policy statements of a template, flattened. */
function statementsOf(
  template: Template,
): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy')).flatMap(
    (policy) => (policy.Properties?.PolicyDocument as { Statement: never[] }).Statement,
  );
}

// Jest's asymmetric matchers are typed `any`; these keep the assertions type-safe.
const matching = (pattern: string): unknown => expect.stringMatching(pattern);
const containing = (items: unknown[]): unknown => expect.arrayContaining(items);
const anArray = (): unknown => expect.any(Array);

const actionsOf = (statement: { Action: string | string[] }) =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

describe('DR topology (default configuration with a sidecar)', () => {
  const { stacks } = synthApp({ sidecarHealthUrl: 'https://sidecar.provability-fabric.org/health' });
  const primary = Template.fromStack(stacks.primary);
  const foundation = Template.fromStack(stacks.secondaryFoundation);
  const secondary = Template.fromStack(stacks.secondary);
  const dns = Template.fromStack(stacks.failoverDns);
  const onCallStack = stacks.onCall.get('us-east-1');
  if (onCallStack === undefined) throw new Error('no on-call stack in us-east-1');
  const onCall = Template.fromStack(onCallStack);

  describe('network', () => {
    it.each([
      ['primary', () => primary, '10.10.0.0/16'],
      ['secondary', () => foundation, '10.20.0.0/16'],
    ])(
      'gives the %s VPC isolated subnets only: no internet or NAT gateway, no public IPs',
      (_name, template, cidr) => {
        const t = template();
        t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: cidr });
        t.resourceCountIs('AWS::EC2::InternetGateway', 0);
        t.resourceCountIs('AWS::EC2::NatGateway', 0);
        for (const subnet of Object.values(resourcesOf(t, 'AWS::EC2::Subnet'))) {
          expect(subnet.Properties?.MapPublicIpOnLaunch).toBe(false);
        }
        t.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', ResourceType: 'VPC' });
        t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
          ServiceName: Match.stringLikeRegexp('secretsmanager'),
          PrivateDnsEnabled: true,
          VpcEndpointType: 'Interface',
        });
      },
    );

    it('peers the primary VPC with the secondary VPC across regions and routes both ways', () => {
      primary.hasResourceProperties('AWS::EC2::VPCPeeringConnection', {
        PeerRegion: 'us-east-1',
        PeerOwnerId: '111122223333',
      });
      const primaryRoutes = Object.values(resourcesOf(primary, 'AWS::EC2::Route')).filter(
        (r) => r.Properties?.DestinationCidrBlock === '10.20.0.0/16',
      );
      const secondaryRoutes = Object.values(resourcesOf(secondary, 'AWS::EC2::Route')).filter(
        (r) => r.Properties?.DestinationCidrBlock === '10.10.0.0/16',
      );
      // Two zones × (data + compute) subnets, each with its own route table.
      expect(primaryRoutes).toHaveLength(4);
      expect(secondaryRoutes).toHaveLength(4);
      for (const route of [...primaryRoutes, ...secondaryRoutes]) {
        expect(route.Properties?.VpcPeeringConnectionId).toBeDefined();
      }
    });

    it('opens no security group to the internet', () => {
      for (const template of [primary, foundation, secondary]) {
        for (const sg of Object.values(resourcesOf(template, 'AWS::EC2::SecurityGroup'))) {
          for (const rule of (sg.Properties?.SecurityGroupIngress as { CidrIp?: string }[] | undefined) ??
            []) {
            expect(rule.CidrIp).not.toBe('0.0.0.0/0');
          }
        }
        for (const rule of Object.values(resourcesOf(template, 'AWS::EC2::SecurityGroupIngress'))) {
          expect(rule.Properties?.CidrIp).not.toBe('0.0.0.0/0');
        }
      }
    });
  });

  describe('primary database', () => {
    const instance = onlyResource(primary, 'AWS::RDS::DBInstance');

    it('is encrypted with the region key, Multi-AZ, private, deletion-protected, with 7-day backups and logs', () => {
      expect(instance).toMatchObject({
        DBInstanceIdentifier: 'pg-dr-primary',
        Engine: 'postgres',
        EngineVersion: '17.6',
        StorageEncrypted: true,
        KmsKeyId: { 'Fn::GetAtt': [matching('DataKey'), 'Arn'] },
        MultiAZ: true,
        PubliclyAccessible: false,
        DeletionProtection: true,
        BackupRetentionPeriod: 7,
        EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
        EnableIAMDatabaseAuthentication: true,
      });
      primary.hasResource('AWS::RDS::DBInstance', {
        DeletionPolicy: 'Snapshot',
        UpdateReplacePolicy: 'Snapshot',
      });
    });

    it("replicates its automated backups to the DR region, encrypted with that region's key, kept 7 days there", () => {
      expect(instance).toMatchObject({
        AutomaticBackupReplicationRegion: 'us-east-1',
        AutomaticBackupReplicationRetentionPeriod: 7,
        // The DR region's data key, read across regions (a key of the primary region cannot encrypt there).
        AutomaticBackupReplicationKmsKeyId: {
          'Fn::GetAtt': [matching('ExportsReader'), matching('secondaryfoundation.*DataKey.*Arn')],
        },
      });
      const longer = synthApp({ backups: { crossRegionRetentionDays: 35 } }).stacks.primary;
      expect(onlyResource(Template.fromStack(longer), 'AWS::RDS::DBInstance')).toMatchObject({
        AutomaticBackupReplicationRetentionPeriod: 35,
      });
    });

    it('forces TLS and enables logical replication through its parameter group', () => {
      primary.hasResourceProperties('AWS::RDS::DBParameterGroup', {
        Parameters: Match.objectLike({ 'rds.force_ssl': '1', 'rds.logical_replication': '1' }),
      });
    });

    it('keeps its master secret in Secrets Manager, encrypted, replicated to the secondary region and rotated', () => {
      primary.hasResourceProperties('AWS::SecretsManager::Secret', {
        Name: 'pg-dr/postgres-master',
        KmsKeyId: Match.anyValue(),
        ReplicaRegions: [{ Region: 'us-east-1', KmsKeyId: Match.anyValue() }],
      });
      primary.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        HostedRotationLambda: Match.objectLike({
          RotationType: 'PostgreSQLSingleUser',
          VpcSubnetIds: Match.anyValue(),
        }),
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
      });
    });

    it('keeps a dedicated replication user password for subscriptions: generated, replicated, never rotated', () => {
      const secrets = primary.findResources('AWS::SecretsManager::Secret', {
        Properties: { Name: 'pg-dr/replication-user' },
      }) as Record<
        string,
        { Properties: { GenerateSecretString: { ExcludeCharacters: string; SecretStringTemplate: string } } }
      >;
      const [id, secret] = Object.entries(secrets)[0] ?? [];
      expect(secret?.Properties.GenerateSecretString.SecretStringTemplate).toBe(
        '{"username":"dr_replication"}',
      );
      // A subscription's connection string: no quote, space or backslash in the password.
      for (const c of [' ', "'", '"', '\\'])
        expect(secret?.Properties.GenerateSecretString.ExcludeCharacters).toContain(c);
      const rotations = Object.values(
        primary.findResources('AWS::SecretsManager::RotationSchedule') as Record<
          string,
          { Properties: { SecretId: unknown } }
        >,
      );
      expect(rotations.some((r) => JSON.stringify(r.Properties.SecretId).includes(id ?? '?'))).toBe(false);
    });

    it('admits PostgreSQL only from the peered region, the rotation function, the probe and the dump task', () => {
      const toDatabase = postgresIngress(primary);
      expect(toDatabase).toHaveLength(4);
      expect(toDatabase.filter((rule) => rule.CidrIp === '10.20.0.0/16')).toHaveLength(1);
      expect(toDatabase.map((rule) => rule.Description).sort()).toEqual([
        'PostgreSQL from the peered region (recovery tooling, probes)',
        'Secrets Manager hosted rotation',
        'primary health probe',
        'scheduled dump task',
      ]);
    });
  });

  it('encrypts every data key with rotation on and keeps it on stack deletion', () => {
    for (const template of [primary, foundation, onCall]) {
      for (const key of Object.values(
        template.findResources('AWS::KMS::Key') as Record<
          string,
          { Properties: unknown; DeletionPolicy: string }
        >,
      )) {
        expect(key.Properties).toMatchObject({ EnableKeyRotation: true });
        expect(key.DeletionPolicy).toBe('Retain');
      }
    }
  });

  describe('cross-region read replica', () => {
    const replica = onlyResource(secondary, 'AWS::RDS::DBInstance');

    it('replicates the primary by ARN, encrypted with the secondary region key', () => {
      expect(replica).toMatchObject({
        DBInstanceIdentifier: 'pg-dr-replica',
        SourceRegion: 'us-west-2',
        SourceDBInstanceIdentifier: {
          'Fn::Join': ['', containing([':rds:us-west-2:111122223333:db:'])],
        },
        KmsKeyId: { 'Fn::ImportValue': matching('DataKey') },
        DeletionProtection: true,
        PubliclyAccessible: false,
        MultiAZ: true,
      });
      // Encryption of a replica follows its source; CloudFormation rejects StorageEncrypted beside a source id.
      expect(replica).not.toHaveProperty('StorageEncrypted');
      secondary.hasResourceProperties('AWS::RDS::DBParameterGroup', {
        Parameters: Match.objectLike({ 'rds.force_ssl': '1' }),
      });
    });

    it('admits the peered primary region, its probe and the recovery tooling of the orchestration region', () => {
      const toReplica = postgresIngress(secondary);
      expect(toReplica.map((rule) => rule.Description).sort()).toEqual([
        'PostgreSQL from the peered region (recovery tooling, probes)',
        'Recovery tooling',
        // After a failover this region's database is the writer the remote observer watches.
        'primary-remote health probe',
        'replica health probe',
        // The monthly restore test's check compares with the replica; its throwaway has a group of its own.
        'restore test check',
        'restore test check, to the throwaway instance',
      ]);
      const tooling = toReplica.find((rule) => rule.Description === 'Recovery tooling');
      expect(JSON.stringify(tooling?.SourceSecurityGroupId)).toContain('RecoveryToolingSecurityGroup');
    });
  });

  describe('backup storage', () => {
    it.each([
      ['primary', () => primary, 'pg-dr-backups-111122223333-us-west-2'],
      ['secondary', () => foundation, 'pg-dr-backups-111122223333-us-east-1'],
    ])(
      'keeps %s dumps versioned, KMS-encrypted, private, logged and expiring old versions',
      (_name, template, name) => {
        const t = template();
        t.hasResourceProperties('AWS::S3::Bucket', {
          BucketName: name,
          VersioningConfiguration: { Status: 'Enabled' },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              Match.objectLike({
                ServerSideEncryptionByDefault: Match.objectLike({
                  SSEAlgorithm: 'aws:kms',
                  KMSMasterKeyID: Match.anyValue(),
                }),
              }),
            ],
          },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
          LifecycleConfiguration: {
            Rules: Match.arrayWith([
              Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
            ]),
          },
        });
      },
    );

    it('denies every non-TLS request to every bucket', () => {
      for (const template of [primary, foundation]) {
        const buckets = Object.keys(resourcesOf(template, 'AWS::S3::Bucket'));
        const policies = Object.values(resourcesOf(template, 'AWS::S3::BucketPolicy'));
        expect(policies).toHaveLength(buckets.length);
        for (const policy of policies) {
          expect(policy.Properties?.PolicyDocument).toMatchObject({
            Statement: containing([
              expect.objectContaining({
                Effect: 'Deny',
                Action: 's3:*',
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              }),
            ]),
          });
        }
      }
    });

    it('replicates every KMS-encrypted object to the secondary bucket with Replication Time Control', () => {
      primary.hasResourceProperties('AWS::S3::Bucket', {
        ReplicationConfiguration: {
          Role: Match.anyValue(),
          Rules: [
            Match.objectLike({
              Status: 'Enabled',
              Destination: Match.objectLike({
                Bucket: { 'Fn::Join': ['', Match.arrayWith([':s3:::pg-dr-backups-111122223333-us-east-1'])] },
                EncryptionConfiguration: { ReplicaKmsKeyID: Match.anyValue() },
                ReplicationTime: { Status: 'Enabled', Time: { Minutes: 15 } },
                Metrics: { Status: 'Enabled', EventThreshold: { Minutes: 15 } },
              }),
              SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: 'Enabled' } },
              DeleteMarkerReplication: { Status: 'Enabled' },
            }),
          ],
        },
      });
    });

    it('lets the replication role touch only the two buckets and the two keys', () => {
      const role = Object.entries(resourcesOf(primary, 'AWS::IAM::Role')).find(([id]) =>
        id.includes('ReplicationRole'),
      );
      expect(role?.[1].Properties?.AssumeRolePolicyDocument).toMatchObject({
        Statement: [expect.objectContaining({ Principal: { Service: 's3.amazonaws.com' } })],
      });
      const policy = Object.entries(resourcesOf(primary, 'AWS::IAM::Policy')).find(([id]) =>
        id.includes('ReplicationRole'),
      );
      const statements = (
        policy?.[1].Properties?.PolicyDocument as { Statement: { Action: string[]; Resource: unknown }[] }
      ).Statement;
      for (const statement of statements) {
        expect(JSON.stringify(statement.Resource)).not.toBe('"*"');
        expect(actionsOf(statement).every((a) => a.startsWith('s3:') || a.startsWith('kms:'))).toBe(true);
      }
      expect(JSON.stringify(statements)).toContain('pg-dr-backups-111122223333-us-east-1/*');
    });
  });

  describe('health probes', () => {
    it.each([
      ['primary', () => primary, 'us-west-2', 'pg-dr-primary-db-unreachable-maj-3of3'],
      ['replica', () => secondary, 'us-east-1', 'pg-dr-replica-db-unreachable-maj-3of3'],
      [
        'primary-remote',
        () => secondary,
        'us-east-1',
        'pg-dr-primary-db-unreachable-from-secondary-maj-3of3',
      ],
    ])(
      'probe the %s every minute, in rounds, failing only on most probes of 3 minutes',
      (role, template, region, alarmName) => {
        const t = template();
        const fn = onlyResource(t, 'AWS::Lambda::Function', {
          Environment: Match.objectLike({ Variables: Match.objectLike({ DB_ROLE: role }) }),
        });
        expect(fn).toMatchObject({
          // Fixed: the topology sync changes what it watches by this name, from another region.
          FunctionName: `pg-dr-${role}-health-probe`,
          Runtime: 'nodejs24.x',
          Timeout: 60,
          VpcConfig: { SubnetIds: anArray() },
          TracingConfig: { Mode: 'Active' },
          Environment: {
            Variables: expect.objectContaining({
              DB_SECRET_ID: 'pg-dr/postgres-master',
              DB_PORT: '5432',
              PROBE_ROUNDS: '6',
              PROBE_INTERVAL_MS: '10000',
              PROBE_TIMEOUT_MS: '3000',
              NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
            }) as unknown,
          },
        });
        expect(JSON.stringify(fn.Environment)).not.toMatch(/password/i);
        // A dropped or throttled invocation is retried inside its minute.
        t.hasResourceProperties('AWS::Events::Rule', {
          ScheduleExpression: 'rate(1 minute)',
          State: 'ENABLED',
          Targets: [
            Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 } }),
          ],
        });
        const dimensions = [
          { Name: 'Database', Value: role },
          { Name: 'service', Value: 'dr-health-probe' },
        ];
        t.hasResourceProperties('AWS::CloudWatch::Alarm', {
          AlarmName: alarmName,
          Namespace: 'PostgresDR',
          MetricName: 'DatabaseReachable',
          Dimensions: dimensions,
          // Most of a minute's rounds failed, in each of 3 consecutive minutes; no data is no verdict.
          Statistic: 'Average',
          Period: 60,
          ComparisonOperator: 'LessThanThreshold',
          Threshold: 0.5,
          EvaluationPeriods: 3,
          DatapointsToAlarm: 3,
          TreatMissingData: 'missing',
        });
        // A silent probe and a probe that cannot authenticate page instead of failing over.
        for (const [name, metric] of [
          [`pg-dr-${role}-probe-blind`, 'DatabaseReachable'],
          [`pg-dr-${role}-probe-errors`, 'ProbeErrors'],
        ] as const) {
          const alarm = onlyResource(t, 'AWS::CloudWatch::Alarm', { AlarmName: name });
          expect(alarm).toMatchObject({ MetricName: metric, Dimensions: dimensions });
          expect(alarm.AlarmActions).toHaveLength(1);
        }

        const secretStatements = statementsOf(t).filter((s) =>
          actionsOf(s).includes('secretsmanager:GetSecretValue'),
        );
        expect(secretStatements.length).toBeGreaterThan(0);
        // The master secret, and the secrets of writers a topology may name (a cutover's green, under the
        // blue-green prefix), in its own region only.
        const secretNames = secretStatements.map((st) =>
          JSON.stringify(st.Resource)
            .replace(/.*:secret:/, '')
            .replace(/["\]}]+$/, ''),
        );
        expect([...new Set(secretNames)].sort()).toEqual(['pg-dr/*', 'pg-dr/postgres-master-??????']);
        for (const statement of secretStatements)
          expect(JSON.stringify(statement.Resource)).toContain(
            `:secretsmanager:${region}:111122223333:secret:`,
          );
        // It may reach PostgreSQL in both VPCs: the writer the topology names may be in either region.
        const probeGroup = Object.values(resourcesOf(t, 'AWS::EC2::SecurityGroup')).find(
          (g) => g.Properties?.GroupDescription === `Health probe of the ${role} database`,
        );
        const egress = (probeGroup?.Properties?.SecurityGroupEgress as { CidrIp: string; FromPort: number }[])
          .filter((rule) => rule.FromPort === 5432)
          .map((rule) => rule.CidrIp)
          .sort();
        expect(egress).toEqual(['10.10.0.0/16', '10.20.0.0/16']);
        const decrypt = statementsOf(t).filter(
          (s) =>
            actionsOf(s).includes('kms:Decrypt') &&
            JSON.stringify(s.Condition ?? {}).includes('secretsmanager'),
        );
        expect(decrypt.length).toBeGreaterThan(0);
        for (const statement of decrypt)
          expect(statement.Condition).toEqual({
            StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` },
          });
      },
    );

    it('pages on-call when the replica stops answering (DR degraded)', () => {
      const alarm = onlyResource(secondary, 'AWS::CloudWatch::Alarm', {
        AlarmName: 'pg-dr-replica-db-unreachable-maj-3of3',
      });
      expect(alarm.AlarmActions).toHaveLength(1);
      expect(alarm.OKActions).toHaveLength(1);
    });
  });

  describe('failover DNS', () => {
    it('follows each probe alarm (named after its rule) through a CLOUDWATCH_METRIC health check', () => {
      for (const [name, region, noData] of [
        // The primary's own region going silent is that observer's vote against it.
        ['pg-dr-primary-db-unreachable-maj-3of3', 'us-west-2', 'Unhealthy'],
        ['pg-dr-primary-db-unreachable-from-secondary-maj-3of3', 'us-east-1', 'LastKnownStatus'],
        ['pg-dr-replica-db-unreachable-maj-3of3', 'us-east-1', 'LastKnownStatus'],
      ]) {
        dns.hasResourceProperties('AWS::Route53::HealthCheck', {
          HealthCheckConfig: {
            Type: 'CLOUDWATCH_METRIC',
            AlarmIdentifier: { Name: name, Region: region },
            InsufficientDataHealthStatus: noData,
            Inverted: false,
          },
        });
      }
      // Route 53 reads an alarm's settings only when pointed at it: a changed rule is a new alarm name.
      const other = Template.fromStack(
        synthApp({ healthCheck: { alarmEvaluationPeriods: 2 } }).stacks.failoverDns,
      );
      other.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({
          AlarmIdentifier: { Name: 'pg-dr-primary-db-unreachable-maj-2of2', Region: 'us-west-2' },
        }),
      });
    });

    it('fails PRIMARY over only when two of its three observers (its region, the secondary, the sidecar) agree', () => {
      dns.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({
          Type: 'HTTPS',
          FullyQualifiedDomainName: 'sidecar.provability-fabric.org',
          ResourcePath: '/health',
          Port: 443,
          RequestInterval: 10,
          FailureThreshold: 2,
          EnableSNI: true,
        }),
      });
      const calculated = Object.entries(resourcesOf(dns, 'AWS::Route53::HealthCheck')).find(
        ([, r]) => (r.Properties?.HealthCheckConfig as { Type: string }).Type === 'CALCULATED',
      );
      expect(calculated?.[1].Properties?.HealthCheckConfig).toMatchObject({
        HealthThreshold: 2,
        ChildHealthChecks: [
          { Ref: matching('PrimaryDatabaseHealth') },
          { Ref: matching('PrimaryRemoteHealth') },
          { Ref: matching('SidecarHealth') },
        ],
      });
      // The remote observer follows the secondary region's alarm; no data keeps the last status.
      dns.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: {
          Type: 'CLOUDWATCH_METRIC',
          AlarmIdentifier: {
            Name: 'pg-dr-primary-db-unreachable-from-secondary-maj-3of3',
            Region: 'us-east-1',
          },
          InsufficientDataHealthStatus: 'LastKnownStatus',
        },
      });
      dns.hasResourceProperties('AWS::Route53::RecordSet', {
        Failover: 'PRIMARY',
        HealthCheckId: { Ref: calculated?.[0] },
      });
    });

    it('publishes PRIMARY and SECONDARY CNAMEs for the record with the configured TTL', () => {
      const records = Object.values(resourcesOf(dns, 'AWS::Route53::RecordSet'))
        .map((r) => r.Properties)
        .filter((r) => r?.Name === 'db.provability-fabric.org.');
      expect(records).toHaveLength(2);
      expect(records.map((r) => r?.Failover).sort()).toEqual(['PRIMARY', 'SECONDARY']);
      for (const record of records) {
        expect(record).toMatchObject({
          Name: 'db.provability-fabric.org.',
          Type: 'CNAME',
          TTL: '10',
          HostedZoneId: 'Z0EXAMPLE12345',
          HealthCheckId: { Ref: expect.any(String) as unknown },
        });
      }
      const secondaryRecord = records.find((r) => r?.Failover === 'SECONDARY');
      expect(JSON.stringify(secondaryRecord?.HealthCheckId)).toContain('SecondaryDatabaseHealth');
    });

    it('pages on-call from us-east-1 when the PRIMARY record check turns unhealthy, whichever observer caused it', () => {
      expect(stacks.failoverDns.region).toBe('us-east-1');
      const alarm = onlyResource(dns, 'AWS::CloudWatch::Alarm');
      expect(alarm).toMatchObject({
        AlarmName: 'pg-dr-primary-health-check-unhealthy',
        Namespace: 'AWS/Route53',
        MetricName: 'HealthCheckStatus',
        Dimensions: [{ Name: 'HealthCheckId', Value: { Ref: matching('PrimaryRecordHealth') } }],
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        // A held check may stop reporting: silence is no page (dr doctor reports it).
        TreatMissingData: 'missing',
      });
      expect(alarm.AlarmActions).toEqual([
        { 'Fn::ImportValue': expect.stringContaining('pg-dr-on-call-us-east-1') as unknown },
      ]);
    });
  });

  describe('on-call', () => {
    it('pages through a KMS-encrypted, TLS-only topic with the configured subscription', () => {
      onCall.hasResourceProperties('AWS::SNS::Topic', {
        TopicName: 'pg-dr-on-call',
        KmsMasterKeyId: Match.anyValue(),
      });
      onCall.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'oncall@example.org',
      });
      onCall.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
      // CloudWatch alarms publish with the service principal: the topic key must let it encrypt.
      onCall.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            }),
          ]),
        },
      });
    });

    it('pages when the replica the topology names lags beyond the threshold for three minutes, or reports no lag, whichever instance it is', () => {
      // No alarm on a fixed instance's RDS metric: after a failover or a re-protect it would watch the wrong one.
      expect(JSON.stringify(secondary.findResources('AWS::CloudWatch::Alarm')).includes('"ReplicaLag"')).toBe(
        false,
      );
      const orchestration = Template.fromStack(stacks.orchestration);
      orchestration.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 'pg-dr-replica-lag-high',
        Metrics: Match.arrayWith([
          Match.objectLike({ Expression: 'IF(expected > 0, FILL(lag, 61), 0)', ReturnData: true }),
          Match.objectLike({
            Id: 'expected',
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ MetricName: 'ReplicaExpected' }),
            }),
          }),
          Match.objectLike({
            Id: 'lag',
            MetricStat: Match.objectLike({
              Metric: {
                Namespace: 'PostgresDR',
                MetricName: 'ReplicaLag',
                Dimensions: [{ Name: 'Database', Value: 'replica' }],
              },
              Stat: 'Maximum',
            }),
            ReturnData: false,
          }),
        ]),
        Threshold: 60,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [Match.anyValue()],
        OKActions: [Match.anyValue()],
      });
    });
  });
});

describe('DR topology variants', () => {
  it('fails the PRIMARY record over only when both observers of the primary agree, without a sidecar', () => {
    const { stacks } = synthApp();
    const dns = Template.fromStack(stacks.failoverDns);
    // The primary seen in its region and from the secondary, the replica, the PRIMARY record's parent check and
    // the drill record's.
    dns.resourceCountIs('AWS::Route53::HealthCheck', 5);
    dns.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: Match.objectLike({
        Type: 'CALCULATED',
        HealthThreshold: 1,
        ChildHealthChecks: [Match.anyValue(), Match.anyValue()],
      }),
    });
  });

  it('admits recovery tooling into the primary database when orchestration runs in the primary region', () => {
    const { stacks } = synthApp({ orchestrationRegion: 'us-west-2' });
    const primaryRules = postgresIngress(Template.fromStack(stacks.primary)).map((rule) => rule.Description);
    const replicaRules = postgresIngress(Template.fromStack(stacks.secondary)).map(
      (rule) => rule.Description,
    );
    expect(primaryRules).toContain('Recovery tooling');
    expect(replicaRules).not.toContain('Recovery tooling');
    expect([...stacks.onCall.keys()].sort()).toEqual(['us-east-1', 'us-west-2']);
  });

  it('adds an on-call topic in each region that raises alarms', () => {
    const { stacks } = synthApp({
      primaryRegion: 'eu-west-1',
      secondaryRegion: 'eu-central-1',
      onCall: { email: 'oncall@example.org', httpsEndpoint: 'https://pager.example.org/hook' },
    });
    // The primary region too: its probe's blind and probe-error alarms page (CloudWatch notifies same-region topics).
    expect([...stacks.onCall.keys()].sort()).toEqual(['eu-central-1', 'eu-west-1', 'us-east-1']);
    expect(stacks.failoverDns.region).toBe('us-east-1');
    const topic = Template.fromStack(stacks.onCall.get('eu-central-1') ?? stacks.primary);
    topic.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      Endpoint: 'https://pager.example.org/hook',
    });
    Template.fromStack(stacks.primary).hasResourceProperties('AWS::EC2::VPCPeeringConnection', {
      PeerRegion: 'eu-central-1',
    });
  });
});
