/**
 * SIMULATED Secrets Manager, following the catalogue (lib/local-aws/catalogue/secrets-manager.ts): secrets
 * in a primary region with replicas of the same name (and ARN suffix) elsewhere, customer-managed keys per
 * region (a read needs kms:Decrypt), AWSCURRENT/AWSPENDING versions, and secrets scheduled for deletion.
 */
import { createHash, randomInt } from 'node:crypto';
import type { Simulator, SimulatorCall } from './world';
import { str } from './input';

export interface SimulatedSecret {
  readonly name: string;
  readonly primaryRegion: string;
  /** Regions holding a replica, with the key that encrypts it there. */
  replicas: Readonly<Record<string, string | undefined>>;
  readonly kmsKeyArn?: string;
  /** SecretString per staging label: AWSCURRENT, and AWSPENDING during a rotation. */
  readonly versions: Record<string, string>;
  rotationEnabled?: boolean;
  scheduledForDeletion?: boolean;
  /** When DeleteSecret's recovery window ends (DescribeSecret's DeletedDate). */
  deletedDate?: Date;
  replicationStatus?: Record<string, 'InSync' | 'Failed' | 'InProgress'>;
  tags?: { Key: string; Value: string }[];
}

const PASSWORD_CHARACTERS =
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** GetRandomPassword: PasswordLength (32 by default) characters, none of ExcludeCharacters. */
function randomPassword(input: Record<string, unknown>): string {
  const excluded = new Set(Array.from(str(input.ExcludeCharacters, '')));
  const allowed = Array.from(PASSWORD_CHARACTERS).filter((c) => !excluded.has(c));
  const length = Number(input.PasswordLength ?? 32);
  return Array.from({ length }, () => allowed[randomInt(allowed.length)]).join('');
}

export class SecretsManagerSimulator implements Simulator {
  readonly service = 'secretsmanager' as const;
  readonly label = 'SIMULATED Secrets Manager';
  private readonly secrets = new Map<string, SimulatedSecret>();

  constructor(private readonly account: string) {}

  add(secret: SimulatedSecret): void {
    this.secrets.set(secret.name, secret);
  }

  /** A secret by name, to change what the service reports (a replica that fell out of sync). */
  secret(name: string): SimulatedSecret | undefined {
    return this.secrets.get(name);
  }

  /** The 6-character suffix Secrets Manager appends to a secret's ARN (the same in every replica region). */
  private suffix(name: string): string {
    return createHash('sha256')
      .update(name)
      .digest('base64url')
      .replace(/[^A-Za-z0-9]/g, 'x')
      .slice(0, 6);
  }

  arnIn(name: string, region: string): string {
    return `arn:aws:secretsmanager:${region}:${this.account}:secret:${name}-${this.suffix(name)}`;
  }

  /** The secret a name, full ARN or partial ARN refers to, if it exists in `region`. */
  private find(id: string, region: string): SimulatedSecret | undefined {
    const arn = /^arn:[^:]+:secretsmanager:([^:]+):\d{12}:secret:(.+)$/.exec(id);
    if (arn !== null && arn[1] !== region) return undefined;
    const name = arn === null ? id : (arn[2] ?? '');
    const secret =
      this.secrets.get(name) ??
      [...this.secrets.values()].find((s) => `${s.name}-${this.suffix(s.name)}` === name);
    if (secret === undefined) return undefined;
    return secret.primaryRegion === region || region in secret.replicas ? secret : undefined;
  }

  /** A new secret in the caller's region, with replicas where AddReplicaRegions says. */
  private create(call: SimulatorCall): unknown {
    const name = str(call.input.Name);
    const region = call.site.region;
    if (this.secrets.has(name))
      return call.fail(
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    const replicas =
      (call.input.AddReplicaRegions as { Region: string; KmsKeyId?: string }[] | undefined) ?? [];
    this.add({
      name,
      primaryRegion: region,
      replicas: Object.fromEntries(replicas.map((r) => [r.Region, r.KmsKeyId])),
      ...(call.input.KmsKeyId === undefined ? {} : { kmsKeyArn: str(call.input.KmsKeyId) }),
      versions: { AWSCURRENT: str(call.input.SecretString) },
      tags: (call.input.Tags as { Key: string; Value: string }[] | undefined) ?? [],
    });
    return { ARN: this.arnIn(name, region), Name: name };
  }

  arnOf(_kind: 'secret', id: string, region: string): string | undefined {
    const secret = this.find(id, region);
    return secret === undefined ? undefined : this.arnIn(secret.name, region);
  }

  async handle(call: SimulatorCall): Promise<unknown> {
    if (call.operation === 'CreateSecret') return this.create(call);
    if (call.operation === 'GetRandomPassword') return { RandomPassword: randomPassword(call.input) };
    const id = str(call.input.SecretId);
    const region = call.site.region;
    const secret = this.find(id, region);
    if (secret === undefined)
      return call.fail('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    const arn = this.arnIn(secret.name, region);
    switch (call.operation) {
      case 'GetSecretValue': {
        if (secret.scheduledForDeletion === true)
          call.fail(
            'InvalidRequestException',
            "You tried to perform the operation on a secret that's currently marked deleted.",
          );
        const key = region === secret.primaryRegion ? secret.kmsKeyArn : secret.replicas[region];
        if (key !== undefined)
          await call.authorize([
            {
              action: 'kms:Decrypt',
              resources: [key],
              context: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` },
            },
          ]);
        const stage = str(call.input.VersionStage, 'AWSCURRENT');
        const value = secret.versions[stage];
        if (value === undefined)
          return call.fail(
            'ResourceNotFoundException',
            `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
          );
        return {
          ARN: arn,
          Name: secret.name,
          SecretString: value,
          VersionStages: [stage],
          CreatedDate: new Date(),
        };
      }
      case 'PutSecretValue': {
        const key = region === secret.primaryRegion ? secret.kmsKeyArn : secret.replicas[region];
        if (key !== undefined)
          await call.authorize([
            {
              action: 'kms:GenerateDataKey',
              resources: [key],
              context: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` },
            },
          ]);
        // The version AWSCURRENT leaves becomes AWSPREVIOUS.
        if (secret.versions.AWSCURRENT !== undefined)
          secret.versions.AWSPREVIOUS = secret.versions.AWSCURRENT;
        secret.versions.AWSCURRENT = str(call.input.SecretString);
        return { ARN: arn, Name: secret.name, VersionStages: ['AWSCURRENT'] };
      }
      case 'DescribeSecret':
        return {
          ARN: arn,
          Name: secret.name,
          ...(secret.tags === undefined ? {} : { Tags: secret.tags }),
          PrimaryRegion: secret.primaryRegion,
          ...(secret.deletedDate === undefined ? {} : { DeletedDate: secret.deletedDate }),
          ...(secret.rotationEnabled === undefined ? {} : { RotationEnabled: secret.rotationEnabled }),
          ReplicationStatus: Object.entries(secret.replicas).map(([r, key]) => ({
            Region: r,
            ...(key === undefined ? {} : { KmsKeyId: key }),
            Status: secret.replicationStatus?.[r] ?? 'InSync',
          })),
        };
      case 'RemoveRegionsFromReplication': {
        if (region !== secret.primaryRegion)
          call.fail('InvalidRequestException', 'Operation not permitted on a replica secret.');
        const removed = new Set((call.input.RemoveReplicaRegions as string[] | undefined) ?? []);
        secret.replicas = Object.fromEntries(
          Object.entries(secret.replicas).filter(([r]) => !removed.has(r)),
        );
        return {
          ARN: arn,
          ReplicationStatus: Object.keys(secret.replicas).map((r) => ({ Region: r, Status: 'InSync' })),
        };
      }
      case 'DeleteSecret': {
        if (Object.keys(secret.replicas).length > 0)
          call.fail(
            'InvalidRequestException',
            `You can't delete secret ${secret.name} that still has replica regions [${Object.keys(secret.replicas).join(', ')}]`,
          );
        if (secret.scheduledForDeletion === true)
          call.fail(
            'InvalidRequestException',
            "You can't delete a secret that is already scheduled for deletion.",
          );
        const days = Number(call.input.RecoveryWindowInDays ?? 30);
        secret.scheduledForDeletion = true;
        secret.deletedDate = new Date(Date.now() + days * 86_400_000);
        return { ARN: arn, Name: secret.name, DeletionDate: secret.deletedDate };
      }
      default:
        throw new Error(`${this.label}: ${call.operation} is catalogued but not simulated`);
    }
  }
}
