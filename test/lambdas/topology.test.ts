import { SSMClient } from '@aws-sdk/client-ssm';
import { handler } from '../../lambdas/topology/handler';
import { recordRoles } from '../../lambdas/topology/record';
import type { Topology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { parameterStore } from '../support/parameter-store';

const NAMES = topologyParameterNames('pg-dr');
const BLUE = { region: 'us-west-2', instanceIdentifier: 'pg-dr-primary', endpoint: 'blue.west.rds.example' };
const OLD_REPLICA = {
  region: 'us-east-1',
  instanceIdentifier: 'pg-dr-replica',
  endpoint: 'replica.east.rds.example',
};
const FIRST: Topology = {
  generation: 1,
  writer: BLUE,
  replica: OLD_REPLICA,
  retired: [],
  changedBy: 'first deploy',
};
const NOW = new Date('2026-11-30T12:00:00.000Z');
const CUTOVER = {
  mode: 'cutover',
  from: 'blue.west.rds.example',
  to: { instanceIdentifier: 'green', endpoint: 'green.west.rds.example', secretId: 'pg-dr/green' },
  changedBy: 'arn:aws:states:us-east-1:111122223333:execution:pg-dr-blue-green-migration:migrate-1',
} as const;
const REBUILD = {
  mode: 'replica',
  writer: 'green',
  replica: { instanceIdentifier: 'green-dr', endpoint: 'green-dr.east.rds.example', region: 'us-east-1' },
  changedBy: 'arn:aws:states:us-east-1:111122223333:execution:pg-dr-dr-rebuild:rebuild-1',
} as const;

const stored = (store: { values: Map<string, string> }) =>
  JSON.parse(store.values.get(NAMES.document) ?? '{}') as Topology;

describe('the topology step: recording the roles a workflow changed', () => {
  const ssm = new SSMClient({ region: 'us-east-1' });

  it('records green as the writer after a cutover, with no replica until the DR rebuild records one', async () => {
    const store = parameterStore({
      [NAMES.healthCheckedWriter]: BLUE.endpoint,
      [NAMES.document]: JSON.stringify(FIRST),
    });
    await expect(recordRoles(ssm, NAMES, CUTOVER, NOW)).resolves.toEqual({
      generation: 2,
      written: true,
      writer: 'green.west.rds.example',
      replica: null,
      records: { primary: 'green.west.rds.example', secondary: 'green.west.rds.example' },
    });
    expect(stored(store)).toMatchObject({
      writer: {
        region: 'us-west-2',
        instanceIdentifier: 'green',
        endpoint: 'green.west.rds.example',
        secretId: 'pg-dr/green',
      },
      replica: null,
      retired: [],
      changedBy: CUTOVER.changedBy,
    });
    // Both records answer green until it has a replica: the old replica follows blue.
    expect(store.values.get(NAMES.primaryRecord)).toBe('green.west.rds.example');
    expect(store.values.get(NAMES.secondaryRecord)).toBe('green.west.rds.example');

    await expect(recordRoles(ssm, NAMES, REBUILD, NOW)).resolves.toEqual({
      generation: 3,
      written: true,
      writer: 'green.west.rds.example',
      replica: 'green-dr.east.rds.example',
      records: { primary: 'green.west.rds.example', secondary: 'green.west.rds.example' },
    });
    // The health checks were deployed watching blue: SECONDARY keeps answering green (blue going away must not send
    // clients to green's read-only replica).
    expect(store.values.get(NAMES.secondaryRecord)).toBe('green.west.rds.example');
    // A physical replica of green is opened by green's credentials: a failover to it reads them from here.
    expect(stored(store).replica).toEqual({ ...REBUILD.replica, secretId: 'pg-dr/green' });
  });

  it('records the replica on the port RDS reports for it, else on its writer’s', async () => {
    const writer = { ...FIRST.writer, port: 5432 };
    const store = parameterStore({
      [NAMES.healthCheckedWriter]: BLUE.endpoint,
      [NAMES.document]: JSON.stringify({ ...FIRST, writer, replica: null }),
    });
    const rebuild = { ...REBUILD, writer: FIRST.writer.instanceIdentifier };
    await recordRoles(ssm, NAMES, { ...rebuild, replica: { ...REBUILD.replica, port: 6543 } }, NOW);
    expect(stored(store).replica?.port).toBe(6543);
    const again = parameterStore({
      [NAMES.healthCheckedWriter]: BLUE.endpoint,
      [NAMES.document]: JSON.stringify({ ...FIRST, writer, replica: null }),
    });
    await recordRoles(ssm, NAMES, { ...rebuild, replica: { ...REBUILD.replica, port: null } }, NOW);
    expect(stored(again).replica?.port).toBe(5432);
  });

  it('records no second replica: of two rebuilds racing, the first recorded keeps its replica', async () => {
    const store = parameterStore({
      [NAMES.healthCheckedWriter]: BLUE.endpoint,
      [NAMES.document]: JSON.stringify(FIRST),
    });
    await recordRoles(ssm, NAMES, CUTOVER, NOW);
    await recordRoles(ssm, NAMES, REBUILD, NOW);
    const racing = {
      ...REBUILD,
      replica: {
        ...REBUILD.replica,
        instanceIdentifier: 'green-dr-2',
        endpoint: 'green-dr-2.east.rds.example',
      },
      changedBy: 'arn:aws:states:us-east-1:111122223333:execution:pg-dr-dr-rebuild:reprotect-2',
    };
    await expect(recordRoles(ssm, NAMES, racing, NOW)).rejects.toMatchObject({
      name: 'TopologyChanged',
      message: expect.stringContaining('already has a replica, green-dr in us-east-1') as string,
    });
    expect(stored(store).replica?.instanceIdentifier).toBe('green-dr');
    // The same rebuild retried, or run again for the replica it recorded, is not refused.
    await expect(recordRoles(ssm, NAMES, REBUILD, NOW)).resolves.toMatchObject({
      written: false,
    });
  });

  it('writes a retried step once', async () => {
    const store = parameterStore({
      [NAMES.healthCheckedWriter]: BLUE.endpoint,
      [NAMES.document]: JSON.stringify(FIRST),
    });
    await recordRoles(ssm, NAMES, CUTOVER, NOW);
    await expect(recordRoles(ssm, NAMES, CUTOVER, new Date(NOW.getTime() + 5000))).resolves.toMatchObject({
      generation: 2,
      written: false,
    });
    expect(stored(store).changedAt).toBe(NOW.toISOString());
  });

  it('refuses to record over roles it was not planned for, and writes nothing', async () => {
    const store = parameterStore({
      [NAMES.healthCheckedWriter]: BLUE.endpoint,
      [NAMES.document]: JSON.stringify({
        ...FIRST,
        generation: 4,
        changedBy: 'failover exec-9',
        writer: OLD_REPLICA,
        replica: null,
        retired: [BLUE],
      }),
    });
    await expect(recordRoles(ssm, NAMES, CUTOVER, NOW)).rejects.toMatchObject({
      name: 'TopologyChanged',
      message:
        '/pg-dr/topology/document: the writer is pg-dr-replica (replica.east.rds.example; generation 4, failover exec-9), ' +
        'not blue.west.rds.example as this cutover was planned for; nothing was recorded',
    });
    await expect(recordRoles(ssm, NAMES, REBUILD, NOW)).rejects.toMatchObject({
      name: 'TopologyChanged',
    });
    expect(store.puts).toEqual([]);
  });

  it('refuses a replica in the writer’s own region (the topology’s rule)', async () => {
    parameterStore({
      [NAMES.healthCheckedWriter]: BLUE.endpoint,
      [NAMES.document]: JSON.stringify(FIRST),
    });
    await recordRoles(ssm, NAMES, CUTOVER, NOW);
    await expect(
      recordRoles(ssm, NAMES, { ...REBUILD, replica: { ...REBUILD.replica, region: 'us-west-2' } }, NOW),
    ).rejects.toMatchObject({
      name: 'TopologyInvalid',
      message: expect.stringContaining('replica.region: must differ') as string,
    });
  });

  it('records a failover: the replica is the writer, the former writer retired, planned from a generation', async () => {
    const store = parameterStore({
      [NAMES.healthCheckedWriter]: BLUE.endpoint,
      [NAMES.document]: JSON.stringify(FIRST),
    });
    const failover = {
      mode: 'failover',
      expectedGeneration: 1,
      adopt: null,
      changedBy: 'failover exec-1',
    } as const;
    await expect(recordRoles(ssm, NAMES, failover, NOW)).resolves.toEqual({
      generation: 2,
      written: true,
      writer: OLD_REPLICA.endpoint,
      replica: null,
      records: { primary: OLD_REPLICA.endpoint, secondary: OLD_REPLICA.endpoint },
    });
    expect(stored(store)).toMatchObject({ writer: OLD_REPLICA, replica: null, retired: [BLUE] });
    // Both records answer the new writer: the old one can never win DNS back by turning healthy.
    expect(store.values.get(NAMES.primaryRecord)).toBe(OLD_REPLICA.endpoint);
    expect(store.values.get(NAMES.secondaryRecord)).toBe(OLD_REPLICA.endpoint);
    // Retried: written once. Planned from a generation that is gone: refused.
    await expect(recordRoles(ssm, NAMES, failover, NOW)).resolves.toMatchObject({
      written: false,
    });
    await expect(
      recordRoles(ssm, NAMES, { ...failover, changedBy: 'failover exec-2' }, NOW),
    ).rejects.toMatchObject({ name: 'TopologyChanged' });
    // Nothing to promote: refused, nothing written.
    const degraded = parameterStore({
      [NAMES.healthCheckedWriter]: BLUE.endpoint,
      [NAMES.document]: JSON.stringify({ ...FIRST, replica: null }),
    });
    await expect(recordRoles(ssm, NAMES, failover, NOW)).rejects.toMatchObject({
      name: 'TopologyInvalid',
      message: expect.stringContaining('names no replica to take over from pg-dr-primary') as string,
    });
    expect(degraded.puts).toEqual([]);
  });

  describe('handler', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it('refuses bad input before any call, and says when its location is not configured', async () => {
      const store = parameterStore({
        [NAMES.healthCheckedWriter]: BLUE.endpoint,
        [NAMES.document]: JSON.stringify(FIRST),
      });
      process.env.TOPOLOGY_REGION = 'us-east-1';
      process.env.RESOURCE_PREFIX = 'pg-dr';
      await expect(
        handler({ ...CUTOVER, to: { instanceIdentifier: 'Bad_Id', endpoint: 'x' } }),
      ).rejects.toMatchObject({
        name: 'InvalidInput',
      });
      await expect(handler({ ...CUTOVER, mode: 'failover' })).rejects.toMatchObject({ name: 'InvalidInput' });
      expect(store.puts).toEqual([]);
      delete process.env.TOPOLOGY_REGION;
      await expect(handler(CUTOVER)).rejects.toMatchObject({
        name: 'StepMisconfigured',
        message: 'missing topology location: TOPOLOGY_REGION',
      });
      process.env.TOPOLOGY_REGION = 'us-east-1';
      await expect(handler(CUTOVER)).resolves.toMatchObject({ generation: 2, written: true });
    });
  });
});
