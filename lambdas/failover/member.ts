/** A topology member as the failover's steps reach it: with the secret that opens it settled. */
import type { DatabaseRef } from '../shared/database-ref';
import type { TopologyMember } from '../shared/topology-schema';

/** A topology member with the secret that opens it settled (its own, or the master secret). */
export type OpenableMember = TopologyMember & { readonly secretId: string };

export const openable = (member: TopologyMember, secretId: string): OpenableMember => ({
  ...member,
  secretId: member.secretId ?? secretId,
});

/** How a step reaches a member: its endpoint and port, with its secret. */
export const memberRef = (member: OpenableMember, database: string): DatabaseRef => ({
  secretId: member.secretId,
  host: member.endpoint,
  ...(member.port === undefined ? {} : { port: member.port }),
  database,
});
