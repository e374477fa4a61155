import { CreateDBInstanceCommand, type DBInstance, type RDSClient } from '@aws-sdk/client-rds';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GREEN_OF_TAG, PROVISIONED_BY_TAG } from '../shared/provisioning-tags';
import { describeInstance } from '../shared/rds-instance';
import { TERMINAL_DB_STATUSES } from '../shared/rds-status';
import { RoutableError } from '../shared/routable-error';

/** Characters RDS refuses in a master password (/, ', ", @, space), and the backslash libpq conninfo escapes. */
const PASSWORD_EXCLUDED = '/\'"@ \\';

export type GreenInstanceErrorName =
  'BlueNotProvisionable' | 'GreenExists' | 'GreenSecretExists' | 'GreenFailed';

export class GreenInstanceError extends RoutableError<GreenInstanceErrorName> {}

/** What green is created like: everything from blue, so green is blue's equal when it takes over. */
export interface GreenRequest {
  readonly blueIdentifier: string;
  readonly greenIdentifier: string;
  /** The application database (green is created with it). */
  readonly database: string;
  /** Green's secret: its name, the key that encrypts it here, and where it is replicated (blue's region). */
  readonly secret: {
    readonly name: string;
    readonly kmsKeyId: string;
    /** Every other deployed region (the probes there read it once green is the writer), with its key. */
    readonly replicas: readonly { readonly region: string; readonly kmsKeyId: string }[];
  };
  /** Blue's endpoint as the migration names it: the instance described must be that one. */
  readonly blueEndpoint?: string;
  /** The RDS keys green may be encrypted with (the deployed data keys): blue's must be one. */
  readonly allowedKmsKeys: readonly string[];
  /** The resource prefix: the value of the provisioned-by tag. */
  readonly provisionedBy: string;
}

export interface GreenInstanceProgress {
  readonly instanceIdentifier: string;
  readonly status: string;
  /** Available, its parameters in effect: the database step may connect. */
  readonly available: boolean;
  readonly endpoint: string | null;
  readonly port: number | null;
  /** What this call did. */
  readonly action: 'created' | 'none';
  /** Green's secret (its master credentials, under the migration's secret prefix). */
  readonly secretId: string;
}

const tagOf = (instance: DBInstance, key: string) => instance.TagList?.find((t) => t.Key === key)?.Value;

/** Blue as green's model: available, a writer, encrypted with a key green may use. */
function refuseBlue(blue: DBInstance | undefined, request: GreenRequest): DBInstance {
  const refuse = (why: string) =>
    new GreenInstanceError(
      'BlueNotProvisionable',
      `blue ${request.blueIdentifier} ${why}; nothing was created`,
    );
  if (blue === undefined) throw refuse('was not found in its region');
  if (blue.Engine !== 'postgres') throw refuse(`is ${blue.Engine ?? 'of an unknown engine'}, not postgres`);
  if (blue.ReadReplicaSourceDBInstanceIdentifier !== undefined)
    throw refuse('is a read replica: green is made from the writer');
  if (blue.DBInstanceStatus !== 'available') throw refuse(`is ${blue.DBInstanceStatus ?? 'in no status'}`);
  if (blue.StorageEncrypted !== true || blue.KmsKeyId === undefined)
    throw refuse('is not encrypted: green is created encrypted with blue’s key, and blue has none');
  if (!request.allowedKmsKeys.includes(blue.KmsKeyId))
    throw refuse(
      `is encrypted with ${blue.KmsKeyId}, which is not one of the deployed data keys this workflow may use`,
    );
  const address = blue.Endpoint?.Address;
  if (
    request.blueEndpoint !== undefined &&
    address !== undefined &&
    address.toLowerCase() !== request.blueEndpoint.replace(/\.$/, '').toLowerCase()
  )
    throw refuse(
      `has the endpoint ${address}, not ${request.blueEndpoint} as the migration names it: green would be made like one database and filled from another`,
    );
  if (blue.DBSubnetGroup?.DBSubnetGroupName === undefined || (blue.VpcSecurityGroups ?? []).length === 0)
    throw refuse('has no subnet group or security group to place green with');
  return blue;
}

/** Green's secret: found (created by an earlier run for this blue), or created with a new password. */
async function greenSecret(
  secrets: Pick<SecretsManagerClient, 'send'>,
  request: GreenRequest,
  username: string,
  port: number,
): Promise<string> {
  let existing: { tags: { Key?: string; Value?: string }[] } | undefined;
  try {
    const found = await secrets.send(new DescribeSecretCommand({ SecretId: request.secret.name }));
    if (found.DeletedDate !== undefined)
      throw new GreenInstanceError(
        'GreenSecretExists',
        `secret ${request.secret.name} is scheduled for deletion and cannot be read or created again until it is ` +
          'deleted: choose another green identifier',
      );
    existing = { tags: found.Tags ?? [] };
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
  }
  if (existing !== undefined) {
    const greenOf = existing.tags.find((t) => t.Key === GREEN_OF_TAG)?.Value;
    if (greenOf !== request.blueIdentifier)
      throw new GreenInstanceError(
        'GreenSecretExists',
        `secret ${request.secret.name} exists and was not made for a green of ${request.blueIdentifier}; choose another green identifier`,
      );
    const value = await secrets.send(new GetSecretValueCommand({ SecretId: request.secret.name }));
    const parsed = JSON.parse(value.SecretString ?? '{}') as { password?: unknown };
    if (typeof parsed.password !== 'string')
      throw new GreenInstanceError('GreenSecretExists', `secret ${request.secret.name} has no password`);
    return parsed.password;
  }
  const random = await secrets.send(
    new GetRandomPasswordCommand({ PasswordLength: 40, ExcludeCharacters: PASSWORD_EXCLUDED }),
  );
  const password = random.RandomPassword ?? '';
  await secrets.send(
    new CreateSecretCommand({
      Name: request.secret.name,
      Description: `Master credentials of ${request.greenIdentifier}, the green of ${request.blueIdentifier} (dr migrate --provision-green)`,
      KmsKeyId: request.secret.kmsKeyId,
      SecretString: JSON.stringify({
        engine: 'postgres',
        username,
        password,
        dbname: request.database,
        port,
      }),
      Tags: [
        { Key: PROVISIONED_BY_TAG, Value: request.provisionedBy },
        { Key: GREEN_OF_TAG, Value: request.blueIdentifier },
      ],
      ...(request.secret.replicas.length === 0
        ? {}
        : {
            AddReplicaRegions: request.secret.replicas.map((r) => ({
              Region: r.region,
              KmsKeyId: r.kmsKeyId,
            })),
          }),
    }),
  );
  return password;
}

/** gp3 takes IOPS and throughput only from 400 GiB up (for PostgreSQL); below, its baseline is fixed. */
const GP3_STRIPING_GIB = 400;

/**
 * Green's storage like blue's: type and size; provisioned IOPS where the type takes them (io1, io2, and gp3 from
 * 400 GiB: below it RDS refuses them for PostgreSQL); gp3 throughput likewise; the autoscaling ceiling only when
 * it is above the size (RDS refuses it otherwise, and autoscaling may have brought blue's size up to it).
 */
export function storageLike(blue: DBInstance) {
  const size = blue.AllocatedStorage ?? 0;
  const type = blue.StorageType;
  const iopsTaken = type === 'io1' || type === 'io2' || (type === 'gp3' && size >= GP3_STRIPING_GIB);
  return {
    AllocatedStorage: blue.AllocatedStorage,
    StorageType: type,
    ...(blue.MaxAllocatedStorage !== undefined && blue.MaxAllocatedStorage > size
      ? { MaxAllocatedStorage: blue.MaxAllocatedStorage }
      : {}),
    ...(iopsTaken && blue.Iops !== undefined ? { Iops: blue.Iops } : {}),
    ...(type === 'gp3' && size >= GP3_STRIPING_GIB && blue.StorageThroughput !== undefined
      ? { StorageThroughput: blue.StorageThroughput }
      : {}),
  };
}

/** Green's progress as RDS describes it. */
function progressOf(green: DBInstance, secretId: string, action: 'created' | 'none'): GreenInstanceProgress {
  const status = green.DBInstanceStatus ?? 'unknown';
  if (TERMINAL_DB_STATUSES.has(status))
    throw new GreenInstanceError(
      'GreenFailed',
      `green ${green.DBInstanceIdentifier ?? ''} is ${status}: RDS will not finish it by itself. Delete it (it carries ` +
        `the ${PROVISIONED_BY_TAG} tag) and start again, or fix what its events name`,
    );
  const inSync = (green.DBParameterGroups ?? []).every((g) => g.ParameterApplyStatus === 'in-sync');
  return {
    instanceIdentifier: green.DBInstanceIdentifier ?? '',
    status,
    available: status === 'available' && inSync,
    endpoint: green.Endpoint?.Address ?? null,
    port: green.Endpoint?.Port ?? null,
    action,
    secretId,
  };
}

/**
 * Creates green like blue: same class, storage (type, size, IOPS, throughput, autoscaling ceiling), engine
 * version, parameter group (logical replication on), subnet group, security groups, port, Multi-AZ, backups
 * and windows, CA, and blue's KMS key; encrypted, private, deletion-protected, tagged. Its master credentials
 * go first into a new secret under the migration's prefix (a crash between the two never loses a password).
 * Idempotent: a green this workflow already created for this blue is carried on with; any other instance of
 * that name is refused.
 */
export async function createGreenInstance(
  clients: { rds: Pick<RDSClient, 'send'>; secrets: Pick<SecretsManagerClient, 'send'> },
  request: GreenRequest,
): Promise<GreenInstanceProgress> {
  const existing = await describeInstance(clients.rds, request.greenIdentifier);
  if (existing !== undefined) {
    if (tagOf(existing, GREEN_OF_TAG) !== request.blueIdentifier)
      throw new GreenInstanceError(
        'GreenExists',
        `an instance ${request.greenIdentifier} exists and is not a green this workflow made of ${request.blueIdentifier}; choose another green identifier`,
      );
    return progressOf(existing, request.secret.name, 'none');
  }
  const blue = refuseBlue(await describeInstance(clients.rds, request.blueIdentifier), request);
  const port = blue.Endpoint?.Port ?? 5432;
  const username = blue.MasterUsername ?? 'postgres';
  const password = await greenSecret(clients.secrets, request, username, port);
  const created = await clients.rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: request.greenIdentifier,
      Engine: 'postgres',
      EngineVersion: blue.EngineVersion,
      DBInstanceClass: blue.DBInstanceClass,
      DBName: request.database,
      MasterUsername: username,
      MasterUserPassword: password,
      ...storageLike(blue),
      StorageEncrypted: true,
      KmsKeyId: blue.KmsKeyId,
      DBParameterGroupName: blue.DBParameterGroups?.[0]?.DBParameterGroupName,
      DBSubnetGroupName: blue.DBSubnetGroup?.DBSubnetGroupName,
      VpcSecurityGroupIds: (blue.VpcSecurityGroups ?? []).flatMap((g) =>
        g.VpcSecurityGroupId === undefined ? [] : [g.VpcSecurityGroupId],
      ),
      Port: port,
      MultiAZ: blue.MultiAZ ?? false,
      PubliclyAccessible: false,
      DeletionProtection: true,
      CopyTagsToSnapshot: true,
      AutoMinorVersionUpgrade: blue.AutoMinorVersionUpgrade ?? false,
      BackupRetentionPeriod: Math.max(1, blue.BackupRetentionPeriod ?? 7),
      ...(blue.PreferredBackupWindow === undefined
        ? {}
        : { PreferredBackupWindow: blue.PreferredBackupWindow }),
      ...(blue.PreferredMaintenanceWindow === undefined
        ? {}
        : { PreferredMaintenanceWindow: blue.PreferredMaintenanceWindow }),
      ...(blue.CACertificateIdentifier === undefined
        ? {}
        : { CACertificateIdentifier: blue.CACertificateIdentifier }),
      ...(blue.IAMDatabaseAuthenticationEnabled === true ? { EnableIAMDatabaseAuthentication: true } : {}),
      ...((blue.EnabledCloudwatchLogsExports ?? []).length === 0
        ? {}
        : { EnableCloudwatchLogsExports: blue.EnabledCloudwatchLogsExports }),
      Tags: [
        { Key: PROVISIONED_BY_TAG, Value: request.provisionedBy },
        { Key: GREEN_OF_TAG, Value: request.blueIdentifier },
      ],
    }),
  );
  return progressOf(
    created.DBInstance ?? { DBInstanceIdentifier: request.greenIdentifier },
    request.secret.name,
    'created',
  );
}

/**
 * Where green's creation is: available (with its endpoint), still on its way, or failed for good. Once it is
 * available, its secret gets its host and port (unknown when the secret was made), so the secret alone opens it
 * (`dr migrate --rollback`, a person with psql).
 */
export async function greenInstanceProgress(
  clients: { rds: Pick<RDSClient, 'send'>; secrets: Pick<SecretsManagerClient, 'send'> },
  request: Pick<GreenRequest, 'greenIdentifier' | 'blueIdentifier' | 'secret'>,
): Promise<GreenInstanceProgress> {
  const progress = await instanceProgress(clients.rds, request);
  if (progress.available && progress.endpoint !== null)
    await addEndpointToSecret(clients.secrets, request.secret.name, progress.endpoint, progress.port);
  return progress;
}

async function addEndpointToSecret(
  secrets: Pick<SecretsManagerClient, 'send'>,
  name: string,
  host: string,
  port: number | null,
): Promise<void> {
  const current = await secrets.send(new GetSecretValueCommand({ SecretId: name }));
  const value = JSON.parse(current.SecretString ?? '{}') as Record<string, unknown>;
  if (value.host === host && (port === null || value.port === port)) return;
  await secrets.send(
    new PutSecretValueCommand({
      SecretId: name,
      SecretString: JSON.stringify({ ...value, host, ...(port === null ? {} : { port }) }),
    }),
  );
}

async function instanceProgress(
  rds: Pick<RDSClient, 'send'>,
  request: Pick<GreenRequest, 'greenIdentifier' | 'blueIdentifier' | 'secret'>,
): Promise<GreenInstanceProgress> {
  const green = await describeInstance(rds, request.greenIdentifier);
  if (green === undefined)
    throw new GreenInstanceError('GreenFailed', `green ${request.greenIdentifier} no longer exists`);
  if (tagOf(green, GREEN_OF_TAG) !== request.blueIdentifier)
    throw new GreenInstanceError(
      'GreenExists',
      `${request.greenIdentifier} is not a green this workflow made of ${request.blueIdentifier}`,
    );
  return progressOf(green, request.secret.name, 'none');
}
