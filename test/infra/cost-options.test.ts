import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { synthApp } from './test-config';

const propsOf = (t: Template, type: string): Record<string, unknown>[] =>
  Object.values(t.findResources(type)).map(
    (r) => (r as { Properties?: Record<string, unknown> }).Properties ?? {},
  );

/** The cheaper options docs/adoption.md ("What it costs") offers, each doing what it says and no more. */
describe('cost options', () => {
  it('database.replicaMultiAz false makes the replica, and the replicas the workflows create, Single-AZ only', () => {
    const { stacks } = synthApp({ database: { replicaMultiAz: false } });
    expect(propsOf(Template.fromStack(stacks.primary), 'AWS::RDS::DBInstance')[0]?.MultiAZ).toBe(true);
    expect(propsOf(Template.fromStack(stacks.secondary), 'AWS::RDS::DBInstance')[0]?.MultiAZ).toBe(false);
    const placements = propsOf(Template.fromStack(stacks.orchestration), 'AWS::Lambda::Function')
      .map((f) => (f.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables)
      .filter((v) => v?.REPLICA_MULTI_AZ !== undefined)
      .map((v) => v?.REPLICA_MULTI_AZ);
    expect(placements.length).toBeGreaterThan(0);
    expect(new Set(placements)).toEqual(new Set(['false']));
  });

  it('keeps every replica Multi-AZ by default', () => {
    const { stacks } = synthApp();
    expect(propsOf(Template.fromStack(stacks.secondary), 'AWS::RDS::DBInstance')[0]?.MultiAZ).toBe(true);
  });

  it.each([
    ['all', 2],
    ['first', 1],
  ] as const)(
    'network.secretsManagerEndpointZones %s puts the interface endpoints in %i zone(s) of each VPC',
    (zones, count) => {
      const { stacks } = synthApp({ network: { secretsManagerEndpointZones: zones } });
      const services = (stack: Stack) => {
        const endpoints = propsOf(Template.fromStack(stack), 'AWS::EC2::VPCEndpoint').filter(
          (e) => e.VpcEndpointType === 'Interface',
        );
        for (const endpoint of endpoints) expect(endpoint.SubnetIds).toHaveLength(count);
        return endpoints.map((e) => String(e.ServiceName).split('.').slice(3).join('.')).sort();
      };
      // Both regions run a backup task (the dump; its restore test): ECR (API and registry) and CloudWatch Logs.
      expect(services(stacks.primary)).toEqual(['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager']);
      expect(services(stacks.secondaryFoundation)).toEqual(['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager']);
    },
  );
});
