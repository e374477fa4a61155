import { Duration } from 'aws-cdk-lib';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';

export interface FailoverTarget {
  /** The database endpoint host name the record points at. */
  readonly endpoint: string;
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

    const databaseCheck = (checkId: string, target: { alarmName: string; alarmRegion: string }) =>
      new route53.HealthCheck(this, checkId, {
        type: route53.HealthCheckType.CLOUDWATCH_METRIC,
        alarmIdentifier: { name: target.alarmName, region: target.alarmRegion },
        // A probe that stops publishing leaves its alarm without data (INSUFFICIENT_DATA): no verdict, so the
        // check keeps its last status; the other observer still decides, and the probe's blind alarm pages.
        insufficientDataHealthStatus: route53.InsufficientDataHealthStatusEnum.LAST_KNOWN_STATUS,
      });
    this.primaryDatabaseHealthCheck = databaseCheck('PrimaryDatabaseHealth', props.primary);
    this.primaryRemoteHealthCheck = databaseCheck('PrimaryRemoteHealth', props.primaryRemote);
    this.secondaryDatabaseHealthCheck = databaseCheck('SecondaryDatabaseHealth', props.secondary);

    // PRIMARY is healthy only while every observer says so: its own region's probe, the secondary region's
    // probe of it, and the sidecar when configured.
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
      healthThreshold: children.length,
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
        domainName: target.endpoint,
        ttl: props.ttl,
        failover,
        setIdentifier: `${recordName}-${failover.toLowerCase()}`,
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
        healthThreshold: children.length,
      });
      pair('Drill', props.drillRecordName, this.drillRecordHealthCheck);
    } else {
      this.drillRecordHealthCheck = undefined;
    }
  }
}
