import { commonErrors, error, row, type CallSite, type ServiceEntry } from './types';
import { str } from '../input';

const API = 'https://docs.aws.amazon.com/secretsmanager/latest/apireference';
const UG = 'https://docs.aws.amazon.com/secretsmanager/latest/userguide';

/** The ARN IAM sees: the full secret ARN (name plus Secrets Manager's 6-character suffix). */
const secretArn = (input: Record<string, unknown>, w: CallSite) => {
  const id = str(input.SecretId);
  return (
    w.arnOf?.('secret', id) ??
    (id.startsWith('arn:') ? id : `arn:${w.partition}:secretsmanager:${w.region}:${w.account}:secret:${id}`)
  );
};

export const SECRETS_MANAGER: ServiceEntry = {
  service: 'secretsmanager',
  title: 'AWS Secrets Manager',
  global: false,
  accessDenied: error(
    'secretsmanager.access-denied',
    'AccessDeniedException',
    400,
    'A call IAM does not allow fails with AccessDeniedException, HTTP 400 (not 403).',
    `${API}/CommonErrors.html`,
    'AccessDeniedException: You do not have sufficient access to perform this action. HTTP Status Code: 400',
  ),
  throttling: error(
    'secretsmanager.throttling',
    'ThrottlingException',
    400,
    'Over the request quota (GetSecretValue 10,000/s): ThrottlingException, retried by the SDK and cached by Powertools.',
    `${UG}/reference_limits.html`,
    'GetSecretValue and DescribeSecret: 10,000 requests per second combined',
  ),
  common: commonErrors('secretsmanager', `${API}/CommonErrors.html`),
  operations: [
    {
      service: 'secretsmanager',
      operation: 'GetSecretValue',
      calledBy: [
        'lambdas/shared/database.ts',
        'lambdas/health-probe/handler.ts',
        'lambdas/green-provisioning/instance-handler.ts',
      ],
      reference: `${API}/API_GetSecretValue.html`,
      iam: (input, w) => [{ action: 'secretsmanager:GetSecretValue', resources: [secretArn(input, w)] }],
      relies: [
        row(
          'secretsmanager.GetSecretValue.current',
          'Without VersionStage it returns AWSCURRENT; during a rotation the new value is AWSPENDING until it finishes.',
          `${API}/API_GetSecretValue.html`,
          'If you don’t specify either a VersionStage or VersionId, Secrets Manager returns the AWSCURRENT version.',
        ),
        row(
          'secretsmanager.GetSecretValue.kms',
          'A secret encrypted with a customer managed key also needs kms:Decrypt on that key.',
          `${API}/API_GetSecretValue.html`,
          'If the secret is encrypted using a customer-managed key instead of the AWS managed key aws/secretsmanager, then you also need kms:Decrypt permissions for that key.',
        ),
        row(
          'secretsmanager.GetSecretValue.replica',
          'A replica has the same name in its region (and the same suffix), so a Lambda reads the copy in its own region by name; a rotation of the primary propagates to replicas.',
          `${UG}/create-manage-multi-region-secrets.html`,
          'If you turn on rotation for your primary secret, Secrets Manager rotates the secret in the primary Region, and the new secret value propagates to all of the associated replica secrets.',
        ),
      ],
      errors: [
        error(
          'secretsmanager.GetSecretValue.not-found',
          'ResourceNotFoundException',
          400,
          'No secret of that name or ARN in the client’s region.',
          `${API}/API_GetSecretValue.html`,
          "ResourceNotFoundException: Secrets Manager can't find the resource that you asked for. HTTP Status Code: 400",
        ),
        error(
          'secretsmanager.GetSecretValue.scheduled-deletion',
          'InvalidRequestException',
          400,
          'The secret is scheduled for deletion.',
          `${API}/API_GetSecretValue.html`,
          'InvalidRequestException: ... The secret is scheduled for deletion.',
        ),
        error(
          'secretsmanager.GetSecretValue.decryption',
          'DecryptionFailure',
          400,
          'Secrets Manager cannot decrypt with the secret’s KMS key.',
          `${API}/API_GetSecretValue.html`,
          "DecryptionFailure: Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
        ),
      ],
    },
    {
      service: 'secretsmanager',
      operation: 'CreateSecret',
      calledBy: ['lambdas/green-provisioning/instance-handler.ts'],
      reference: `${API}/API_CreateSecret.html`,
      iam: (input, w) => {
        const name = str(input.Name);
        const arn = `arn:${w.partition}:secretsmanager:${w.region}:${w.account}:secret:${name}`;
        const replicas = Array.isArray(input.AddReplicaRegions)
          ? (input.AddReplicaRegions as { Region: string; KmsKeyId?: string }[])
          : [];
        const replicaContext = { 'secretsmanager:AddReplicaRegions': replicas.map((r) => r.Region) };
        return [
          {
            action: 'secretsmanager:CreateSecret',
            resources: [arn],
            ...(replicas.length === 0 ? {} : { context: replicaContext }),
          },
          ...(Array.isArray(input.Tags) && input.Tags.length > 0
            ? [{ action: 'secretsmanager:TagResource', resources: [arn] }]
            : []),
          ...(replicas.length === 0
            ? []
            : [
                {
                  action: 'secretsmanager:ReplicateSecretToRegions',
                  resources: [arn],
                  context: replicaContext,
                },
              ]),
          ...(input.KmsKeyId === undefined
            ? []
            : [
                {
                  action: 'kms:GenerateDataKey',
                  resources: [str(input.KmsKeyId)],
                  context: { 'kms:ViaService': `secretsmanager.${w.region}.amazonaws.com` },
                },
              ]),
          ...replicas.flatMap((r) =>
            r.KmsKeyId === undefined
              ? []
              : ['kms:GenerateDataKey', 'kms:Encrypt'].map((action) => ({
                  action,
                  resources: [str(r.KmsKeyId)],
                  context: { 'kms:ViaService': `secretsmanager.${r.Region}.amazonaws.com` },
                })),
          ),
        ];
      },
      relies: [
        row(
          'secretsmanager.CreateSecret.permissions',
          'Tags need secretsmanager:TagResource and replica regions secretsmanager:ReplicateSecretToRegions besides CreateSecret; a customer key needs kms:GenerateDataKey (and, for each replica, GenerateDataKey and Encrypt on that region’s key).',
          `${API}/API_CreateSecret.html`,
          'If you include tags in the secret, you also need secretsmanager:TagResource. To add replica Regions, you must also have secretsmanager:ReplicateSecretToRegions.',
        ),
        row(
          'secretsmanager.CreateSecret.replicas',
          'AddReplicaRegions creates a replica of the same name in each region, encrypted with that region’s KmsKeyId.',
          `${API}/API_ReplicateSecretToRegions.html`,
          'To encrypt the replicated secret with a KMS key other than aws/secretsmanager, you need kms:GenerateDataKey and kms:Encrypt to the key.',
        ),
      ],
      errors: [
        error(
          'secretsmanager.CreateSecret.exists',
          'ResourceExistsException',
          400,
          'A secret of that name exists in the region.',
          `${API}/API_CreateSecret.html`,
          'ResourceExistsException: A resource with the ID you requested already exists. HTTP Status Code: 400',
        ),
      ],
    },
    {
      service: 'secretsmanager',
      operation: 'PutSecretValue',
      calledBy: ['lambdas/green-provisioning/instance-handler.ts'],
      reference: `${API}/API_PutSecretValue.html`,
      iam: (input, w) => [{ action: 'secretsmanager:PutSecretValue', resources: [secretArn(input, w)] }],
      relies: [
        row(
          'secretsmanager.PutSecretValue.current',
          'A new version becomes AWSCURRENT (without VersionStages given); the replicas receive it. A customer key needs kms:GenerateDataKey, checked by the service.',
          `${API}/API_PutSecretValue.html`,
          "If you don't include VersionStages, then Secrets Manager automatically moves the staging label AWSCURRENT to this version.",
        ),
        row(
          'secretsmanager.PutSecretValue.previous',
          'The version AWSCURRENT leaves becomes AWSPREVIOUS, readable with VersionStage AWSPREVIOUS: the restore test opens a database restored from before a rotation with it.',
          `${API}/API_PutSecretValue.html`,
          'If you specify AWSCURRENT, and it is already attached to another version, then Secrets Manager also moves the staging label AWSPREVIOUS to the version that AWSCURRENT was removed from.',
        ),
      ],
      errors: [
        error(
          'secretsmanager.PutSecretValue.not-found',
          'ResourceNotFoundException',
          400,
          'No secret of that name or ARN in the client’s region.',
          `${API}/API_PutSecretValue.html`,
          "ResourceNotFoundException: Secrets Manager can't find the resource that you asked for. HTTP Status Code: 400",
        ),
      ],
    },
    {
      service: 'secretsmanager',
      operation: 'GetRandomPassword',
      calledBy: ['lambdas/green-provisioning/instance-handler.ts'],
      reference: `${API}/API_GetRandomPassword.html`,
      iam: () => [{ action: 'secretsmanager:GetRandomPassword', resources: ['*'] }],
      relies: [
        row(
          'secretsmanager.GetRandomPassword.exclude',
          'A password of PasswordLength characters (32 by default) that contains none of ExcludeCharacters.',
          `${API}/API_GetRandomPassword.html`,
          "ExcludeCharacters: A string of the characters that you don't want in the password.",
        ),
      ],
      errors: [],
    },
    {
      service: 'secretsmanager',
      operation: 'DescribeSecret',
      calledBy: [
        'lib/cli/doctor-command.ts',
        'lambdas/green-provisioning/instance-handler.ts',
        'lambdas/blue-retirement/instance-handler.ts',
      ],
      reference: `${API}/API_DescribeSecret.html`,
      iam: (input, w) => [{ action: 'secretsmanager:DescribeSecret', resources: [secretArn(input, w)] }],
      relies: [
        row(
          'secretsmanager.DescribeSecret.replication',
          'ReplicationStatus lists each replica region with Status InSync, Failed or InProgress; RotationEnabled is absent (not false) when rotation was never set up.',
          `${API}/API_DescribeSecret.html`,
          'ReplicationStatus: A list of the replicas of this secret and their status: Failed, InProgress, InSync.',
        ),
      ],
      errors: [
        error(
          'secretsmanager.DescribeSecret.not-found',
          'ResourceNotFoundException',
          400,
          'No secret of that name or ARN in the client’s region.',
          `${API}/API_DescribeSecret.html`,
          "ResourceNotFoundException: Secrets Manager can't find the resource that you asked for.",
        ),
      ],
    },
    {
      service: 'secretsmanager',
      operation: 'RemoveRegionsFromReplication',
      calledBy: ['lambdas/blue-retirement/instance-handler.ts'],
      reference: `${API}/API_RemoveRegionsFromReplication.html`,
      iam: (input, w) => [
        { action: 'secretsmanager:RemoveRegionsFromReplication', resources: [secretArn(input, w)] },
      ],
      relies: [
        row(
          'secretsmanager.RemoveRegionsFromReplication.removed',
          'Called on the primary secret, it deletes the replicas in the regions named at once; the secret may then be deleted.',
          `${API}/API_DeleteSecret.html`,
          'When you delete a replica, it is deleted immediately.',
        ),
      ],
      errors: [
        error(
          'secretsmanager.RemoveRegionsFromReplication.not-found',
          'ResourceNotFoundException',
          400,
          'No secret of that name or ARN in the client’s region.',
          `${API}/API_RemoveRegionsFromReplication.html`,
          "ResourceNotFoundException: Secrets Manager can't find the resource that you asked for.",
        ),
      ],
    },
    {
      service: 'secretsmanager',
      operation: 'DeleteSecret',
      calledBy: ['lambdas/blue-retirement/instance-handler.ts'],
      reference: `${API}/API_DeleteSecret.html`,
      iam: (input, w) => [{ action: 'secretsmanager:DeleteSecret', resources: [secretArn(input, w)] }],
      relies: [
        row(
          'secretsmanager.DeleteSecret.recovery-window',
          'The secret is scheduled for deletion after the recovery window (7 to 30 days, 30 by default): DescribeSecret gives its DeletedDate, reads fail, RestoreSecret undoes it meanwhile.',
          `${API}/API_DeleteSecret.html`,
          'The minimum recovery window is 7 days. The default recovery window is 30 days.',
        ),
      ],
      errors: [
        error(
          'secretsmanager.DeleteSecret.replicas-first',
          'InvalidRequestException',
          400,
          'The primary secret still has replicas: they go first (RemoveRegionsFromReplication).',
          `${API}/API_DeleteSecret.html`,
          "You can't delete a primary secret that is replicated to other Regions. You must first delete the replicas using RemoveRegionsFromReplication, and then delete the primary secret.",
        ),
        error(
          'secretsmanager.DeleteSecret.not-found',
          'ResourceNotFoundException',
          400,
          'No secret of that name or ARN in the client’s region.',
          `${API}/API_DeleteSecret.html`,
          "ResourceNotFoundException: Secrets Manager can't find the resource that you asked for.",
        ),
      ],
    },
  ],
};
