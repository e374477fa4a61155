/**
 * The synthesized CDK app as the local world sees it deployed: every stack's template, with CloudFormation's
 * intrinsic functions resolved to concrete values. Physical ids CloudFormation would generate get stable
 * stand-ins (a health check id, a function name); `bindings` give the ones the local world needs to be real
 * (a database endpoint that is a loopback server). Cross-stack and CDK cross-region references are followed.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

export interface StackTemplate {
  readonly stackName: string;
  readonly region: string;
  readonly account: string;
  readonly template: {
    readonly Resources: Record<string, CfnResource>;
    readonly Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
  };
}

/** A value the local world wants for a resource attribute (attribute undefined: its Ref). */
export type Binding = (
  stack: StackTemplate,
  logicalId: string,
  attribute: string | undefined,
  resource: CfnResource,
) => string | undefined;

const stableId = (...parts: string[]) => createHash('sha256').update(parts.join('/')).digest('hex');
const uuidOf = (...parts: string[]) => {
  const h = stableId(...parts);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

export class DeployedApp {
  readonly stacks: readonly StackTemplate[];

  constructor(
    stacks: readonly StackTemplate[],
    private readonly bindings: Binding = () => undefined,
  ) {
    this.stacks = stacks;
  }

  stack(stackName: string): StackTemplate {
    const found = this.stacks.find((s) => s.stackName === stackName);
    if (found === undefined) throw new Error(`no stack ${stackName} in the synthesized app`);
    return found;
  }

  /** Resources of a type, across stacks (or one stack). */
  resources(
    type: string,
    stackName?: string,
  ): { stack: StackTemplate; logicalId: string; resource: CfnResource }[] {
    return this.stacks
      .filter((s) => stackName === undefined || s.stackName === stackName)
      .flatMap((stack) =>
        Object.entries(stack.template.Resources)
          .filter(([, r]) => r.Type === type)
          .map(([logicalId, resource]) => ({ stack, logicalId, resource })),
      );
  }

  /** A stack output, resolved. */
  output(stackName: string, key: string): string {
    const stack = this.stack(stackName);
    const output = stack.template.Outputs?.[key];
    if (output === undefined) throw new Error(`stack ${stackName} has no output ${key}`);
    return String(this.resolve(stack, output.Value));
  }

  /** Resolves every intrinsic in `value`, as CloudFormation would at deploy time in `stack`. */
  resolve(stack: StackTemplate, value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(stack, v));
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value);
    if (entries.length === 1) {
      const [fn, arg] = entries[0] as [string, unknown];
      switch (fn) {
        case 'Ref':
          return this.ref(stack, String(arg));
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(arg) ? (arg as string[]) : String(arg).split(/\.(.+)/);
          return this.attribute(stack, String(id), String(attribute));
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown[]];
          return (this.resolve(stack, parts) as unknown[]).map(String).join(separator);
        }
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(arg)
            ? (arg as [string, Record<string, unknown>])
            : [String(arg), {}];
          return text.replace(/\$\{([^}]+)\}/g, (_m, name: string) =>
            String(
              name in vars
                ? this.resolve(stack, vars[name])
                : name.includes('.')
                  ? this.attribute(stack, name.split('.')[0] ?? '', name.split('.').slice(1).join('.'))
                  : this.ref(stack, name),
            ),
          );
        }
        case 'Fn::Select': {
          const [index, list] = arg as [number, unknown];
          return (this.resolve(stack, list) as unknown[])[index];
        }
        case 'Fn::Split': {
          const [separator, text] = arg as [string, unknown];
          return String(this.resolve(stack, text)).split(separator);
        }
        case 'Fn::ImportValue':
          return this.imported(String(this.resolve(stack, arg)));
        case 'Fn::GetAZs':
          return [`${stack.region}a`, `${stack.region}b`];
        default:
          break;
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(stack, v)]));
  }

  private ref(stack: StackTemplate, name: string): unknown {
    switch (name) {
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::Region':
        return stack.region;
      case 'AWS::AccountId':
        return stack.account;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack.stackName;
      case 'AWS::NoValue':
        return undefined;
      default:
        break;
    }
    const resource = stack.template.Resources[name];
    if (resource === undefined) throw new Error(`${stack.stackName}: Ref to unknown ${name}`);
    const bound = this.bindings(stack, name, undefined, resource);
    if (bound !== undefined) return bound;
    const p = resource.Properties ?? {};
    const named = (key: string) => (p[key] === undefined ? undefined : String(this.resolve(stack, p[key])));
    switch (resource.Type) {
      case 'AWS::Route53::HealthCheck':
        return uuidOf(stack.stackName, name);
      case 'AWS::Lambda::Function':
        return named('FunctionName') ?? `${stack.stackName}-${name}`.slice(0, 64);
      case 'AWS::IAM::Role':
        return named('RoleName') ?? `${stack.stackName}-${name}`.slice(0, 64);
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${stack.region}:${stack.account}:stateMachine:${named('StateMachineName') ?? name}`;
      case 'AWS::StepFunctions::Activity':
        return `arn:aws:states:${stack.region}:${stack.account}:activity:${named('Name') ?? name}`;
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${stack.region}:${stack.account}:${named('TopicName') ?? name}`;
      case 'AWS::KMS::Key':
        return uuidOf(stack.stackName, name);
      case 'AWS::S3::Bucket':
        return named('BucketName') ?? `${stack.stackName}-${name}`.toLowerCase();
      case 'AWS::RDS::DBInstance':
        return named('DBInstanceIdentifier') ?? name.toLowerCase();
      case 'AWS::Events::Rule':
        return named('Name') ?? `${stack.stackName}-${name}`.slice(0, 64);
      case 'AWS::Logs::LogGroup':
        return named('LogGroupName') ?? `/local/${stack.stackName}/${name}`;
      case 'AWS::EC2::SecurityGroup':
        return `sg-${stableId(stack.stackName, name).slice(0, 17)}`;
      case 'AWS::EC2::Subnet':
        return `subnet-${stableId(stack.stackName, name).slice(0, 17)}`;
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${stack.region}:${stack.account}:secret:${named('Name') ?? name}`;
      default:
        return `${name.toLowerCase()}-${stableId(stack.stackName, name).slice(0, 8)}`;
    }
  }

  private attribute(stack: StackTemplate, logicalId: string, attribute: string): unknown {
    const resource = stack.template.Resources[logicalId];
    if (resource === undefined) throw new Error(`${stack.stackName}: GetAtt of unknown ${logicalId}`);
    const bound = this.bindings(stack, logicalId, attribute, resource);
    if (bound !== undefined) return bound;
    if (resource.Type === 'Custom::CrossRegionExportReader') return this.crossRegion(attribute);
    const ref = String(this.ref(stack, logicalId));
    switch (`${resource.Type}.${attribute}`) {
      case 'AWS::Lambda::Function.Arn':
        return `arn:aws:lambda:${stack.region}:${stack.account}:function:${ref}`;
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${stack.account}:role/${ref}`;
      case 'AWS::KMS::Key.Arn':
        return `arn:aws:kms:${stack.region}:${stack.account}:key/${ref}`;
      case 'AWS::S3::Bucket.Arn':
        return `arn:aws:s3:::${ref}`;
      case 'AWS::SNS::Topic.TopicArn':
        return ref;
      case 'AWS::StepFunctions::StateMachine.Arn':
        return ref;
      case 'AWS::StepFunctions::StateMachine.Name':
        return ref.split(':').at(-1);
      case 'AWS::RDS::DBInstance.Endpoint.Address':
        return `${ref}.local.${stack.region}.rds.amazonaws.com`;
      case 'AWS::RDS::DBInstance.Endpoint.Port':
        return '5432';
      case 'AWS::RDS::DBInstance.DBInstanceArn':
        return `arn:aws:rds:${stack.region}:${stack.account}:db:${ref}`;
      case 'AWS::EC2::SecurityGroup.GroupId':
        return ref;
      case 'AWS::Events::Rule.Arn':
        return `arn:aws:events:${stack.region}:${stack.account}:rule/${ref}`;
      case 'AWS::Logs::LogGroup.Arn':
        return `arn:aws:logs:${stack.region}:${stack.account}:log-group:${ref}:*`;
      default:
        return `${ref}.${attribute}`;
    }
  }

  /** A value CDK carries to another region through SSM (`/cdk/exports/...`), from the producer's writer. */
  private crossRegion(path: string): unknown {
    for (const { stack, resource } of this.resources('Custom::CrossRegionExportWriter')) {
      const exports = (resource.Properties?.WriterProps as { exports?: Record<string, unknown> } | undefined)
        ?.exports;
      if (exports !== undefined && path in exports) return this.resolve(stack, exports[path]);
    }
    throw new Error(`no stack exports ${path}`);
  }

  private imported(name: string): unknown {
    for (const stack of this.stacks)
      for (const output of Object.values(stack.template.Outputs ?? {}))
        if (output.Export !== undefined && this.resolve(stack, output.Export.Name) === name)
          return this.resolve(stack, output.Value);
    throw new Error(`no stack exports ${name}`);
  }
}

/** Every .ts under a folder (recursively), for the cache key. */
function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(path);
    return /\.(ts|json)$/.test(name) ? [path] : [];
  });
}

const ROOT = join(__dirname, '..', '..');

/**
 * The app's templates for a configuration, synthesized without bundling (the local world runs the handlers
 * from source) and cached under node_modules/.cache by the configuration and the content of lib/, lambdas/,
 * statemachines/ and the lockfile, so a second run in the same checkout costs a file read.
 */
export function synthesizedStacks(config: Record<string, unknown>): StackTemplate[] {
  const key = createHash('sha256');
  key.update(JSON.stringify(config));
  for (const file of [
    ...sources(join(ROOT, 'lib')),
    ...sources(join(ROOT, 'lambdas')),
    ...sources(join(ROOT, 'statemachines')),
  ].sort())
    key.update(file).update(readFileSync(file));
  const lock = join(ROOT, 'package-lock.json');
  if (existsSync(lock)) key.update(readFileSync(lock));
  const cacheDir = join(ROOT, 'node_modules', '.cache', 'pg-dr-synth');
  const cached = join(cacheDir, `${key.digest('hex').slice(0, 32)}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8')) as StackTemplate[];

  /* eslint-disable @typescript-eslint/no-require-imports */
  // Loaded on demand: synthesizing needs the whole CDK, a cache hit needs none of it.
  const { App } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const { buildDrApp } = require('../app') as typeof import('../app');
  const { parseConfig } = require('../config') as typeof import('../config');
  /* eslint-enable @typescript-eslint/no-require-imports */
  mkdirSync(cacheDir, { recursive: true });
  const outdir = mkdtempSync(join(cacheDir, 'cdk.out-'));
  // Without the CDK's built-in CloudFormation validation: it only warns, and `cdk synth` runs it.
  const app = new App({
    outdir,
    context: { 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  buildDrApp(app, parseConfig(config));
  const assembly = app.synth();
  const stacks: StackTemplate[] = assembly.stacks.map((s) => ({
    stackName: s.stackName,
    region: s.environment.region,
    account: s.environment.account,
    template: s.template as StackTemplate['template'],
  }));
  rmSync(outdir, { recursive: true, force: true });
  const temporary = `${cached}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(stacks));
  renameSync(temporary, cached);
  return stacks;
}
