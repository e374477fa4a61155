import { failoverSetIdentifier } from '../names';
import { Duration } from 'aws-cdk-lib';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';

export interface FailoverTarget {
  /**
   * What the record answers: the topology's target for its role (a dynamic reference), so a deploy never
   * moves it back to the database first deployed.
   */
  readonly recordTarget: string;
  /** The in-VPC probe's alarm that says whether the database answers. */
  readonly alarmName: string;
  readonly alarmRegion: string;
}

export interface SidecarCheck {
  readonly url: string;
  readonly requestInterval: Duration;
  readonly failureThreshold: number;
}

export interface FailoverDnsProps {
  readonly hostedZoneId: string;
  readonly zoneName: string;
  readonly recordName: string;
  readonly ttl: Duration;
  readonly primary: FailoverTarget;
  /** The primary probed from the secondary region: its alarm (in that region) is a second observer. */
  readonly primaryRemote: { readonly alarmName: string; readonly alarmRegion: string };
  readonly secondary: FailoverTarget;
  /** The application's public health endpoint; when set, the primary is healthy only if both are. */
  readonly sidecar?: SidecarCheck;
  /** A second failover pair for drills, with its own PRIMARY check, so a drill never moves production DNS. */
  readonly drillRecordName?: string;
}

/**
 * PRIMARY and SECONDARY failover CNAMEs for the database name, each gated by a health check that follows the
 * in-VPC probe's alarm. Route 53 answers the secondary while the primary's check is unhealthy: failover is
 * data-plane only, with no record change needed during a disaster.
 */
export class FailoverDns extends Construct {
  /** The CALCULATED check on the PRIMARY record: the one the drill inverts to simulate losing the primary. */
  readonly primaryRecordHealthCheck: route53.HealthCheck;
  readonly primaryDatabaseHealthCheck: route53.HealthCheck;
  /** The primary as seen from the secondary region (the remote observer's alarm). */
  readonly primaryRemoteHealthCheck: route53.HealthCheck;
  readonly secondaryDatabaseHealthCheck: route53.HealthCheck;
  readonly sidecarHealthCheck: route53.HealthCheck | undefined;
  /** The drill record's own CALCULATED check (same children), when a drill record is configured. */
  readonly drillRecordHealthCheck: route53.HealthCheck | undefined;

  constructor(scope: Construct, id: string, props: FailoverDnsProps) {
    super(scope, id);
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: props.hostedZoneId,
      zoneName: props.zoneName,
    });

    // Route 53 follows the alarm's data stream (not its state) and, when the stream has no data, the check's
    // InsufficientDataHealthStatus.
    const databaseCheck = (
      checkId: string,
      target: { alarmName: string; alarmRegion: string },
      noData: route53.InsufficientDataHealthStatusEnum,
    ) =>
      new route53.HealthCheck(this, checkId, {
        type: route53.HealthCheckType.CLOUDWATCH_METRIC,
        alarmIdentifier: { name: target.alarmName, region: target.alarmRegion },
        insufficientDataHealthStatus: noData,
      });
    // The primary's own region going silent (its probe, or CloudWatch there, impaired by the same event) is
    // itself a sign: that observer then votes unhealthy, and the remote observer decides.
    this.primaryDatabaseHealthCheck = databaseCheck(
      'PrimaryDatabaseHealth',
      props.primary,
      route53.InsufficientDataHealthStatusEnum.UNHEALTHY,
    );
    // A silent remote observer is no verdict: it keeps its last status (and its blind alarm pages).
    this.primaryRemoteHealthCheck = databaseCheck(
      'PrimaryRemoteHealth',
      props.primaryRemote,
      route53.InsufficientDataHealthStatusEnum.LAST_KNOWN_STATUS,
    );
    this.secondaryDatabaseHealthCheck = databaseCheck(
      'SecondaryDatabaseHealth',
      props.secondary,
      route53.InsufficientDataHealthStatusEnum.LAST_KNOWN_STATUS,
    );

    // PRIMARY fails over only when the observers agree: both database observers (either one healthy keeps
    // it), or, with a sidecar, two of the three. One observer alone (a peering problem, the secondary region
    // impaired, the application's own endpoint) never moves production to the read-only replica.
    const children = [this.primaryDatabaseHealthCheck, this.primaryRemoteHealthCheck];
    if (props.sidecar !== undefined) {
      const url = new URL(props.sidecar.url);
      this.sidecarHealthCheck = new route53.HealthCheck(this, 'SidecarHealth', {
        type: route53.HealthCheckType.HTTPS,
        fqdn: url.hostname,
        port: url.port === '' ? 443 : Number(url.port),
        resourcePath: `${url.pathname}${url.search}`,
        requestInterval: props.sidecar.requestInterval,
        failureThreshold: props.sidecar.failureThreshold,
        enableSNI: true,
      });
      children.push(this.sidecarHealthCheck);
    } else {
      this.sidecarHealthCheck = undefined;
    }
    // Always a parent check, even with one child: the drill inverts this one, while alarms watch the children,
    // so a drill never pages anyone about the database it is only pretending to lose.
    this.primaryRecordHealthCheck = new route53.HealthCheck(this, 'PrimaryRecordHealth', {
      type: route53.HealthCheckType.CALCULATED,
      childHealthChecks: children,
      healthThreshold: children.length - 1,
    });

    const record = (
      recordId: string,
      recordName: string,
      failover: route53.Failover,
      target: FailoverTarget,
      healthCheck: route53.HealthCheck,
    ) =>
      new route53.CnameRecord(this, recordId, {
        zone,
        recordName,
        domainName: target.recordTarget,
        ttl: props.ttl,
        failover,
        setIdentifier: failoverSetIdentifier(
          recordName,
          failover === route53.Failover.PRIMARY ? 'primary' : 'secondary',
        ),
        healthCheck,
      });
    const pair = (prefix: string, recordName: string, primaryCheck: route53.HealthCheck) => {
      record(`${prefix}PrimaryRecord`, recordName, route53.Failover.PRIMARY, props.primary, primaryCheck);
      record(
        `${prefix}SecondaryRecord`,
        recordName,
        route53.Failover.SECONDARY,
        props.secondary,
        this.secondaryDatabaseHealthCheck,
      );
    };
    pair('', props.recordName, this.primaryRecordHealthCheck);

    if (props.drillRecordName !== undefined) {
      this.drillRecordHealthCheck = new route53.HealthCheck(this, 'DrillRecordHealth', {
        type: route53.HealthCheckType.CALCULATED,
        childHealthChecks: children,
        healthThreshold: children.length - 1,
      });
      pair('Drill', props.drillRecordName, this.drillRecordHealthCheck);
    } else {
      this.drillRecordHealthCheck = undefined;
    }
  }
}
