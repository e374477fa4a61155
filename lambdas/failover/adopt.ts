/**
 * The plan of a region failover that adopts a restored instance as the writer (`dr failover --adopt <id>`):
 * the seed's "restore the primary database from backup" put into service, when neither the writer nor its
 * replica can serve (data damaged on both, or both lost). It checks, changing nothing, that the instance is one
 * `dr restore` made (tagged `pg-dr:restored-from`), standalone, available and in one of the app's two regions,
 * and no member of the topology. The failover then runs as usual with it in the replica's place: the writer is
 * retired if it answers, the restored instance is opened, recorded as the writer (no replica: re-protect) and
 * both records point at it.
 */
import type { DBInstance, RDSClient } from '@aws-sdk/client-rds';
import { RESTORE_POINT_TAG, RESTORE_TEST_ROLE, RESTORED_FROM_TAG } from '../shared/provisioning-tags';
import { describeInstance } from '../shared/rds-instance';
import type { Topology, TopologyMember } from '../shared/topology-schema';
import { adoptionSchema, type Adoption } from './adoption';
import { FailoverError } from './replication-position';

/** How long RDS in one region may take to describe the instance (a lost region's endpoint may hang). */
const DESCRIBE_MS = 10_000;

function withinTime<T>(work: Promise<T>, ms: number, region: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer from RDS in ${region} within ${ms / 1000} s`));
    }, ms);
  });
  return Promise.race([work, late]).finally(() => {
    clearTimeout(timer);
  });
}

/** Statuses of an instance that takes connections: RDS takes a first backup right after a restore. */
const SERVING: ReadonlySet<string> = new Set(['available', 'backing-up']);

const tagOf = (instance: DBInstance, key: string): string | undefined =>
  instance.TagList?.find((t) => t.Key === key)?.Value;

export async function planAdoption(
  rdsIn: (region: string) => Pick<RDSClient, 'send'>,
  regions: readonly string[],
  topology: Topology,
  instanceIdentifier: string,
): Promise<Adoption> {
  const id = instanceIdentifier;
  const members: [string, TopologyMember][] = [
    ['the writer', topology.writer],
    ...(topology.replica === null ? [] : [['the replica', topology.replica] as [string, TopologyMember]]),
    ...topology.retired.map((m): [string, TopologyMember] => ['a retired writer', m]),
  ];
  const member = members.find(([, m]) => m.instanceIdentifier === id);
  if (member !== undefined)
    throw new FailoverError(
      'NotAdoptable',
      `${id} is ${member[0]} of the topology (generation ${topology.generation}): only an instance restored by ` +
        'dr restore is adopted (dr failover without --adopt promotes the replica)',
    );
  // Both regions at once, each bounded: a region that is lost (its RDS endpoint failing or hanging) must not
  // keep the other's instance from being adopted; only an instance found in both is ambiguous.
  const answers = await Promise.allSettled(
    regions.map((region) => withinTime(describeInstance(rdsIn(region), id), DESCRIBE_MS, region)),
  );
  const found = answers.flatMap((a, i) =>
    a.status === 'fulfilled' && a.value !== undefined
      ? [{ region: regions[i] ?? '', instance: a.value }]
      : [],
  );
  const unanswered = answers.flatMap((a, i) =>
    a.status === 'rejected' ? [`${regions[i] ?? ''} (${(a.reason as Error).message})`] : [],
  );
  const where = regions.join(' or ');
  if (found.length === 0)
    throw new FailoverError(
      'NotAdoptable',
      unanswered.length === 0
        ? `no instance ${id} in ${where}: restore one first (dr restore)`
        : `no instance ${id} found, and RDS did not answer in ${unanswered.join('; ')}: start again once it does`,
    );
  if (found.length > 1)
    throw new FailoverError(
      'NotAdoptable',
      `${id} names an instance in both ${regions.join(' and ')}: rename the one not to adopt (aws rds modify-db-instance ` +
        '--new-db-instance-identifier), then start again',
    );
  const [{ region, instance }] = found as [{ region: string; instance: DBInstance }];
  const restoredFrom = tagOf(instance, RESTORED_FROM_TAG);
  if (restoredFrom === undefined)
    throw new FailoverError(
      'NotAdoptable',
      `${id} in ${region} has no ${RESTORED_FROM_TAG} tag: only an instance restored by dr restore is adopted`,
    );
  if (tagOf(instance, RESTORE_TEST_ROLE.key) === RESTORE_TEST_ROLE.value)
    throw new FailoverError(
      'NotAdoptable',
      `${id} in ${region} is a restore test's throwaway instance (the test deletes it): restore one with dr restore`,
    );
  if (instance.ReadReplicaSourceDBInstanceIdentifier !== undefined)
    throw new FailoverError(
      'NotAdoptable',
      `${id} in ${region} is a read replica of ${instance.ReadReplicaSourceDBInstanceIdentifier}, not a restored instance`,
    );
  const status = instance.DBInstanceStatus ?? 'unknown';
  const endpoint = instance.Endpoint?.Address;
  if (!SERVING.has(status) || endpoint === undefined)
    throw new FailoverError(
      'NotAdoptable',
      `${id} in ${region} is ${status}: adopt it once it is available (dr restore follows a restore until ` +
        'then; start a stopped one first)',
    );
  // A source the topology names (a cut-over green, opened by its own secret) hands its secret on: the copy
  // holds the same roles. Any other source's copy opens with the master secret.
  const source = members.find(([, m]) => m.instanceIdentifier === restoredFrom)?.[1];
  const port = instance.Endpoint?.Port;
  const adoption = adoptionSchema.safeParse({
    member: {
      region,
      instanceIdentifier: id,
      endpoint,
      ...(port === undefined ? {} : { port }),
      ...(source?.secretId === undefined ? {} : { secretId: source.secretId }),
    },
    restoredFrom,
    restorePoint: tagOf(instance, RESTORE_POINT_TAG),
    createdAt:
      instance.InstanceCreateTime === undefined ? null : new Date(instance.InstanceCreateTime).toISOString(),
    formerReplica: topology.replica?.instanceIdentifier ?? null,
  });
  if (!adoption.success)
    throw new FailoverError(
      'NotAdoptable',
      `${id} in ${region}: its tags or endpoint are not what dr restore leaves (${adoption.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')})`,
      { cause: adoption.error },
    );
  return adoption.data;
}
