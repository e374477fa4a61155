/**
 * SIMULATED Route 53, following the catalogue (lib/local-aws/catalogue/route53.ts): hosted zones (public or
 * private), health checks (CALCULATED with HealthThreshold, CLOUDWATCH_METRIC with InsufficientDataHealthStatus,
 * endpoint checks), inversion and disabling, failover record sets answered from health after a switching
 * delay, versioned updates, changes that go PENDING then INSYNC, and the ordering of ListResourceRecordSets.
 */
import type { SimulatorCall, Simulator } from './world';
import { str } from './input';

export type CheckType = 'CALCULATED' | 'CLOUDWATCH_METRIC' | 'HTTPS' | 'HTTP' | 'TCP';
export type Observation = 'healthy' | 'unhealthy' | 'insufficient-data';

export interface SimulatedHealthCheck {
  readonly id: string;
  readonly type: CheckType;
  inverted: boolean;
  disabled: boolean;
  version: number;
  children: string[];
  healthThreshold: number;
  /** CLOUDWATCH_METRIC: what Route 53 takes when the alarm's data stream is too thin. */
  insufficientDataHealthStatus: 'Healthy' | 'Unhealthy' | 'LastKnownStatus';
  alarm?: { readonly name: string; readonly region: string };
  /** What the checkers see now (endpoint checks), or what the alarm's data says (metric checks). */
  observed: Observation;
  /** Metric checks: the status the data last supported; undefined until it ever did. */
  lastKnown?: boolean;
}

export interface SimulatedRecordSet {
  Name: string;
  Type: string;
  TTL?: number;
  SetIdentifier?: string;
  Failover?: 'PRIMARY' | 'SECONDARY';
  HealthCheckId?: string;
  ResourceRecords: { Value: string }[];
}

interface Zone {
  readonly id: string;
  readonly name: string;
  readonly private: boolean;
  sets: SimulatedRecordSet[];
}

export interface Route53Options {
  /** How long Route 53 takes to act on a health change (not published by AWS; the drill measures it). */
  readonly switchDelayMs: number;
  /** How long a change stays PENDING. */
  readonly insyncDelayMs: number;
  readonly now?: () => number;
}

const fqdn = (name: string) => {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
};
const reversedLabels = (name: string) => fqdn(name).slice(0, -1).split('.').reverse().join('.');
const CHECKER_REGIONS = [
  'us-east-1',
  'us-west-1',
  'us-west-2',
  'eu-west-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'sa-east-1',
];

export class Route53Simulator implements Simulator {
  readonly service = 'route53' as const;
  readonly label = 'SIMULATED Route 53';
  readonly zones = new Map<string, Zone>();
  readonly checks = new Map<string, SimulatedHealthCheck>();
  /** When each check's reported health last changed: for CloudWatch's HealthCheckStatus and the switch delay. */
  private readonly history = new Map<string, { at: number; healthy: boolean }[]>();
  private readonly changes = new Map<string, number>();
  private changeCount = 0;

  constructor(private readonly options: Route53Options) {}

  now(): number {
    return (this.options.now ?? Date.now)();
  }

  addZone(id: string, name: string, options: { private?: boolean } = {}): void {
    this.zones.set(id, { id, name: fqdn(name), private: options.private ?? false, sets: [] });
  }

  addCheck(
    check: Pick<SimulatedHealthCheck, 'id' | 'type'> & Partial<Omit<SimulatedHealthCheck, 'id' | 'type'>>,
  ): SimulatedHealthCheck {
    const full: SimulatedHealthCheck = {
      inverted: false,
      disabled: false,
      version: 1,
      children: [],
      healthThreshold: check.children?.length ?? 0,
      insufficientDataHealthStatus: 'LastKnownStatus',
      observed: 'healthy',
      ...check,
    };
    this.checks.set(full.id, full);
    this.recordHealth();
    return full;
  }

  /** What the checkers (or the alarm's data) say about a check from now on. */
  observe(id: string, observed: Observation): void {
    this.requireCheck(id).observed = observed;
    this.recordHealth();
  }

  addRecordSet(zoneId: string, set: SimulatedRecordSet): void {
    this.requireZone(zoneId).sets.push({ ...set, Name: fqdn(set.Name) });
  }

  /**
   * Writes a record set as CloudFormation does when it creates or updates one: the set with the same name,
   * type and set identifier is replaced, or the set is added.
   */
  putRecordSet(zoneId: string, set: SimulatedRecordSet): void {
    const zone = this.requireZone(zoneId);
    const name = fqdn(set.Name);
    const at = zone.sets.findIndex(
      (s) => s.Name === name && s.Type === set.Type && s.SetIdentifier === set.SetIdentifier,
    );
    if (at >= 0) zone.sets.splice(at, 1);
    zone.sets.push({ ...set, Name: name });
  }

  /** A PRIMARY/SECONDARY failover pair, as the CDK app creates it. */
  addFailoverPair(
    zoneId: string,
    name: string,
    ttl: number,
    primary: { value: string; healthCheckId: string },
    secondary: { value: string; healthCheckId: string },
  ): void {
    for (const [role, side] of [
      ['PRIMARY', primary],
      ['SECONDARY', secondary],
    ] as const) {
      this.addRecordSet(zoneId, {
        Name: name,
        Type: 'CNAME',
        TTL: ttl,
        SetIdentifier: `${fqdn(name).slice(0, -1)}-${role.toLowerCase()}`,
        Failover: role,
        HealthCheckId: side.healthCheckId,
        ResourceRecords: [{ Value: side.value }],
      });
    }
  }

  /** Health as the check reports it now: observation, insufficient data, threshold, then disabled and inverted. */
  healthy(id: string, seen = new Set<string>()): boolean {
    const check = this.checks.get(id);
    if (check === undefined) return true;
    if (seen.has(id)) throw new Error(`${this.label}: health check ${id} refers to itself`);
    seen.add(id);
    let own: boolean;
    if (check.type === 'CALCULATED') {
      const healthyChildren = check.children.filter((child) => this.healthy(child, new Set(seen))).length;
      own = healthyChildren >= check.healthThreshold;
    } else if (check.observed === 'insufficient-data' && check.type === 'CLOUDWATCH_METRIC') {
      own =
        check.insufficientDataHealthStatus === 'Healthy'
          ? true
          : check.insufficientDataHealthStatus === 'Unhealthy'
            ? false
            : (check.lastKnown ?? true);
    } else {
      own = check.observed === 'healthy';
    }
    // Disabled: always healthy, unless inverted too (then unhealthy).
    if (check.disabled) return !check.inverted;
    return check.inverted ? !own : own;
  }

  /** Appends each check's reported health to its history when it changed; remembers last known metric status. */
  private recordHealth(): void {
    const at = this.now();
    for (const check of this.checks.values()) {
      if (check.type === 'CLOUDWATCH_METRIC' && check.observed !== 'insufficient-data')
        check.lastKnown = check.observed === 'healthy';
      const healthy = this.healthy(check.id);
      const list = this.history.get(check.id) ?? [];
      if (list.at(-1)?.healthy !== healthy) list.push({ at: list.length === 0 ? 0 : at, healthy });
      this.history.set(check.id, list);
    }
  }

  /** Health as Route 53's DNS servers act on it: a change takes effect `switchDelayMs` after it happened. */
  private effectiveHealth(id: string): boolean {
    if (!this.checks.has(id)) return true;
    const list = this.history.get(id) ?? [];
    const cutoff = this.now() - this.options.switchDelayMs;
    let healthy = list[0]?.healthy ?? true;
    for (const entry of list) if (entry.at <= cutoff) healthy = entry.healthy;
    return healthy;
  }

  /** HealthCheckStatus samples (1/0) between two times, for the simulated CloudWatch. */
  healthSamples(id: string, start: number, end: number): { at: number; value: number }[] {
    const list = this.history.get(id);
    if (list === undefined) return [];
    const samples: { at: number; value: number }[] = [];
    let current = list[0]?.healthy ?? true;
    for (const entry of list) {
      if (entry.at <= start) current = entry.healthy;
    }
    samples.push({ at: start, value: current ? 1 : 0 });
    for (const entry of list)
      if (entry.at > start && entry.at < end) samples.push({ at: entry.at, value: entry.healthy ? 1 : 0 });
    return samples;
  }

  /** What Route 53 answers now for a name and type (the data plane): failover sets by health. */
  answer(name: string, type = 'CNAME'): { values: string[]; ttl: number } | undefined {
    const wanted = fqdn(name);
    const zone = [...this.zones.values()]
      .filter((z) => wanted === z.name || wanted.endsWith(`.${z.name}`))
      .sort((a, b) => b.name.length - a.name.length)[0];
    const sets = (zone?.sets ?? []).filter((s) => s.Name === wanted && s.Type === type);
    if (sets.length === 0) return undefined;
    const primary = sets.find((s) => s.Failover === 'PRIMARY');
    const secondary = sets.find((s) => s.Failover === 'SECONDARY');
    let chosen = sets[0];
    if (primary !== undefined) {
      const primaryUp = primary.HealthCheckId === undefined || this.effectiveHealth(primary.HealthCheckId);
      const secondaryUp =
        secondary !== undefined &&
        (secondary.HealthCheckId === undefined || this.effectiveHealth(secondary.HealthCheckId));
      // Both unhealthy: Route 53 answers the primary.
      chosen = primaryUp || !secondaryUp ? primary : secondary;
    }
    return { values: (chosen?.ResourceRecords ?? []).map((r) => r.Value), ttl: chosen?.TTL ?? 0 };
  }

  /** A stub resolver with its own TTL cache, as an application or a VPC resolver has. */
  resolver(): (name: string) => Promise<string[]> {
    const cache = new Map<string, { values: string[]; until: number }>();
    return (name: string) => {
      const key = fqdn(name);
      const cached = cache.get(key);
      if (cached !== undefined && cached.until > this.now()) return Promise.resolve(cached.values);
      const answer = this.answer(key);
      if (answer === undefined)
        return Promise.reject(
          Object.assign(new Error(`queryCname ENOTFOUND ${name}`), { code: 'ENOTFOUND' }),
        );
      cache.set(key, { values: answer.values, until: this.now() + answer.ttl * 1000 });
      return Promise.resolve(answer.values);
    };
  }

  handle(call: SimulatorCall): unknown {
    const input = call.input;
    switch (call.operation) {
      case 'TestDNSAnswer': {
        const zone = this.zoneFor(call, str(input.HostedZoneId));
        if (zone.private) call.fail('InvalidInput', 'This call only supports querying public hosted zones.');
        const answer = this.answer(str(input.RecordName), str(input.RecordType, 'CNAME'));
        return {
          Nameserver: 'ns-local.awsdns.simulated',
          RecordName: str(input.RecordName),
          RecordType: str(input.RecordType),
          RecordData: (answer?.values ?? []).map((v) => fqdn(v)),
          ResponseCode: answer === undefined ? 'NXDOMAIN' : 'NOERROR',
          Protocol: 'UDP',
        };
      }
      case 'GetHostedZone': {
        const zone = this.zoneFor(call, str(input.Id));
        return {
          HostedZone: {
            Id: `/hostedzone/${zone.id}`,
            Name: zone.name,
            CallerReference: 'simulated',
            Config: { PrivateZone: zone.private },
            ResourceRecordSetCount: zone.sets.length,
          },
          ...(zone.private ? { VPCs: [{ VPCRegion: 'us-east-1', VPCId: 'vpc-simulated' }] } : {}),
        };
      }
      case 'GetHealthCheck':
        return { HealthCheck: this.describeCheck(this.checkFor(call)) };
      case 'UpdateHealthCheck': {
        const check = this.checkFor(call);
        const version = input.HealthCheckVersion as number | undefined;
        if (version !== undefined && version !== check.version)
          call.fail(
            'HealthCheckVersionMismatch',
            `The value of HealthCheckVersion in the request doesn't match the value of HealthCheckVersion in the health check.`,
          );
        if (input.Inverted !== undefined) check.inverted = Boolean(input.Inverted);
        if (input.Disabled !== undefined) check.disabled = Boolean(input.Disabled);
        if (input.HealthThreshold !== undefined) {
          if (check.type !== 'CALCULATED')
            call.fail('InvalidInput', 'HealthThreshold applies to calculated checks');
          check.healthThreshold = Number(input.HealthThreshold);
        }
        check.version += 1;
        this.recordHealth();
        return { HealthCheck: this.describeCheck(check) };
      }
      case 'GetHealthCheckStatus': {
        const check = this.checkFor(call);
        if (check.type === 'CALCULATED')
          call.fail(
            'InvalidInput',
            "You can't use GetHealthCheckStatus to get the status of a calculated health check.",
          );
        const up = this.healthy(check.id);
        return {
          HealthCheckObservations: CHECKER_REGIONS.map((region, i) => ({
            Region: region,
            IPAddress: `192.0.2.${i + 1}`,
            StatusReport: {
              Status: up ? 'Success: HTTP Status Code 200, OK' : 'Failure: the simulated check is unhealthy',
              CheckedTime: new Date(this.now()),
            },
          })),
        };
      }
      case 'ListResourceRecordSets':
        return this.list(call);
      case 'ChangeResourceRecordSets':
        return this.change(call);
      case 'GetChange': {
        const id = str(input.Id).replace(/^\/?change\//, '');
        const submitted = this.changes.get(id);
        if (submitted === undefined)
          return call.fail('NoSuchChange', `A change with the specified change ID does not exist: ${id}`);
        const insync = this.now() - submitted >= this.options.insyncDelayMs;
        return {
          ChangeInfo: {
            Id: `/change/${id}`,
            Status: insync ? 'INSYNC' : 'PENDING',
            SubmittedAt: new Date(submitted),
          },
        };
      }
      default:
        throw new Error(`${this.label}: ${call.operation} is catalogued but not simulated`);
    }
  }

  private list(call: SimulatorCall): unknown {
    const input = call.input;
    const zone = this.zoneFor(call, str(input.HostedZoneId));
    const startName = input.StartRecordName as string | undefined;
    const startType = input.StartRecordType as string | undefined;
    if (startType !== undefined && startName === undefined)
      call.fail('InvalidInput', 'The input is not valid: StartRecordType needs StartRecordName');
    const max = Math.min(300, Number(input.MaxItems ?? 300));
    const sorted = [...zone.sets].sort(
      (a, b) =>
        reversedLabels(a.Name).localeCompare(reversedLabels(b.Name)) ||
        a.Type.localeCompare(b.Type) ||
        (a.SetIdentifier ?? '').localeCompare(b.SetIdentifier ?? ''),
    );
    const from = sorted.filter((s) => {
      if (startName === undefined) return true;
      const byName = reversedLabels(s.Name).localeCompare(reversedLabels(startName));
      return (
        byName > 0 || (byName === 0 && (startType === undefined || s.Type.localeCompare(startType) >= 0))
      );
    });
    const page = from.slice(0, max);
    const next = from[max];
    return {
      ResourceRecordSets: page.map((s) => structuredClone(s)),
      IsTruncated: next !== undefined,
      MaxItems: String(max),
      ...(next === undefined
        ? {}
        : {
            NextRecordName: next.Name,
            NextRecordType: next.Type,
            ...(next.SetIdentifier === undefined ? {} : { NextRecordIdentifier: next.SetIdentifier }),
          }),
    };
  }

  private change(call: SimulatorCall): unknown {
    const zone = this.zoneFor(call, str(call.input.HostedZoneId));
    const changes =
      (
        call.input.ChangeBatch as
          { Changes?: { Action: string; ResourceRecordSet: SimulatedRecordSet }[] } | undefined
      )?.Changes ?? [];
    if (changes.length === 0) call.fail('InvalidInput', 'ChangeBatch needs at least one change');
    // Validate the whole batch against a copy, then apply it whole (or not at all).
    const sets = zone.sets.map((s) => structuredClone(s));
    const sameSet = (a: SimulatedRecordSet, b: SimulatedRecordSet) =>
      a.Name === fqdn(b.Name) && a.Type === b.Type && (a.SetIdentifier ?? '') === (b.SetIdentifier ?? '');
    for (const { Action, ResourceRecordSet: set } of changes) {
      const wanted = { ...structuredClone(set), Name: fqdn(set.Name) };
      if (wanted.HealthCheckId !== undefined && !this.checks.has(wanted.HealthCheckId))
        call.fail(
          'NoSuchHealthCheck',
          `No health check exists with the specified ID: ${wanted.HealthCheckId}`,
        );
      const index = sets.findIndex((s) => sameSet(s, wanted));
      const failoverPeers = sets.filter(
        (s) => s.Name === wanted.Name && s.Type === wanted.Type && s.Failover !== undefined,
      );
      if (wanted.Failover === undefined && failoverPeers.length > 0 && index < 0)
        call.fail(
          'InvalidChangeBatch',
          `RRSet of type ${wanted.Type} with DNS name ${wanted.Name} is not permitted because a conflicting RRSet of type ${wanted.Type} with the same DNS name already exists`,
        );
      if (Action === 'CREATE') {
        if (index >= 0)
          call.fail(
            'InvalidChangeBatch',
            `[Tried to create resource record set [name='${wanted.Name}', type='${wanted.Type}'] but it already exists]`,
          );
        sets.push(wanted);
      } else if (Action === 'UPSERT') {
        if (index >= 0) sets[index] = wanted;
        else sets.push(wanted);
      } else if (Action === 'DELETE') {
        if (index < 0 || JSON.stringify(sets[index]) !== JSON.stringify(wanted))
          call.fail(
            'InvalidChangeBatch',
            `[Tried to delete resource record set [name='${wanted.Name}', type='${wanted.Type}'] but the values provided do not match the current values]`,
          );
        sets.splice(index, 1);
      } else {
        call.fail('InvalidInput', `unknown action ${Action}`);
      }
    }
    zone.sets = sets;
    const id = `C${String(++this.changeCount).padStart(8, '0')}SIMULATED`;
    this.changes.set(id, this.now());
    return { ChangeInfo: { Id: `/change/${id}`, Status: 'PENDING', SubmittedAt: new Date(this.now()) } };
  }

  private describeCheck(check: SimulatedHealthCheck) {
    return {
      Id: check.id,
      CallerReference: 'simulated',
      HealthCheckVersion: check.version,
      HealthCheckConfig: {
        Type: check.type,
        Inverted: check.inverted,
        Disabled: check.disabled,
        ...(check.type === 'CALCULATED'
          ? { ChildHealthChecks: [...check.children], HealthThreshold: check.healthThreshold }
          : {}),
        ...(check.alarm === undefined
          ? {}
          : {
              AlarmIdentifier: { Name: check.alarm.name, Region: check.alarm.region },
              InsufficientDataHealthStatus: check.insufficientDataHealthStatus,
            }),
      },
    };
  }

  private zoneFor(call: SimulatorCall, id: string): Zone {
    const zone = this.zones.get(id.replace(/^\/?hostedzone\//, ''));
    if (zone === undefined) return call.fail('NoSuchHostedZone', `No hosted zone found with ID: ${id}`);
    return zone;
  }

  private requireZone(id: string): Zone {
    const zone = this.zones.get(id);
    if (zone === undefined) throw new Error(`${this.label}: no zone ${id}`);
    return zone;
  }

  private checkFor(call: SimulatorCall): SimulatedHealthCheck {
    const id = str(call.input.HealthCheckId);
    const check = this.checks.get(id);
    if (check === undefined)
      return call.fail('NoSuchHealthCheck', `No health check exists with the specified ID ${id}`);
    return check;
  }

  requireCheck(id: string): SimulatedHealthCheck {
    const check = this.checks.get(id);
    if (check === undefined) throw new Error(`${this.label}: no health check ${id}`);
    return check;
  }

  /** The record set of a name (and set identifier), for a test to look at. */
  recordSet(name: string, setIdentifier?: string): SimulatedRecordSet | undefined {
    for (const zone of this.zones.values())
      for (const s of zone.sets)
        if (s.Name === fqdn(name) && (setIdentifier === undefined || s.SetIdentifier === setIdentifier))
          return s;
    return undefined;
  }
}
