import { RoutableError } from '../shared/routable-error';
import type { Topology } from '../shared/topology-schema';

export type RetirementErrorName = 'RetirementRefused';
export class RetirementError extends RoutableError<RetirementErrorName> {}

/** The roles the topology names now: an instance it names is never retired. */
export function refuseTopologyMember(topology: Topology, instance: string): void {
  if (topology.writer.instanceIdentifier === instance)
    throw new RetirementError(
      'RetirementRefused',
      `${instance} is the writer the topology names (generation ${topology.generation}): a rollback made it the writer again, so it is not retired`,
    );
  if (topology.replica?.instanceIdentifier === instance)
    throw new RetirementError(
      'RetirementRefused',
      `${instance} is the replica the topology names (generation ${topology.generation}): it is not retired`,
    );
}
