import type { App, Environment } from 'aws-cdk-lib';
import type { DrConfig } from './config';
import { pagingAlarmsIn } from './constructs/paging-alarm';
import { RegionalNetwork } from './constructs/regional-network';
import { drNames, onCallRegions, ROUTE53_METRICS_REGION } from './names';
import { FailoverDnsStack } from './stacks/failover-dns-stack';
import { OnCallStack } from './stacks/on-call-stack';
import { OrchestrationStack } from './stacks/orchestration-stack';
import { PrimaryRegionStack } from './stacks/primary-region-stack';
import { SecondaryFoundationStack } from './stacks/secondary-foundation-stack';
import { SecondaryRegionStack } from './stacks/secondary-region-stack';

export interface DrStacks {
  readonly onCall: ReadonlyMap<string, OnCallStack>;
  readonly secondaryFoundation: SecondaryFoundationStack;
  readonly primary: PrimaryRegionStack;
  readonly secondary: SecondaryRegionStack;
  readonly failoverDns: FailoverDnsStack;
  readonly orchestration: OrchestrationStack;
}

/**
 * Composes the DR topology. Deploy order (cdk deploy --all follows it): on-call topics and the secondary
 * foundation, then the primary region, then the secondary region, then DNS. Values crossing regions travel
 * through CDK's cross-region references (SSM parameters read at deploy time).
 */
export function buildDrApp(app: App, config: DrConfig): DrStacks {
  const names = drNames(config);
  // The configured zones answer CDK's availability-zone lookup, so synth needs no AWS credentials.
  for (const [region, zones] of [
    [config.primaryRegion, config.network.primaryAvailabilityZones],
    [config.secondaryRegion, config.network.secondaryAvailabilityZones],
  ] as const) {
    app.node.setContext(`availability-zones:account=${config.account}:region=${region}`, zones);
  }
  const env = (region: string): Environment => ({ account: config.account, region });
  const common = { crossRegionReferences: true, terminationProtection: true } as const;

  const onCall = new Map(
    onCallRegions(config).map((region) => [
      region,
      new OnCallStack(app, names.stacks.onCall(region), { ...common, env: env(region), config }),
    ]),
  );
  const topicIn = (region: string) => {
    const stack = onCall.get(region);
    if (stack === undefined) throw new Error(`no on-call topic in ${region}`);
    return stack.onCall.topic;
  };

  const secondaryFoundation = new SecondaryFoundationStack(app, names.stacks.secondaryFoundation, {
    ...common,
    env: env(config.secondaryRegion),
    description: 'PostgreSQL DR: network, data key and backup bucket of the DR region',
    config,
  });
  const primary = new PrimaryRegionStack(app, names.stacks.primary, {
    ...common,
    env: env(config.primaryRegion),
    description: 'PostgreSQL DR: primary database, backups and health probe of the production region',
    config,
    secondary: secondaryFoundation,
    onCallTopic: topicIn(config.primaryRegion),
  });
  const secondary = new SecondaryRegionStack(app, names.stacks.secondary, {
    ...common,
    env: env(config.secondaryRegion),
    description: 'PostgreSQL DR: cross-region read replica, its health probe and lag alarm',
    config,
    foundation: secondaryFoundation,
    primary,
    onCallTopic: topicIn(config.secondaryRegion),
  });
  const failoverDns = new FailoverDnsStack(app, names.stacks.failoverDns, {
    ...common,
    env: env(ROUTE53_METRICS_REGION),
    description: 'PostgreSQL DR: Route 53 failover records, health checks and the primary health alarm',
    config,
    primaryEndpoint: primary.database.instance.dbInstanceEndpointAddress,
    replicaEndpoint: secondary.replica.instance.dbInstanceEndpointAddress,
    primaryPort: primary.database.instance.dbInstanceEndpointPort,
    replicaPort: secondary.replica.instance.dbInstanceEndpointPort,
    onCallTopic: topicIn(ROUTE53_METRICS_REGION),
  });
  const inPrimary = config.orchestrationRegion === config.primaryRegion;
  // The config refuses an adopted primary with the tooling in its region: the tooling runs in a created VPC.
  const toolingNetwork = inPrimary ? primary.network : secondaryFoundation.network;
  if (!(toolingNetwork instanceof RegionalNetwork))
    throw new Error('the recovery tooling needs the VPC this app creates (orchestrationRegion)');
  const orchestration = new OrchestrationStack(app, names.stacks.orchestration, {
    ...common,
    env: env(config.orchestrationRegion),
    description:
      'PostgreSQL DR: recovery tooling (blue-green migration, failover drill, DR dashboard) in the orchestration region',
    config,
    network: toolingNetwork,
    secretKeys: inPrimary ? [primary.dataKey.key] : secondaryFoundation.secretKeys,
    onCallTopic: topicIn(config.orchestrationRegion),
    replica: secondary.replica,
    primary: primary.database,
    failoverDns: failoverDns.dns,
    primaryEndpoint: primary.database.instance.dbInstanceEndpointAddress,
    replicaEndpoint: secondary.replica.instance.dbInstanceEndpointAddress,
    primaryBackupKey: primary.dataKey.key,
  });
  // Monitoring by declaration: every alarm made to page on-call, in any stack, is on the dashboard.
  orchestration.dashboard.showPagingAlarms(pagingAlarmsIn(app));
  return { onCall, secondaryFoundation, primary, secondary, failoverDns, orchestration };
}
