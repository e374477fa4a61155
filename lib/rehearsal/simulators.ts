/**
 * SIMULATED AWS, for the local rehearsal only. In-process stand-ins for Route 53, S3, Secrets Manager, Step
 * Functions' ListExecutions and CloudWatch metrics, installed behind the real SDK clients (their `send` is
 * routed here), so the Lambda handlers run unchanged and do not know they are in a rehearsal.
 */
import { promises as dns } from 'node:dns';
import * as Route53 from '@aws-sdk/client-route-53';
import * as S3 from '@aws-sdk/client-s3';
import * as SecretsManager from '@aws-sdk/client-secrets-manager';
import * as Sfn from '@aws-sdk/client-sfn';

const normalize = (name: string) => {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
};

export interface SimulatedHealthCheck {
  readonly id: string;
  readonly type: 'CALCULATED' | 'CLOUDWATCH_METRIC';
  inverted: boolean;
  version: number;
  /** Health as the checker sees it (before inversion). */
  healthy: boolean;
  readonly children: readonly string[];
}

interface FailoverSet {
  value: string;
  readonly healthCheckId: string;
}

interface FailoverRecord {
  readonly name: string;
  readonly ttl: number;
  primary: FailoverSet;
  secondary: FailoverSet;
}

/** SIMULATED Route 53: failover records gated by health checks, with a switching delay and INSYNC delay. */
export class Route53Simulator {
  readonly label = 'SIMULATED Route 53';
  readonly checks = new Map<string, SimulatedHealthCheck>();
  readonly records = new Map<string, FailoverRecord>();
  /** When each check's effective health last changed; Route 53 acts on a change after `switchDelayMs`. */
  private readonly changedAt = new Map<string, { healthy: boolean; at: number }>();
  private changes = 0;
  private readonly pendingChanges = new Map<string, number>();

  constructor(
    readonly zoneId: string,
    private readonly options: { switchDelayMs: number; insyncDelayMs: number; now?: () => number },
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  addCheck(check: Omit<SimulatedHealthCheck, 'version' | 'inverted'> & { inverted?: boolean }): void {
    this.checks.set(check.id, { inverted: false, version: 1, ...check });
  }

  addFailoverRecord(name: string, ttl: number, primary: FailoverSet, secondary: FailoverSet): void {
    this.records.set(normalize(name), { name: normalize(name), ttl, primary, secondary });
  }

  /** Health now, as the check reports it (inversion applied; CALCULATED: all children healthy). */
  private rawHealth(id: string): boolean {
    const check = this.checks.get(id);
    if (check === undefined) return true;
    const own =
      check.type === 'CALCULATED' ? check.children.every((child) => this.rawHealth(child)) : check.healthy;
    return check.inverted ? !own : own;
  }

  /** Health as Route 53's DNS servers act on it: a change takes `switchDelayMs` to take effect. */
  private effectiveHealth(id: string): boolean {
    const raw = this.rawHealth(id);
    const last = this.changedAt.get(id);
    if (last === undefined) {
      this.changedAt.set(id, { healthy: raw, at: 0 });
      return raw;
    }
    if (last.healthy !== raw) {
      this.changedAt.set(id, { healthy: raw, at: this.now() });
      return !raw;
    }
    return this.now() - last.at >= this.options.switchDelayMs ? raw : !raw;
  }

  /** What Route 53 answers now for a name (the data plane). */
  answer(name: string): { value: string; ttl: number } | undefined {
    const record = this.records.get(normalize(name));
    if (record === undefined) return undefined;
    const primaryUp = this.effectiveHealth(record.primary.healthCheckId);
    const secondaryUp = this.effectiveHealth(record.secondary.healthCheckId);
    // Both down: Route 53 answers the primary.
    const set = primaryUp || !secondaryUp ? record.primary : record.secondary;
    return { value: set.value, ttl: record.ttl };
  }

  /** A stub resolver with its own TTL cache, as an application or a VPC resolver has. */
  resolver(): (name: string) => Promise<string[]> {
    const cache = new Map<string, { value: string; until: number }>();
    return (name: string) => {
      const key = normalize(name);
      const cached = cache.get(key);
      if (cached !== undefined && cached.until > this.now()) return Promise.resolve([cached.value]);
      const answer = this.answer(key);
      if (answer === undefined)
        return Promise.reject(
          Object.assign(new Error(`queryCname ENOTFOUND ${name}`), { code: 'ENOTFOUND' }),
        );
      cache.set(key, { value: answer.value, until: this.now() + answer.ttl * 1000 });
      return Promise.resolve([answer.value]);
    };
  }

  handle(command: unknown): unknown {
    if (command instanceof Route53.TestDNSAnswerCommand) {
      const answer = this.answer(command.input.RecordName ?? '');
      return { RecordData: answer === undefined ? [] : [normalize(answer.value)], ResponseCode: 'NOERROR' };
    }
    if (command instanceof Route53.GetHealthCheckCommand) {
      const check = this.requireCheck(command.input.HealthCheckId);
      return {
        HealthCheck: {
          Id: check.id,
          CallerReference: 'rehearsal',
          HealthCheckVersion: check.version,
          HealthCheckConfig: {
            Type: check.type,
            Inverted: check.inverted,
            ChildHealthChecks: [...check.children],
          },
        },
      };
    }
    if (command instanceof Route53.UpdateHealthCheckCommand) {
      const check = this.requireCheck(command.input.HealthCheckId);
      if (
        command.input.HealthCheckVersion !== undefined &&
        command.input.HealthCheckVersion !== check.version
      )
        throw Object.assign(new Error('version mismatch'), { name: 'HealthCheckVersionMismatch' });
      if (command.input.Inverted !== undefined) check.inverted = command.input.Inverted;
      check.version += 1;
      return {
        HealthCheck: { Id: check.id, CallerReference: 'rehearsal', HealthCheckVersion: check.version },
      };
    }
    if (command instanceof Route53.GetHealthCheckStatusCommand) {
      const check = this.requireCheck(command.input.HealthCheckId);
      if (check.type === 'CALCULATED')
        throw Object.assign(new Error('calculated checks have no checker status'), { name: 'InvalidInput' });
      const status = this.rawHealth(check.id) ? 'Success: alarm OK' : 'Failure: alarm ALARM';
      return {
        HealthCheckObservations: Array.from({ length: 8 }, (_, i) => ({
          Region: 'us-east-1',
          IPAddress: `192.0.2.${i + 1}`,
          StatusReport: { Status: status, CheckedTime: new Date(this.now()) },
        })),
      };
    }
    if (command instanceof Route53.ListResourceRecordSetsCommand) {
      return {
        ResourceRecordSets: [...this.records.values()].flatMap((r) => [
          {
            Name: r.name,
            Type: 'CNAME',
            TTL: r.ttl,
            SetIdentifier: `${r.name.slice(0, -1)}-primary`,
            Failover: 'PRIMARY',
            HealthCheckId: r.primary.healthCheckId,
            ResourceRecords: [{ Value: r.primary.value }],
          },
          {
            Name: r.name,
            Type: 'CNAME',
            TTL: r.ttl,
            SetIdentifier: `${r.name.slice(0, -1)}-secondary`,
            Failover: 'SECONDARY',
            HealthCheckId: r.secondary.healthCheckId,
            ResourceRecords: [{ Value: r.secondary.value }],
          },
        ]),
        IsTruncated: false,
      };
    }
    if (command instanceof Route53.ChangeResourceRecordSetsCommand) {
      for (const change of command.input.ChangeBatch?.Changes ?? []) {
        const set = change.ResourceRecordSet;
        const record = this.records.get(normalize(set?.Name ?? ''));
        const value = set?.ResourceRecords?.[0]?.Value;
        if (record === undefined || value === undefined || change.Action !== 'UPSERT')
          throw Object.assign(new Error('only UPSERTs of the failover records are simulated'), {
            name: 'InvalidInput',
          });
        if (set?.Failover === 'SECONDARY') record.secondary.value = value;
        else record.primary.value = value;
      }
      const id = `/change/C${++this.changes}`;
      this.pendingChanges.set(id, this.now());
      return { ChangeInfo: { Id: id, Status: 'PENDING', SubmittedAt: new Date(this.now()) } };
    }
    if (command instanceof Route53.GetChangeCommand) {
      const submitted = this.pendingChanges.get(command.input.Id ?? '') ?? 0;
      const insync = this.now() - submitted >= this.options.insyncDelayMs;
      return {
        ChangeInfo: {
          Id: command.input.Id,
          Status: insync ? 'INSYNC' : 'PENDING',
          SubmittedAt: new Date(submitted),
        },
      };
    }
    throw new Error(`${this.label}: ${(command as object).constructor.name} is not simulated`);
  }

  private requireCheck(id: string | undefined): SimulatedHealthCheck {
    const check = this.checks.get(id ?? '');
    if (check === undefined)
      throw Object.assign(new Error(`no health check ${id ?? ''}`), { name: 'NoSuchHealthCheck' });
    return check;
  }
}

/** SIMULATED S3: buckets whose objects replicate to a destination bucket after a delay. */
export class S3Simulator {
  readonly label = 'SIMULATED S3';
  private readonly objects = new Map<string, number>();
  constructor(
    private readonly replication: Record<string, string>,
    private readonly options: { replicationDelayMs: number; now?: () => number },
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  handle(command: unknown): unknown {
    if (command instanceof S3.PutObjectCommand) {
      const { Bucket = '', Key = '' } = command.input;
      this.objects.set(`${Bucket}/${Key}`, this.now());
      const destination = this.replication[Bucket];
      if (destination !== undefined)
        this.objects.set(`${destination}/${Key}`, this.now() + this.options.replicationDelayMs);
      return { ETag: '"rehearsal"' };
    }
    if (command instanceof S3.HeadObjectCommand) {
      const visibleAt = this.objects.get(`${command.input.Bucket ?? ''}/${command.input.Key ?? ''}`);
      if (visibleAt === undefined || visibleAt > this.now())
        throw Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
      return { ContentLength: 1 };
    }
    throw new Error(`${this.label}: ${(command as object).constructor.name} is not simulated`);
  }
}

export interface SimulatedAws {
  readonly route53: Route53Simulator;
  readonly s3: S3Simulator;
  /** SIMULATED Secrets Manager: secret id → JSON. */
  readonly secrets: ReadonlyMap<string, string>;
}

/**
 * Routes the real SDK clients to the simulators, and the system CNAME resolver to the simulated Route 53
 * (with a TTL cache, as a VPC resolver has). Returns the undo.
 */
export function installSimulatedAws(aws: SimulatedAws): () => void {
  const secrets = (command: unknown) => {
    if (!(command instanceof SecretsManager.GetSecretValueCommand))
      throw new Error('SIMULATED Secrets Manager: only GetSecretValue is simulated');
    const value = aws.secrets.get(command.input.SecretId ?? '');
    if (value === undefined)
      throw Object.assign(new Error("Secrets Manager can't find the specified secret."), {
        name: 'ResourceNotFoundException',
      });
    return { SecretString: value, Name: command.input.SecretId };
  };
  // Nothing else runs in the rehearsal: the preflight finds no other drill or migration.
  const stepFunctions = (command: unknown) => {
    if (command instanceof Sfn.ListExecutionsCommand) return { executions: [] };
    throw new Error('SIMULATED Step Functions: only ListExecutions is simulated');
  };
  const routes: [{ prototype: object }, (command: unknown) => unknown][] = [
    [Route53.Route53Client, (c) => aws.route53.handle(c)],
    [S3.S3Client, (c) => aws.s3.handle(c)],
    [SecretsManager.SecretsManagerClient, secrets],
    [Sfn.SFNClient, stepFunctions],
  ];
  for (const [client, handle] of routes) {
    Object.defineProperty(client.prototype, 'send', {
      configurable: true,
      writable: true,
      value: (command: unknown) =>
        new Promise((resolve) => {
          resolve(handle(command));
        }),
    });
  }

  const original = dns.resolveCname.bind(dns);
  (dns as { resolveCname: (name: string) => Promise<string[]> }).resolveCname = aws.route53.resolver();
  return () => {
    for (const [client] of routes) delete (client.prototype as { send?: unknown }).send;
    (dns as { resolveCname: (name: string) => Promise<string[]> }).resolveCname = original;
  };
}
