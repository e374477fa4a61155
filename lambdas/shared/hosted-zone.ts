import { GetHostedZoneCommand, type Route53Client } from '@aws-sdk/client-route-53';

/** Why a hosted zone cannot hold the failover records: TestDNSAnswer answers for public zones only. */
export function privateZoneProblem(zoneId: string): string {
  return (
    `hosted zone ${zoneId} is private: Route 53's TestDNSAnswer, which the drill and the DNS flip use to ` +
    'observe what Route 53 answers, supports public hosted zones only. Use a public zone for the failover records.'
  );
}

/** The zone's problem for this toolkit, if any: undefined for a public zone. */
export async function hostedZoneProblem(
  route53: Pick<Route53Client, 'send'>,
  zoneId: string,
): Promise<string | undefined> {
  const { HostedZone } = await route53.send(new GetHostedZoneCommand({ Id: zoneId }));
  return HostedZone?.Config?.PrivateZone === true ? privateZoneProblem(zoneId) : undefined;
}
