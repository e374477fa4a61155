/**
 * SIMULATED AWS: the local world the rehearsal and the workflow tests run in. Every call an AWS SDK client
 * makes is routed here (its `send` is replaced), checked against the AWS behaviour catalogue (an operation it
 * does not list cannot be called), authorized against the calling function's IAM role from the synthesized
 * app when one is known (a denied call fails the way that service fails), and answered by the simulator of
 * that service. The simulators follow the catalogue, not what the code expects.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  operationEntry,
  serviceEntry,
  type CallSite,
  type IamRequirement,
  type ServiceName,
} from './catalogue';
import { awsError, notAuthorized } from './errors';

/** Decides whether a principal (a function or state machine of the synthesized app) may make a call. */
export interface Authorizer {
  /** How AWS names the caller in a denial: its assumed-role session ARN. */
  principalArn(principal: string): string;
  allows(principal: string, requirement: IamRequirement, site: CallSite): Promise<boolean>;
}

export interface SimulatorCall {
  readonly service: ServiceName;
  readonly operation: string;
  readonly input: Record<string, unknown>;
  readonly site: CallSite;
  /** The principal making the call, when the local world knows it (a step function's role). */
  readonly principal: string | undefined;
  /** Fails the call as the service does when IAM denies it; a no-op without a principal. */
  authorize(requirements: readonly IamRequirement[]): Promise<void>;
  /** Whether IAM would allow it (true without a principal): e.g. S3's 404-or-403 for a missing key. */
  allows(requirement: IamRequirement): Promise<boolean>;
  /** Throws the documented error `code` of this operation. */
  fail(code: string, message: string): never;
}

export interface Simulator {
  readonly service: ServiceName;
  handle(call: SimulatorCall): unknown;
  /** The full ARN of something a call names by name (a secret), in a region. */
  arnOf?(kind: 'secret', nameOrArn: string, region: string): string | undefined;
  /** The tags of a resource by its ARN (IAM's aws:ResourceTag/<key> keys), if this simulator holds it. */
  resourceTagsOf?(arn: string): Readonly<Record<string, string>> | undefined;
}

export interface RecordedCall {
  readonly service: ServiceName;
  readonly operation: string;
  readonly region: string;
  readonly principal: string | undefined;
  readonly input: Record<string, unknown>;
  readonly error?: string;
}

/** A fault to inject: the documented error code to answer with, or undefined to let the call through. */
export type Injection = (input: Record<string, unknown>, attempt: number) => string | undefined;

const callers = new AsyncLocalStorage<{ readonly principal: string }>();

/** Runs `work` as `principal`: every simulated AWS call it makes is authorized against that principal. */
export function asPrincipal<T>(principal: string | undefined, work: () => T): T {
  return principal === undefined ? work() : callers.run({ principal }, work);
}

/** The SDK client classes of each service, from the module registry the handlers use. */
export type SdkClients = Partial<Record<ServiceName, { prototype: object }>>;

export function defaultSdkClients(): SdkClients {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    route53: (require('@aws-sdk/client-route-53') as typeof import('@aws-sdk/client-route-53')).Route53Client,
    s3: (require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3')).S3Client,
    secretsmanager: (
      require('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager')
    ).SecretsManagerClient,
    ssm: (require('@aws-sdk/client-ssm') as typeof import('@aws-sdk/client-ssm')).SSMClient,
    states: (require('@aws-sdk/client-sfn') as typeof import('@aws-sdk/client-sfn')).SFNClient,
    rds: (require('@aws-sdk/client-rds') as typeof import('@aws-sdk/client-rds')).RDSClient,
    events: (require('@aws-sdk/client-eventbridge') as typeof import('@aws-sdk/client-eventbridge'))
      .EventBridgeClient,
    cloudformation: (
      require('@aws-sdk/client-cloudformation') as typeof import('@aws-sdk/client-cloudformation')
    ).CloudFormationClient,
    cloudwatch: (require('@aws-sdk/client-cloudwatch') as typeof import('@aws-sdk/client-cloudwatch'))
      .CloudWatchClient,
    sns: (require('@aws-sdk/client-sns') as typeof import('@aws-sdk/client-sns')).SNSClient,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

export interface LocalAwsOptions {
  readonly account: string;
  readonly partition?: string;
  readonly simulators: readonly Simulator[];
  /** IAM from the synthesized app; without it, calls are not authorized (the caller is the operator). */
  readonly authorizer?: Authorizer;
}

export class LocalAws {
  readonly calls: RecordedCall[] = [];
  private readonly injections = new Map<string, { fault: Injection; attempts: number }>();

  constructor(private readonly options: LocalAwsOptions) {}

  get account(): string {
    return this.options.account;
  }

  simulator(service: ServiceName): Simulator {
    const found = this.options.simulators.find((s) => s.service === service);
    if (found === undefined) throw new Error(`SIMULATED AWS: no simulator for ${service}`);
    return found;
  }

  /**
   * Makes calls of `service:operation` fail with the documented error `fault` returns (until it returns
   * undefined). Only catalogued errors can be injected.
   */
  inject(service: ServiceName, operation: string, fault: Injection): void {
    operationEntry(service, operation);
    this.injections.set(`${service}:${operation}`, { fault, attempts: 0 });
  }

  clearInjections(): void {
    this.injections.clear();
  }

  site(region: string): CallSite {
    return {
      region,
      account: this.options.account,
      partition: this.options.partition ?? 'aws',
      arnOf: (kind, id) =>
        this.options.simulators.map((s) => s.arnOf?.(kind, id, region)).find((a) => a !== undefined),
      tagsOf: (arn) =>
        this.options.simulators.map((s) => s.resourceTagsOf?.(arn)).find((t) => t !== undefined),
    };
  }

  /** One call, as a client in `region` makes it; `principal` defaults to the one `asPrincipal` set. */
  async call(
    service: ServiceName,
    operation: string,
    input: Record<string, unknown>,
    region: string,
    principal: string | undefined = callers.getStore()?.principal,
  ): Promise<unknown> {
    const entry = operationEntry(service, operation);
    const site = this.site(serviceEntry(service).global ? 'us-east-1' : region);
    const fail = (code: string, message: string): never => {
      throw awsError(service, operation, code, message);
    };
    const authorizer = this.options.authorizer;
    const allows = async (requirement: IamRequirement) =>
      principal === undefined ||
      authorizer === undefined ||
      (await authorizer.allows(principal, requirement, site));
    const call: SimulatorCall = {
      service,
      operation,
      input,
      site,
      principal,
      allows,
      fail,
      authorize: async (requirements) => {
        for (const requirement of requirements) {
          for (const resource of requirement.resources) {
            if (await allows({ ...requirement, resources: [resource] })) continue;
            // The called service answers, in its own form (a KMS denial behind S3 is S3's AccessDenied).
            throw awsError(
              service,
              operation,
              serviceEntry(service).accessDenied.code,
              notAuthorized(authorizer?.principalArn(principal ?? '') ?? '', requirement.action, resource),
            );
          }
        }
      },
    };
    try {
      await call.authorize(entry.iam(input, site));
      const injected = this.injections.get(`${service}:${operation}`);
      if (injected !== undefined) {
        const code = injected.fault(input, ++injected.attempts);
        if (code !== undefined) fail(code, `SIMULATED ${code}`);
      }
      const result = await this.simulator(service).handle(call);
      this.calls.push({ service, operation, region: site.region, principal, input });
      return result;
    } catch (error) {
      this.calls.push({
        service,
        operation,
        region: site.region,
        principal,
        input,
        error: (error as Error).name,
      });
      throw error;
    }
  }

  /**
   * Routes every client of `clients` to this world: `send` resolves the client's region as the SDK would
   * (so a client without one fails as it does: "Region is missing"), then calls the simulator. Returns the undo.
   */
  install(clients: SdkClients = defaultSdkClients()): () => void {
    const patched: { prototype: object }[] = [];
    const call = this.call.bind(this);
    for (const [service, client] of Object.entries(clients) as [ServiceName, { prototype: object }][]) {
      Object.defineProperty(client.prototype, 'send', {
        configurable: true,
        writable: true,
        value: async function send(this: { config: { region: () => Promise<string> } }, command: object) {
          const region = await this.config.region();
          const operation = command.constructor.name.replace(/Command$/, '');
          return call(service, operation, (command as { input: Record<string, unknown> }).input, region);
        },
      });
      patched.push(client);
    }
    return () => {
      for (const client of patched) delete (client.prototype as { send?: unknown }).send;
    };
  }
}
