import { SSMClient } from '@aws-sdk/client-ssm';
import { parseTopology, readTopology, recordTargets, type Topology } from '../../../lambdas/shared/topology';
import { changeTopology } from '../../../lambdas/shared/topology-change';
import { topologyParameterNames } from '../../../lambdas/shared/topology-parameters';
import { parameterStore } from '../../support/parameter-store';

const NAMES = topologyParameterNames('pg-dr');
const PRIMARY = {
  region: 'us-west-2',
  instanceIdentifier: 'pg-dr-primary',
  endpoint: 'primary.west.rds.example',
};
const REPLICA = {
  region: 'us-east-1',
  instanceIdentifier: 'pg-dr-replica',
  endpoint: 'replica.east.rds.example',
};
const FIRST: Topology = {
  generation: 1,
  writer: PRIMARY,
  replica: REPLICA,
  retired: [],
  changedBy: 'first deploy',
};
const NOW = new Date('2026-11-30T12:00:00.000Z');

const failover = (current: Topology) => ({
  writer: current.replica ?? current.writer,
  replica: null,
  retired: [...current.retired, current.writer],
});

describe('the topology record', () => {
  const client = new SSMClient({ region: 'us-east-1' });

  it('reads the document, and says what is wrong with one that is not a topology', async () => {
    parameterStore({
      [NAMES.healthCheckedWriter]: PRIMARY.endpoint,
      [NAMES.document]: JSON.stringify(FIRST),
    });
    await expect(readTopology(client, NAMES)).resolves.toEqual(FIRST);

    parameterStore({});
    await expect(readTopology(client, NAMES)).rejects.toMatchObject({
      name: 'TopologyMissing',
      message: expect.stringContaining('/pg-dr/topology/document: no topology in this region') as string,
    });

    expect(() => parseTopology('{', 'p')).toThrow('p: not a JSON document');
    expect(() =>
      parseTopology(
        JSON.stringify({ ...FIRST, replica: { ...REPLICA, region: 'us-west-2' }, retired: [REPLICA] }),
        'p',
      ),
    ).toThrow(
      'p: replica.region: must differ from writer.region (us-west-2): the DR replica is in the other region; ' +
        'retired.0: names the same instance as replica (replica.east.rds.example)',
    );
    expect(() => parseTopology(JSON.stringify({ ...FIRST, writer: { ...PRIMARY, extra: 1 } }), 'p')).toThrow(
      /writer: Unrecognized key: "extra"/,
    );
  });

  it('answers the writer on PRIMARY and its replica on SECONDARY, the writer on both while it has none', () => {
    expect(recordTargets(FIRST, PRIMARY.endpoint)).toEqual({
      primary: PRIMARY.endpoint,
      secondary: REPLICA.endpoint,
    });
    // Host names compare as DNS does: case and a final dot do not matter.
    expect(recordTargets(FIRST, 'PRIMARY.west.rds.example.').secondary).toBe(REPLICA.endpoint);
    expect(
      recordTargets({ ...FIRST, writer: REPLICA, replica: null, retired: [PRIMARY] }, PRIMARY.endpoint),
    ).toEqual({ primary: REPLICA.endpoint, secondary: REPLICA.endpoint });
  });

  it('answers the writer on both records while the health checks watch another database (after a role change)', () => {
    // Re-protected after a failover: the checks still watch the retired primary. Were SECONDARY the replica,
    // the retired primary going away would send every client to the read-only replica.
    const home = { region: 'us-west-2', instanceIdentifier: 'home-2', endpoint: 'home-2.west.rds.example' };
    const reprotected: Topology = { ...FIRST, writer: REPLICA, replica: home, retired: [PRIMARY] };
    expect(recordTargets(reprotected, PRIMARY.endpoint)).toEqual({
      primary: REPLICA.endpoint,
      secondary: REPLICA.endpoint,
    });
  });

  it('writes a change: the document first, then the records it implies', async () => {
    const store = parameterStore({
      [NAMES.healthCheckedWriter]: PRIMARY.endpoint,
      [NAMES.document]: JSON.stringify(FIRST),
    });
    const result = await changeTopology(client, NAMES, {
      expectedGeneration: 1,
      changedBy: 'failover exec-1',
      now: NOW,
      next: failover,
    });
    expect(result).toEqual({
      written: true,
      topology: {
        generation: 2,
        writer: REPLICA,
        replica: null,
        retired: [PRIMARY],
        changedAt: NOW.toISOString(),
        changedBy: 'failover exec-1',
      },
      records: { primary: REPLICA.endpoint, secondary: REPLICA.endpoint },
    });
    expect(store.puts.map((p) => [p.Name, p.Overwrite])).toEqual([
      [NAMES.document, true],
      [NAMES.primaryRecord, true],
      [NAMES.secondaryRecord, true],
    ]);
    expect(store.values.get(NAMES.primaryRecord)).toBe(REPLICA.endpoint);
    expect(store.values.get(NAMES.secondaryRecord)).toBe(REPLICA.endpoint);
    expect(JSON.parse(store.values.get(NAMES.document) ?? '')).toEqual(result.topology);
  });

  it('does not write a retried change twice, but writes its records again', async () => {
    const store = parameterStore({
      [NAMES.healthCheckedWriter]: PRIMARY.endpoint,
      [NAMES.document]: JSON.stringify(FIRST),
    });
    const change = {
      expectedGeneration: 1,
      changedBy: 'failover exec-1',
      now: NOW,
      next: failover,
    };
    await changeTopology(client, NAMES, change);
    store.values.set(NAMES.primaryRecord, PRIMARY.endpoint); // the first attempt stopped before the records
    const again = await changeTopology(client, NAMES, { ...change, now: new Date(NOW.getTime() + 60_000) });
    expect(again.written).toBe(false);
    expect(again.topology.generation).toBe(2);
    expect(again.topology.changedAt).toBe(NOW.toISOString());
    expect(store.values.get(NAMES.primaryRecord)).toBe(REPLICA.endpoint);
  });

  it('refuses a change planned from another generation, and one that leaves an invalid topology', async () => {
    const store = parameterStore({
      [NAMES.healthCheckedWriter]: PRIMARY.endpoint,
      [NAMES.document]: JSON.stringify({ ...FIRST, generation: 3 }),
    });
    await expect(
      changeTopology(client, NAMES, {
        expectedGeneration: 2,
        changedBy: 'switchover x',
        now: NOW,
        next: failover,
      }),
    ).rejects.toMatchObject({
      name: 'TopologyChanged',
      message:
        '/pg-dr/topology/document: planned from generation 2, but it is at generation 3 (first deploy); ' +
        'read it again (dr status) and decide anew',
    });
    await expect(
      changeTopology(client, NAMES, {
        expectedGeneration: 3,
        changedBy: 'switchover x',
        now: NOW,
        next: (t) => ({ writer: t.writer, replica: t.writer, retired: [] }),
      }),
    ).rejects.toMatchObject({ name: 'TopologyInvalid' });
    expect(store.puts).toEqual([]);
  });
});
