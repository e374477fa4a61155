import { commonErrors, error, row, type CallSite, type ServiceEntry } from './types';
import { str } from '../input';

const API = 'https://docs.aws.amazon.com/AmazonRDS/latest/APIReference';
const UG = 'https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide';
const dbArn = (id: unknown, w: CallSite) => {
  const text = str(id);
  return text.startsWith('arn:') ? text : `arn:${w.partition}:rds:${w.region}:${w.account}:db:${text}`;
};
/** The aws:ResourceTag/<key> condition keys of an instance (RDS supplies them from its tags). */
const resourceTags = (arn: string, w: CallSite) =>
  Object.fromEntries(Object.entries(w.tagsOf?.(arn) ?? {}).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
/** An instance-level action, authorized against the instance with its tags as condition keys. */
const onInstance = (action: string, input: Record<string, unknown>, w: CallSite) => {
  const arn = dbArn(input.DBInstanceIdentifier, w);
  return { action, resources: [arn], context: resourceTags(arn, w) };
};
const pgArn = (name: unknown, w: CallSite) =>
  `arn:${w.partition}:rds:${w.region}:${w.account}:pg:${String(name)}`;

/**
 * What RDS does with a customer key a call names (KmsKeyId): it creates a grant and describes the key on the
 * caller's behalf, through RDS in the call's region.
 */
const keyUsedByRds = (input: Record<string, unknown>, w: CallSite) =>
  input.KmsKeyId === undefined
    ? []
    : ['kms:CreateGrant', 'kms:DescribeKey'].map((action) => ({
        action,
        resources: [str(input.KmsKeyId)],
        context: { 'kms:ViaService': `rds.${w.region}.amazonaws.com` },
      }));

const NOT_FOUND = (op: string) =>
  error(
    `rds.${op}.not-found`,
    'DBInstanceNotFound',
    404,
    'No instance has that identifier in the client’s region.',
    `${API}/API_${op}.html`,
    'DBInstanceNotFound: DBInstanceIdentifier doesn’t refer to an existing DB instance. HTTP Status Code: 404',
    true,
    'DBInstanceNotFoundFault',
  );
const INVALID_STATE = (op: string, when: string) =>
  error(
    `rds.${op}.invalid-state`,
    'InvalidDBInstanceState',
    400,
    when,
    `${API}/API_${op}.html`,
    "InvalidDBInstanceState: The DB instance isn't in a valid state. HTTP Status Code: 400",
    true,
    'InvalidDBInstanceStateFault',
  );

export const RDS: ServiceEntry = {
  service: 'rds',
  title: 'Amazon RDS',
  global: false,
  accessDenied: error(
    'rds.access-denied',
    'AccessDenied',
    403,
    'A call IAM does not allow fails with AccessDenied, HTTP 403 ("... is not authorized to perform: rds:<Action> on resource: <arn>").',
    `${API}/CommonErrors.html`,
    'AccessDeniedException: You do not have sufficient access to perform this action. (observed on the wire for RDS: AccessDenied, 403)',
  ),
  throttling: error(
    'rds.throttling',
    'ThrottlingException',
    400,
    'Over the API rate (12 per second sustained, bursts of 300): ThrottlingException "Rate exceeded".',
    `${UG}/rds-api-throttling.html`,
    'By default, you can make up to 300 requests in a burst and a sustained 12 requests per second.',
  ),
  common: commonErrors('rds', `${API}/CommonErrors.html`),
  operations: [
    {
      service: 'rds',
      operation: 'CreateDBInstanceReadReplica',
      calledBy: ['lambdas/dr-replica/handler.ts'],
      reference: `${API}/API_CreateDBInstanceReadReplica.html`,
      iam: (input, w) => {
        const tags = Array.isArray(input.Tags) && input.Tags.length > 0;
        const resources = [
          dbArn(input.DBInstanceIdentifier, w),
          dbArn(input.SourceDBInstanceIdentifier, w),
          ...(input.DBSubnetGroupName === undefined
            ? []
            : [`arn:${w.partition}:rds:${w.region}:${w.account}:subgrp:${str(input.DBSubnetGroupName)}`]),
        ];
        return [
          { action: 'rds:CreateDBInstanceReadReplica', resources },
          ...(tags
            ? [{ action: 'rds:AddTagsToResource', resources: [dbArn(input.DBInstanceIdentifier, w)] }]
            : []),
          ...keyUsedByRds(input, w),
        ];
      },
      relies: [
        row(
          'rds.CreateDBInstanceReadReplica.no-parameter-group',
          'A cross-region PostgreSQL replica cannot be given DBParameterGroupName: it starts on the engine’s default group, and the DR rebuild attaches ours afterwards with ModifyDBInstance and a reboot (what CloudFormation does too).',
          `${API}/API_CreateDBInstanceReadReplica.html`,
          'Specifying a parameter group for this operation is only supported for MySQL DB instances for cross-Region read replicas, for Multi-AZ DB cluster read replica instances, for Db2 DB instances, and for Oracle DB instances.',
        ),
        row(
          'rds.CreateDBInstanceReadReplica.kms',
          'An encrypted cross-region replica needs KmsKeyId, a key of its own region; the SDK pre-signs the source-region request when the source is an ARN of another region.',
          `${API}/API_CreateDBInstanceReadReplica.html`,
          'If you create an encrypted read replica in a different Amazon Web Services Region, then you must specify a KMS key identifier for the destination Amazon Web Services Region.',
        ),
        row(
          'rds.CreateDBInstanceReadReplica.both-arns',
          'IAM authorizes the call against the new replica and the source instance, both; tags need rds:AddTagsToResource.',
          `${UG}/USER_ReadRepl.XRgn.html`,
          'the requester ... must have access to the source DB instance and the source Region',
        ),
        row(
          'rds.CreateDBInstanceReadReplica.backups',
          'The source must keep automated backups (retention > 0); replicas start with backups off, creating then available.',
          `${API}/API_CreateDBInstanceReadReplica.html`,
          'The specified DB instance must have automatic backups enabled, that is, its backup retention period must be greater than 0.',
        ),
      ],
      errors: [
        error(
          'rds.CreateDBInstanceReadReplica.already-exists',
          'DBInstanceAlreadyExists',
          400,
          'An instance of that identifier exists in the region (the DR rebuild then reports it instead of creating).',
          `${API}/API_CreateDBInstanceReadReplica.html`,
          'DBInstanceAlreadyExists: The user already has a DB instance with the given identifier. HTTP Status Code: 400',
          true,
          'DBInstanceAlreadyExistsFault',
        ),
        error(
          'rds.CreateDBInstanceReadReplica.parameter-combination',
          'InvalidParameterCombination',
          400,
          'DBParameterGroupName for a cross-region PostgreSQL replica, or KmsKeyId for a same-region one.',
          `${API}/CommonErrors.html`,
          'InvalidParameterCombination: Parameters that must not be used together were used together. HTTP Status Code: 400',
        ),
        NOT_FOUND('CreateDBInstanceReadReplica'),
        INVALID_STATE(
          'CreateDBInstanceReadReplica',
          'The source cannot take a replica now (or keeps no backups).',
        ),
        error(
          'rds.CreateDBInstanceReadReplica.kms-not-accessible',
          'KMSKeyNotAccessibleFault',
          400,
          'The replica region’s key is disabled or not usable by the caller.',
          `${API}/API_CreateDBInstanceReadReplica.html`,
          'KMSKeyNotAccessibleFault: An error occurred accessing an AWS KMS key. HTTP Status Code: 400',
        ),
        error(
          'rds.CreateDBInstanceReadReplica.quota',
          'InstanceQuotaExceeded',
          400,
          'The region’s instance quota is reached.',
          `${API}/API_CreateDBInstanceReadReplica.html`,
          'InstanceQuotaExceeded: The request would result in the user exceeding the allowed number of DB instances. HTTP Status Code: 400',
          false,
          'InstanceQuotaExceededFault',
        ),
      ],
    },
    {
      service: 'rds',
      operation: 'CreateDBInstance',
      calledBy: ['lambdas/green-provisioning/instance-handler.ts'],
      reference: `${API}/API_CreateDBInstance.html`,
      iam: (input, w) => {
        const tags = Array.isArray(input.Tags) ? (input.Tags as { Key: string; Value: string }[]) : [];
        const context = {
          ...Object.fromEntries(tags.map((t) => [`aws:RequestTag/${t.Key}`, t.Value])),
          ...(tags.length === 0 ? {} : { 'aws:TagKeys': tags.map((t) => t.Key) }),
        };
        const major = str(input.EngineVersion, '17').split('.')[0] ?? '17';
        const resources = [
          dbArn(input.DBInstanceIdentifier, w),
          `arn:${w.partition}:rds:${w.region}:${w.account}:og:default:postgres-${major}`,
          ...(input.DBSubnetGroupName === undefined
            ? []
            : [`arn:${w.partition}:rds:${w.region}:${w.account}:subgrp:${str(input.DBSubnetGroupName)}`]),
          ...(input.DBParameterGroupName === undefined ? [] : [pgArn(input.DBParameterGroupName, w)]),
        ];
        return [
          { action: 'rds:CreateDBInstance', resources, context },
          ...(tags.length > 0
            ? [
                {
                  action: 'rds:AddTagsToResource',
                  resources: [dbArn(input.DBInstanceIdentifier, w)],
                  context,
                },
              ]
            : []),
          ...keyUsedByRds(input, w),
        ];
      },
      relies: [
        row(
          'rds.CreateDBInstance.tags',
          'Tags given at creation are authorized as rds:AddTagsToResource too, with aws:RequestTag/<key> and aws:TagKeys in the context: a policy can allow creating only tagged instances.',
          `${UG}/security_iam_id-based-policy-examples-create-and-modify-examples.html`,
          'To create a DB instance with tags, you must have access to the rds:AddTagsToResource action in addition to the rds:CreateDBInstance action.',
        ),
        row(
          'rds.CreateDBInstance.creating',
          'The instance starts creating, with no Endpoint until RDS gives it one; it is available when DBInstanceStatus says so.',
          `${UG}/accessing-monitoring.html`,
          'creating: The DB instance is being created. The DB instance is inaccessible while it is being created.',
        ),
        row(
          'rds.CreateDBInstance.kms',
          'StorageEncrypted with KmsKeyId encrypts it with that key (of its own region); RDS uses the key on the caller’s behalf.',
          `${API}/API_CreateDBInstance.html`,
          'The Amazon Web Services KMS key identifier for an encrypted DB instance.',
        ),
      ],
      errors: [
        error(
          'rds.CreateDBInstance.already-exists',
          'DBInstanceAlreadyExists',
          400,
          'An instance of that identifier exists in the region.',
          `${API}/API_CreateDBInstance.html`,
          'DBInstanceAlreadyExists: The user already has a DB instance with the given identifier. HTTP Status Code: 400',
          true,
          'DBInstanceAlreadyExistsFault',
        ),
        error(
          'rds.CreateDBInstance.parameter-group-not-found',
          'DBParameterGroupNotFound',
          404,
          'DBParameterGroupName names no group of the region.',
          `${API}/API_CreateDBInstance.html`,
          "DBParameterGroupNotFound: DBParameterGroupName doesn't refer to an existing DB parameter group. HTTP Status Code: 404",
          true,
          'DBParameterGroupNotFoundFault',
        ),
        error(
          'rds.CreateDBInstance.quota',
          'InstanceQuotaExceeded',
          400,
          'The region’s instance quota is reached.',
          `${API}/API_CreateDBInstance.html`,
          'InstanceQuotaExceeded: The request would result in the user exceeding the allowed number of DB instances. HTTP Status Code: 400',
          false,
          'InstanceQuotaExceededFault',
        ),
        error(
          'rds.CreateDBInstance.kms-not-accessible',
          'KMSKeyNotAccessibleFault',
          400,
          'The key is disabled or not usable by the caller.',
          `${API}/API_CreateDBInstance.html`,
          'KMSKeyNotAccessibleFault: An error occurred accessing an Amazon Web Services KMS key. HTTP Status Code: 400',
          false,
        ),
      ],
    },
    {
      service: 'rds',
      operation: 'StartDBInstanceAutomatedBackupsReplication',
      calledBy: ['lambdas/dr-replica/handler.ts'],
      reference: `${API}/API_StartDBInstanceAutomatedBackupsReplication.html`,
      iam: (input, w) => [
        {
          action: 'rds:StartDBInstanceAutomatedBackupsReplication',
          resources: [dbArn(input.SourceDBInstanceArn, w)],
        },
        ...keyUsedByRds(input, w),
      ],
      relies: [
        row(
          'rds.StartDBInstanceAutomatedBackupsReplication.destination',
          'Asked in the destination region, of the source instance by its ARN: the source’s automated backups (snapshots and transaction logs) are then kept in that region too, restorable to a point in time there; the source lists the replication in DBInstanceAutomatedBackupsReplications.',
          `${UG}/USER_ReplicateBackups.html`,
          'Amazon RDS initiates a cross-Region copy of all snapshots and transaction logs as soon as they are ready on the source DB instance.',
        ),
        row(
          'rds.StartDBInstanceAutomatedBackupsReplication.kms',
          'An encrypted source needs KmsKeyId: the ARN of a key of the destination region.',
          `${API}/API_StartDBInstanceAutomatedBackupsReplication.html`,
          'The Amazon Web Services KMS key identifier for encryption of the replicated automated backups. The KMS key ID is the Amazon Resource Name (ARN) for the KMS encryption key in the destination Amazon Web Services Region',
          false,
        ),
      ],
      errors: [
        NOT_FOUND('StartDBInstanceAutomatedBackupsReplication'),
        INVALID_STATE(
          'StartDBInstanceAutomatedBackupsReplication',
          'The source is not available, or keeps no automated backups.',
        ),
        error(
          'rds.StartDBInstanceAutomatedBackupsReplication.quota',
          'DBInstanceAutomatedBackupQuotaExceeded',
          400,
          'The region’s quota of replicated or retained automated backups is reached.',
          `${API}/API_StartDBInstanceAutomatedBackupsReplication.html`,
          'DBInstanceAutomatedBackupQuotaExceeded: The quota for retained automated backups was exceeded. This prevents you from retaining any additional automated backups. The retained automated backups quota is the same as your DB instance quota. HTTP Status Code: 400',
          false,
          'DBInstanceAutomatedBackupQuotaExceededFault',
        ),
      ],
    },
    {
      service: 'rds',
      operation: 'DescribeDBInstanceAutomatedBackups',
      calledBy: [
        'lambdas/restore-test/handler.ts',
        'lambdas/restore-test/status-handler.ts',
        'lib/cli/backups-command.ts',
        'lib/cli/restore-command.ts',
      ],
      reference: `${API}/API_DescribeDBInstanceAutomatedBackups.html`,
      iam: () => [{ action: 'rds:DescribeDBInstanceAutomatedBackups', resources: ['*'] }],
      relies: [
        row(
          'rds.DescribeDBInstanceAutomatedBackups.window',
          'Each automated backup kept in the region (of its own instances, and those replicated to it from another region) with its source instance identifier, Status and RestoreWindow (EarliestTime, LatestTime): the restore test restores the newest LatestTime of the writer, and BackupAge is its age.',
          `${API}/API_DBInstanceAutomatedBackup.html`,
          'RestoreWindow: The earliest and latest time a DB instance can be restored to.',
        ),
        row(
          'rds.DescribeDBInstanceAutomatedBackups.identifier',
          'A DBInstanceIdentifier parameter must name an instance of the region the call is made in: the replicated backups of a writer in another region are found by listing (Marker pages) and filtering on their DBInstanceIdentifier.',
          `${API}/API_DescribeDBInstanceAutomatedBackups.html`,
          "If this parameter is specified, it must match the identifier of an existing DB instance. It returns information from the specific DB instance's automated backup.",
          false,
        ),
        row(
          'rds.DescribeDBInstanceAutomatedBackups.replicated-arn',
          'A backup replicated here carries DBInstanceAutomatedBackupsArn (auto-backup:ab-...), what RestoreDBInstanceToPointInTime names it by, and the Region of its source instance.',
          `${API}/API_DBInstanceAutomatedBackup.html`,
          'DBInstanceAutomatedBackupsArn: The Amazon Resource Name (ARN) for the replicated automated backups.',
        ),
      ],
      errors: [],
    },
    {
      service: 'rds',
      operation: 'RestoreDBInstanceToPointInTime',
      calledBy: ['lambdas/restore-test/handler.ts', 'lib/cli/restore-command.ts'],
      reference: `${API}/API_RestoreDBInstanceToPointInTime.html`,
      iam: (input, w) => {
        const tags = Array.isArray(input.Tags) ? (input.Tags as { Key: string; Value: string }[]) : [];
        const context = {
          ...Object.fromEntries(tags.map((t) => [`aws:RequestTag/${t.Key}`, t.Value])),
          ...(tags.length === 0 ? {} : { 'aws:TagKeys': tags.map((t) => t.Key) }),
        };
        const target = dbArn(input.TargetDBInstanceIdentifier, w);
        const resources = [
          target,
          ...(input.SourceDBInstanceAutomatedBackupsArn === undefined
            ? []
            : [str(input.SourceDBInstanceAutomatedBackupsArn)]),
          ...(input.SourceDBInstanceIdentifier === undefined
            ? []
            : [dbArn(input.SourceDBInstanceIdentifier, w)]),
          ...(input.DBSubnetGroupName === undefined
            ? []
            : [`arn:${w.partition}:rds:${w.region}:${w.account}:subgrp:${str(input.DBSubnetGroupName)}`]),
          ...(input.DBParameterGroupName === undefined ? [] : [pgArn(input.DBParameterGroupName, w)]),
        ];
        return [
          { action: 'rds:RestoreDBInstanceToPointInTime', resources, context },
          ...(tags.length > 0 ? [{ action: 'rds:AddTagsToResource', resources: [target], context }] : []),
        ];
      },
      relies: [
        row(
          'rds.RestoreDBInstanceToPointInTime.replicated-backup',
          'A backup replicated from another region is restored in this region by SourceDBInstanceAutomatedBackupsArn; UseLatestRestorableTime restores its LatestRestorableTime. The new instance starts creating, without an endpoint, and becomes available.',
          `${API}/API_RestoreDBInstanceToPointInTime.html`,
          'SourceDBInstanceAutomatedBackupsArn: The Amazon Resource Name (ARN) of the replicated automated backups from which to restore, for example, arn:aws:rds:us-east-1:123456789012:auto-backup:ab-L2IJCEXJP7XQ7HOJ4SIEXAMPLE.',
        ),
        row(
          'rds.RestoreDBInstanceToPointInTime.defaults',
          'What the call does not name comes from defaults: the default subnet group, security group and parameter group, single-AZ. The restore test names the DR replica’s subnet group, security group and parameter group.',
          `${API}/API_RestoreDBInstanceToPointInTime.html`,
          'The target database is created with most of the original configuration, but in a system-selected Availability Zone, with the default security group, the default subnet group, and the default DB parameter group.',
          false,
        ),
        row(
          'rds.RestoreDBInstanceToPointInTime.tags',
          'Tags given with the restore are authorized as rds:AddTagsToResource too, with aws:RequestTag/<key>: the restore-test role may restore only with the throwaway tag.',
          `${UG}/security_iam_id-based-policy-examples-grant-permissions-tags-on-create.html`,
          'If tags are specified in the create action, RDS performs additional authorization on the rds:AddTagsToResource action to verify if users have permissions to create tags.',
        ),
        row(
          'rds.RestoreDBInstanceToPointInTime.master-password',
          'A restored PostgreSQL instance cannot be given an RDS-managed master password: it keeps its source’s master user and password as they were at the restore point, so the check opens it with the source’s secret (its previous version after a rotation).',
          `${API}/API_RestoreDBInstanceToPointInTime.html`,
          'ManageMasterUserPassword: Specifies whether to manage the master user password with Amazon Web Services Secrets Manager in the restored DB instance. ... Applies to RDS for Oracle only.',
          false,
        ),
      ],
      errors: [
        error(
          'rds.RestoreDBInstanceToPointInTime.already-exists',
          'DBInstanceAlreadyExists',
          400,
          'An instance of the target identifier exists in the region (a retried start then reports it).',
          `${API}/API_RestoreDBInstanceToPointInTime.html`,
          'DBInstanceAlreadyExists: The user already has a DB instance with the given identifier. HTTP Status Code: 400',
          true,
          'DBInstanceAlreadyExistsFault',
        ),
        error(
          'rds.RestoreDBInstanceToPointInTime.backup-not-found',
          'DBInstanceAutomatedBackupNotFound',
          404,
          'The automated backups named are not (or no longer) in the region.',
          `${API}/API_RestoreDBInstanceToPointInTime.html`,
          'DBInstanceAutomatedBackupNotFound: No automated backup for this DB instance was found. HTTP Status Code: 404',
          true,
          'DBInstanceAutomatedBackupNotFoundFault',
        ),
        error(
          'rds.RestoreDBInstanceToPointInTime.quota',
          'InstanceQuotaExceeded',
          400,
          'The region’s instance quota is reached.',
          `${API}/API_RestoreDBInstanceToPointInTime.html`,
          'InstanceQuotaExceeded: The request would result in the user exceeding the allowed number of DB instances. HTTP Status Code: 400',
          false,
          'InstanceQuotaExceededFault',
        ),
        error(
          'rds.RestoreDBInstanceToPointInTime.kms-not-accessible',
          'KMSKeyNotAccessibleFault',
          400,
          'The key the backup is encrypted with is disabled or not usable by the caller.',
          `${API}/API_RestoreDBInstanceToPointInTime.html`,
          'KMSKeyNotAccessibleFault: An error occurred accessing an Amazon Web Services KMS key. HTTP Status Code: 400',
          false,
        ),
      ],
    },
    {
      service: 'rds',
      operation: 'DescribeDBInstances',
      calledBy: [
        'lambdas/dr-replica/handler.ts',
        'lambdas/green-provisioning/instance-handler.ts',
        'lambdas/blue-retirement/instance-handler.ts',
        'lambdas/restore-test/handler.ts',
      ],
      reference: `${API}/API_DescribeDBInstances.html`,
      iam: (input, w) => [
        {
          action: 'rds:DescribeDBInstances',
          resources: [
            input.DBInstanceIdentifier === undefined
              ? `arn:${w.partition}:rds:${w.region}:${w.account}:db:*`
              : dbArn(input.DBInstanceIdentifier, w),
          ],
        },
      ],
      relies: [
        row(
          'rds.DescribeDBInstances.status',
          'DBInstanceStatus (creating, available, modifying, rebooting, ...), Endpoint.Address once it exists, DBParameterGroups[].ParameterApplyStatus (in-sync, applying, pending-reboot), CACertificateIdentifier, StatusInfos of a replica.',
          `${API}/API_DBInstance.html`,
          'ParameterApplyStatus: The status of parameter updates. Valid values are: applying, failed-to-apply, in-sync, pending-database-upgrade, pending-reboot',
        ),
      ],
      errors: [NOT_FOUND('DescribeDBInstances')],
    },
    {
      service: 'rds',
      operation: 'ModifyDBInstance',
      calledBy: ['lambdas/dr-replica/handler.ts', 'lambdas/blue-retirement/instance-handler.ts'],
      reference: `${API}/API_ModifyDBInstance.html`,
      iam: (input, w) => [
        {
          action: 'rds:ModifyDBInstance',
          resources: [
            dbArn(input.DBInstanceIdentifier, w),
            ...(input.DBParameterGroupName === undefined ? [] : [pgArn(input.DBParameterGroupName, w)]),
          ],
          context: resourceTags(dbArn(input.DBInstanceIdentifier, w), w),
        },
      ],
      relies: [
        row(
          'rds.ModifyDBInstance.parameter-group',
          'A new parameter group, applied immediately, leaves the instance modifying, then pending-reboot: its parameters take effect at the next reboot.',
          `${UG}/USER_WorkingWithParamGroups.Associating.html`,
          'When you associate a new DB parameter group with a DB instance, the modified static and dynamic parameters are applied only after the DB instance is rebooted.',
        ),
        row(
          'rds.ModifyDBInstance.deletion-protection',
          'Turning deletion protection off takes effect at once, whatever ApplyImmediately says, without downtime.',
          `${UG}/USER_ModifyInstance.Settings.html`,
          'The change occurs immediately. This setting ignores the apply immediately setting.',
        ),
      ],
      errors: [
        NOT_FOUND('ModifyDBInstance'),
        INVALID_STATE('ModifyDBInstance', 'The instance is not available (creating, rebooting, modifying).'),
        error(
          'rds.ModifyDBInstance.no-parameter-group',
          'DBParameterGroupNotFound',
          404,
          'No parameter group of that name in the region.',
          `${API}/API_ModifyDBInstance.html`,
          "DBParameterGroupNotFound: DBParameterGroupName doesn't refer to an existing DB parameter group. HTTP Status Code: 404",
          true,
          'DBParameterGroupNotFoundFault',
        ),
      ],
    },
    {
      service: 'rds',
      operation: 'DeleteDBInstance',
      calledBy: ['lambdas/blue-retirement/instance-handler.ts', 'lambdas/restore-test/handler.ts'],
      reference: `${API}/API_DeleteDBInstance.html`,
      iam: (input, w) => [
        onInstance('rds:DeleteDBInstance', input, w),
        ...(input.FinalDBSnapshotIdentifier === undefined
          ? []
          : [
              {
                action: 'rds:CreateDBSnapshot',
                resources: [
                  dbArn(input.DBInstanceIdentifier, w),
                  `arn:${w.partition}:rds:${w.region}:${w.account}:snapshot:${str(input.FinalDBSnapshotIdentifier)}`,
                ],
                context: resourceTags(dbArn(input.DBInstanceIdentifier, w), w),
              },
            ]),
      ],
      relies: [
        row(
          'rds.DeleteDBInstance.deleting',
          'The instance is deleting, then gone (DescribeDBInstances: DBInstanceNotFound); with FinalDBSnapshotIdentifier a snapshot of that name is taken first.',
          `${API}/API_DeleteDBInstance.html`,
          "By default, skip isn't enabled, and the DB snapshot is created.",
        ),
        row(
          'rds.DeleteDBInstance.automated-backups',
          'Automated backups are removed with the instance unless DeleteAutomatedBackups is false: the retirement keeps them (point-in-time recovery for their retention).',
          `${API}/API_DeleteDBInstance.html`,
          'The default is to remove automated backups immediately after the DB instance is deleted.',
          false,
        ),
        row(
          'rds.DeleteDBInstance.replica-no-snapshot',
          'A read replica is deleted with SkipFinalSnapshot and no FinalDBSnapshotIdentifier.',
          `${API}/API_DeleteDBInstance.html`,
          'If you delete a read replica or an RDS Custom instance, you must enable this setting.',
        ),
        row(
          'rds.DeleteDBInstance.cross-region-replica',
          'Deleting a PostgreSQL source leaves its cross-region replica terminated, not promoted: the retirement deletes the DR replicas it made first, and refuses others.',
          `${UG}/USER_ReadRepl.XRgn.html`,
          'For PostgreSQL DB instances, when the source DB instance for a cross-Region read replica is deleted, the replication status of the read replica is set to `terminated`.',
          false,
        ),
        row(
          'rds.DeleteDBInstance.snapshot-dependent',
          'IAM authorizes the final snapshot as rds:CreateDBSnapshot, a dependent action of the delete.',
          'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrds.html',
          'DeleteDBInstance ... Dependent actions: rds:AddTagsToResource rds:CreateDBSnapshot rds:DeleteTenantDatabase',
        ),
      ],
      errors: [
        NOT_FOUND('DeleteDBInstance'),
        INVALID_STATE('DeleteDBInstance', 'The instance is busy (creating, modifying, deleting already).'),
        error(
          'rds.DeleteDBInstance.deletion-protection',
          'InvalidParameterCombination',
          400,
          'Deletion protection is on: the delete is refused until ModifyDBInstance turns it off.',
          `${UG}/USER_DeleteInstance.html`,
          "You can't delete a DB instance when deletion protection is turned on.",
        ),
        error(
          'rds.DeleteDBInstance.replica-snapshot',
          'InvalidParameterCombination',
          400,
          'A final snapshot was asked of a read replica.',
          `${API}/API_DeleteDBInstance.html`,
          "FinalDBSnapshotIdentifier: Can't be specified when deleting a read replica.",
        ),
        error(
          'rds.DeleteDBInstance.snapshot-exists',
          'DBSnapshotAlreadyExists',
          400,
          'A snapshot of that identifier exists already.',
          `${API}/API_DeleteDBInstance.html`,
          'DBSnapshotAlreadyExists: DBSnapshotIdentifier is already used by an existing snapshot. HTTP Status Code: 400',
          true,
          'DBSnapshotAlreadyExistsFault',
        ),
      ],
    },
    {
      service: 'rds',
      operation: 'StopDBInstance',
      calledBy: ['lambdas/blue-retirement/instance-handler.ts'],
      reference: `${API}/API_StopDBInstance.html`,
      iam: (input, w) => [
        {
          action: 'rds:StopDBInstance',
          resources: [
            dbArn(input.DBInstanceIdentifier, w),
            ...(input.DBSnapshotIdentifier === undefined
              ? []
              : [
                  `arn:${w.partition}:rds:${w.region}:${w.account}:snapshot:${str(input.DBSnapshotIdentifier)}`,
                ]),
          ],
          context: resourceTags(dbArn(input.DBInstanceIdentifier, w), w),
        },
        ...(input.DBSnapshotIdentifier === undefined
          ? []
          : [
              {
                action: 'rds:CreateDBSnapshot',
                resources: [
                  dbArn(input.DBInstanceIdentifier, w),
                  `arn:${w.partition}:rds:${w.region}:${w.account}:snapshot:${str(input.DBSnapshotIdentifier)}`,
                ],
                context: resourceTags(dbArn(input.DBInstanceIdentifier, w), w),
              },
            ]),
      ],
      relies: [
        row(
          'rds.StopDBInstance.stopping',
          'The instance is stopping, then stopped; DBSnapshotIdentifier takes a snapshot just before.',
          `${API}/API_StopDBInstance.html`,
          'The user-supplied instance identifier of the DB Snapshot created immediately before the DB instance is stopped.',
        ),
        row(
          'rds.StopDBInstance.seven-days',
          'RDS starts a stopped instance again after seven days (the docs say so; the simulator does not start it).',
          `${UG}/USER_StopInstance.html`,
          "If you don't manually start your DB instance after it is stopped for seven consecutive days, RDS automatically starts your DB instance for you.",
          false,
        ),
      ],
      errors: [
        NOT_FOUND('StopDBInstance'),
        INVALID_STATE('StopDBInstance', 'The instance is not available.'),
        error(
          'rds.StopDBInstance.replicas',
          'InvalidDBInstanceState',
          400,
          'The instance has a read replica, or is one (the code observed is not documented: the simulator answers InvalidDBInstanceState).',
          `${UG}/USER_StopInstance.html`,
          "You can't stop a DB instance that has a read replica, or that is a read replica.",
          true,
          'InvalidDBInstanceStateFault',
        ),
      ],
    },
    {
      service: 'rds',
      operation: 'PromoteReadReplica',
      calledBy: ['lambdas/failover/promote.ts'],
      reference: `${API}/API_PromoteReadReplica.html`,
      iam: (input, w) => [
        { action: 'rds:PromoteReadReplica', resources: [dbArn(input.DBInstanceIdentifier, w)] },
      ],
      relies: [
        row(
          'rds.PromoteReadReplica.standalone',
          'The replica becomes a standalone instance that takes writes: it is modifying (and reboots) for minutes, then available with no source; the old source is not touched and keeps taking writes.',
          `${API}/API_PromoteReadReplica.html`,
          'Promotes a read replica DB instance to a standalone DB instance.',
        ),
        row(
          'rds.PromoteReadReplica.backups',
          'BackupRetentionPeriod sets the new writer’s automated backups (default 1 day): the promotion sets it explicitly, since a writer must keep backups and be able to have a replica.',
          `${API}/API_PromoteReadReplica.html`,
          'BackupRetentionPeriod: The number of days for which automated backups are retained. Setting this parameter to a positive number enables backups. Setting this parameter to 0 disables automated backups. Default: 1',
        ),
      ],
      errors: [
        NOT_FOUND('PromoteReadReplica'),
        INVALID_STATE(
          'PromoteReadReplica',
          'The instance is not a read replica, or is not available (a replica cannot be promoted while backing-up).',
        ),
      ],
    },
    {
      service: 'rds',
      operation: 'RebootDBInstance',
      calledBy: ['lambdas/dr-replica/handler.ts'],
      reference: `${API}/API_RebootDBInstance.html`,
      iam: (input, w) => [
        { action: 'rds:RebootDBInstance', resources: [dbArn(input.DBInstanceIdentifier, w)] },
      ],
      relies: [
        row(
          'rds.RebootDBInstance.applies',
          'Rebooting applies a pending parameter group; the instance is rebooting, then available and in-sync.',
          `${API}/API_RebootDBInstance.html`,
          'You might need to reboot your DB instance, usually for maintenance reasons. For example, if you make certain modifications, or if you change the DB parameter group associated with the DB instance, you must reboot the instance for the changes to take effect.',
        ),
      ],
      errors: [
        NOT_FOUND('RebootDBInstance'),
        INVALID_STATE('RebootDBInstance', 'The instance is not available.'),
      ],
    },
    {
      service: 'rds',
      operation: 'DescribeDBParameters',
      calledBy: ['lib/cli/doctor-command.ts'],
      reference: `${API}/API_DescribeDBParameters.html`,
      iam: (input, w) => [
        { action: 'rds:DescribeDBParameters', resources: [pgArn(input.DBParameterGroupName, w)] },
      ],
      relies: [
        row(
          'rds.DescribeDBParameters.pages',
          'Parameters of a group, 20-100 per page (Marker), filterable by Source; a parameter group has hundreds, so read every page.',
          `${API}/API_DescribeDBParameters.html`,
          'MaxRecords ... Default: 100 Constraints: Minimum 20, maximum 100.',
        ),
      ],
      errors: [
        error(
          'rds.DescribeDBParameters.not-found',
          'DBParameterGroupNotFound',
          404,
          'No parameter group of that name in the region.',
          `${API}/API_DescribeDBParameters.html`,
          "DBParameterGroupNotFound: DBParameterGroupName doesn't refer to an existing DB parameter group. HTTP Status Code: 404",
          true,
          'DBParameterGroupNotFoundFault',
        ),
      ],
    },
  ],
};
