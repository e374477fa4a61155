/**
 * Where the topology lives: SSM parameters in the Route 53 stack's region, named from the resource prefix.
 * Constants only (no imports), so the CDK app and the `dr` CLI can load it without the SDK.
 *
 * - `document`: the topology itself (JSON, lambdas/shared/topology.ts), read by the workflows and `dr`;
 * - `primaryRecord` / `secondaryRecord`: the host names the PRIMARY and SECONDARY failover records answer,
 *   derived from the document (recordTargets) and read by CloudFormation through dynamic references, so a
 *   deploy that touches a record writes what the topology says, never what was first deployed;
 * - `healthCheckedWriter`: the writer the health probes are known to watch, settled (the first deploy's
 *   primary, then whatever the topology sync confirms). SECONDARY answers the writer's replica only while
 *   the writer is this one (recordTargets).
 */
export const topologyParameterNames = (prefix: string) =>
  ({
    document: `/${prefix}/topology/document`,
    primaryRecord: `/${prefix}/topology/primary-record`,
    secondaryRecord: `/${prefix}/topology/secondary-record`,
    healthCheckedWriter: `/${prefix}/topology/health-checked-writer`,
  }) as const;

export type TopologyParameterNames = ReturnType<typeof topologyParameterNames>;
