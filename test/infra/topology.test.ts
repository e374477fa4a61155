import { Match, Template } from 'aws-cdk-lib/assertions';
import { parseTopology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { testWorld } from '../support/world';
import { synthApp } from './test-config';

const NAMES = topologyParameterNames('pg-dr');

describe('the topology record in the failover DNS stack', () => {
  const { stacks } = synthApp();
  const template = Template.fromStack(stacks.failoverDns);
  const seeds = template.findResources('Custom::AWS') as Record<
    string,
    { Properties: { Create: unknown; Update?: unknown; Delete?: unknown }; DeletionPolicy?: string }
  >;
  const created = (logicalId: string) =>
    JSON.parse(
      JSON.stringify(seeds[logicalId]?.Properties.Create, (_k, v: unknown) =>
        typeof v === 'object' && v !== null && 'Fn::Join' in v
          ? (v['Fn::Join'] as [string, unknown[]])[1]
              .map((p) => (typeof p === 'string' ? p : 'TOKEN'))
              .join('')
          : v,
      ),
    ) as string;

  it('is written once, at the first deploy, and never by CloudFormation again', () => {
    expect(Object.keys(seeds)).toHaveLength(4);
    const calls = Object.keys(seeds).map((id) => JSON.parse(created(id)) as Record<string, unknown>);
    expect(calls.map((c) => (c.parameters as { Name: string }).Name).sort()).toEqual(
      [NAMES.document, NAMES.primaryRecord, NAMES.secondaryRecord, NAMES.healthCheckedWriter].sort(),
    );
    for (const [id, seed] of Object.entries(seeds)) {
      const call = JSON.parse(created(id)) as Record<string, unknown>;
      expect(call).toMatchObject({
        service: 'SSM',
        action: 'putParameter',
        parameters: { Type: 'String', Overwrite: false },
        ignoreErrorCodesMatching: 'ParameterAlreadyExists',
      });
      // No call on update or delete: a deploy never overwrites what the workflows wrote.
      expect(seed.Properties.Update).toBeUndefined();
      expect(seed.Properties.Delete).toBeUndefined();
      expect(seed.DeletionPolicy).toBe('Retain');
    }
  });

  it('may put only its four parameters', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: {
        PolicyName: Match.stringLikeRegexp(
          '^TopologyDocument|^TopologyPrimaryRecord|^TopologySecondaryRecord|^TopologyHealthCheckedWriter',
        ),
      },
    }) as Record<
      string,
      { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }
    >;
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toHaveLength(4);
    for (const s of statements) expect(s.Action).toBe('ssm:PutParameter');
    expect(JSON.stringify(statements.map((s) => s.Resource))).not.toContain('*');
  });

  it('is what the failover records answer, read when CloudFormation writes a record', () => {
    const records = template.findResources('AWS::Route53::RecordSet') as Record<
      string,
      { Properties: { Failover: string; ResourceRecords: string[] }; DependsOn?: string[] }
    >;
    expect(Object.keys(records).length).toBeGreaterThanOrEqual(2);
    for (const record of Object.values(records)) {
      expect(record.Properties.ResourceRecords).toEqual([
        `{{resolve:ssm:${record.Properties.Failover === 'PRIMARY' ? NAMES.primaryRecord : NAMES.secondaryRecord}}}`,
      ]);
      // The parameters exist before any record reads them.
      for (const id of Object.keys(seeds)) expect(record.DependsOn).toContain(id);
    }
  });

  it('starts as the databases first deployed, and the deployed records answer them', () => {
    const world = testWorld({
      endpoints: { 'pg-dr-primary': 'primary.local', 'pg-dr-replica': 'replica.local' },
      ports: { 'pg-dr-primary': 5433, 'pg-dr-replica': 5434 },
    });
    try {
      // The ports as CloudFormation gives them (Endpoint.Port, a string in the document), read as numbers.
      expect(parseTopology(world.ssm.value('us-east-1', NAMES.document) ?? '', NAMES.document)).toEqual({
        generation: 1,
        writer: {
          region: 'us-west-2',
          instanceIdentifier: 'pg-dr-primary',
          endpoint: 'primary.local',
          port: 5433,
        },
        replica: {
          region: 'us-east-1',
          instanceIdentifier: 'pg-dr-replica',
          endpoint: 'replica.local',
          port: 5434,
        },
        retired: [],
        changedBy: 'first deploy',
      });
      expect(world.ssm.value('us-east-1', NAMES.primaryRecord)).toBe('primary.local');
      expect(world.ssm.value('us-east-1', NAMES.secondaryRecord)).toBe('replica.local');
      // The probes watch the first primary as deployed: SECONDARY may answer its replica.
      expect(world.ssm.value('us-east-1', NAMES.healthCheckedWriter)).toBe('primary.local');
      expect(
        world.route53.recordSet('db.provability-fabric.org', 'db.provability-fabric.org-primary')
          ?.ResourceRecords,
      ).toEqual([{ Value: 'primary.local' }]);
      expect(
        world.route53.recordSet('db.provability-fabric.org', 'db.provability-fabric.org-secondary')
          ?.ResourceRecords,
      ).toEqual([{ Value: 'replica.local' }]);
    } finally {
      world.close();
    }
  });
});
