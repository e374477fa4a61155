import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { synthApp } from './test-config';

const ROOT = join(__dirname, '..', '..');

/** SDK package → IAM service prefix. */
const SERVICES: Record<string, string> = {
  'route-53': 'route53',
  sfn: 'states',
  s3: 's3',
  rds: 'rds',
  'secrets-manager': 'secretsmanager',
  ssm: 'ssm',
  cloudwatch: 'cloudwatch',
  sns: 'sns',
  lambda: 'lambda',
};
/** Operations whose IAM action has another name. */
const ACTION_OF: Record<string, string> = {
  's3:HeadObject': 's3:GetObject',
  // The S3 API reference: ListObjectsV2 is authorized as s3:ListBucket.
  's3:ListObjectsV2': 's3:ListBucket',
};

/** Permissions a call needs besides its own action, with why. */
const IMPLIED: Record<string, readonly string[]> = {
  // The secret is encrypted with a customer key; Secrets Manager decrypts it on the caller's behalf.
  'secretsmanager:GetSecretValue': ['kms:Decrypt'],
  // Publishing to the KMS-encrypted on-call topic needs data keys from its key (topic.grantPublish).
  'sns:Publish': ['kms:Decrypt', 'kms:GenerateDataKey*'],
  // The backup bucket encrypts new objects with its KMS key.
  's3:PutObject': ['kms:GenerateDataKey'],
  // HeadObject (s3:GetObject) answers 404 for a missing key only to a caller that may list the bucket; an
  // object of the KMS-encrypted backup bucket is decrypted with its key on the reader's behalf.
  's3:GetObject': ['s3:ListBucket', 'kms:Decrypt'],
  // RDS tags the new replica and encrypts it with the DR region's key on the caller's behalf.
  'rds:CreateDBInstanceReadReplica': ['rds:AddTagsToResource', 'kms:CreateGrant', 'kms:DescribeKey'],
  // The same for a new instance (green), encrypted with blue's key.
  'rds:CreateDBInstance': ['rds:AddTagsToResource', 'kms:CreateGrant', 'kms:DescribeKey'],
  // The restore test's throwaway instance: tagged, and encrypted with the key of the backup it is restored from
  // (the DR region's), which RDS uses on the caller's behalf.
  'rds:RestoreDBInstanceToPointInTime': ['rds:AddTagsToResource', 'kms:CreateGrant', 'kms:DescribeKey'],
  // Retiring blue: the final snapshot (and the tags RDS copies onto it) are dependent actions of the delete or
  // the stop.
  'rds:DeleteDBInstance': ['rds:CreateDBSnapshot', 'rds:AddTagsToResource'],
  'rds:StopDBInstance': ['rds:CreateDBSnapshot', 'rds:AddTagsToResource'],
  // A tagged secret needs TagResource, one with replicas ReplicateSecretToRegions; Secrets Manager encrypts it
  // (and each replica) with the region's key on the caller's behalf.
  'secretsmanager:CreateSecret': [
    'secretsmanager:TagResource',
    'secretsmanager:ReplicateSecretToRegions',
    'kms:GenerateDataKey',
    'kms:Encrypt',
    'kms:Decrypt',
  ],
};

/** Relative imports (and re-exports) of a TypeScript file, resolved to files. */
function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/from '(\.{1,2}\/[^']+)'/g)].map((m) => {
    const base = resolve(dirname(file), m[1] ?? '');
    const candidate = [`${base}.ts`, join(base, 'index.ts')].find((f) => existsSync(f));
    if (candidate === undefined) throw new Error(`cannot resolve ${m[1] ?? ''} from ${file}`);
    return candidate;
  });
}

/** The AWS actions a function's code can make: every `new XCommand(` reachable from its entry file. */
function actionsCalledFrom(entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [join(ROOT, entry)];
  const actions = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop() ?? '';
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    const commandPackage = new Map<string, string>();
    for (const m of text.matchAll(/import \{([^}]*)\} from '@aws-sdk\/client-([a-z0-9-]+)'/g)) {
      for (const name of (m[1] ?? '').split(',').map((n) => n.trim().replace(/^type /, ''))) {
        if (name.endsWith('Command')) commandPackage.set(name, m[2] ?? '');
      }
    }
    for (const m of text.matchAll(/new (\w+)Command\(/g)) {
      const pkg = commandPackage.get(`${m[1] ?? ''}Command`);
      if (pkg === undefined) continue;
      const service = SERVICES[pkg];
      if (service === undefined) throw new Error(`no IAM prefix for @aws-sdk/client-${pkg}`);
      const action = `${service}:${m[1] ?? ''}`;
      actions.add(ACTION_OF[action] ?? action);
    }
    if (/from '@aws-lambda-powertools\/parameters\/secrets'/.test(text) && text.includes('getSecret('))
      actions.add('secretsmanager:GetSecretValue');
    pending.push(...localImports(file));
  }
  return actions;
}

type Statement = { Action: string | string[] };
type Policy = { Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } } };
type Fn = { Metadata?: Record<string, unknown>; Properties: { Role: { 'Fn::GetAtt': [string, string] } } };

/** Logs, traces and VPC networking are the same for every function (reviewed in lib/nag.ts). */
const BASELINE = /^(logs|xray|ec2):/;

describe('IAM derived from the code each Lambda runs', () => {
  const { stacks } = synthApp({ sidecarHealthUrl: 'https://sidecar.example.org/health' });
  const all: Stack[] = [stacks.primary, stacks.secondary, stacks.orchestration];
  const functions = all.flatMap((stack) => {
    const template = Template.fromStack(stack);
    const policies = Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Policy>);
    return Object.entries(template.findResources('AWS::Lambda::Function') as Record<string, Fn>)
      .filter(([, fn]) => typeof fn.Metadata?.['pg-dr:entry'] === 'string')
      .map(([id, fn]) => {
        const role = fn.Properties.Role['Fn::GetAtt'][0];
        const granted = new Set(
          policies
            .filter((p) => p.Properties.Roles.some((r) => r.Ref === role))
            .flatMap((p) => p.Properties.PolicyDocument.Statement)
            .flatMap((s) => ([] as string[]).concat(s.Action))
            .filter((a) => !BASELINE.test(a)),
        );
        return { name: `${stack.stackName}/${id}`, entry: String(fn.Metadata?.['pg-dr:entry']), granted };
      });
  });

  it('finds every step function and probe', () => {
    // 3 probes (the primary in its region and from the secondary, the replica), 11 blue-green steps, 2 blue
    // retirement steps, 3 green
    // provisioning steps, 7 drill steps, the drill's safety net, the migration safety net's assess, the region
    // failover's two steps, the topology sync, the restore test's three (its RDS steps, its check, the hourly
    // backup status), the scheduled dump's steps, the hourly dump status in each region, and the dump restore
    // test's steps.
    expect(functions).toHaveLength(38);
  });

  it.each(functions.map((f) => [f.name, f] as const))(
    '%s may make exactly the calls its code makes',
    (_name, fn) => {
      const called = actionsCalledFrom(fn.entry);
      const implied = new Set([...called].flatMap((a) => IMPLIED[a] ?? []));
      const missing = [...called].filter((a) => !fn.granted.has(a)).sort();
      const unused = [...fn.granted].filter((a) => !called.has(a) && !implied.has(a)).sort();
      expect({ entry: fn.entry, missing, unused }).toEqual({ entry: fn.entry, missing: [], unused: [] });
    },
  );
});
