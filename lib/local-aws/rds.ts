/**
 * SIMULATED RDS, following the catalogue (lib/local-aws/catalogue/rds.ts): PostgreSQL instances per region
 * whose status moves with time (creating, modifying, rebooting, available), cross-region read replicas
 * refused a parameter group at creation and given one afterwards (pending-reboot until a reboot), KMS keys
 * required across regions, sources that keep backups, and parameter groups to describe.
 */
import type { Simulator, SimulatorCall } from './world';
import { str } from './input';

export interface SimulatedInstance {
  readonly id: string;
  readonly region: string;
  readonly engine: 'postgres';
  /** Base status; transitions (creating, modifying, rebooting) end at `busyUntil`. */
  status: string;
  busyUntil: number;
  endpoint: string;
  port: number;
  parameterGroup: string;
  parameterApplyStatus: 'in-sync' | 'applying' | 'pending-reboot';
  backupRetentionPeriod: number;
  readonly storageEncrypted: boolean;
  kmsKeyId?: string;
  multiAz: boolean;
  caCertificateIdentifier: string;
  /** ARN of the source, for a read replica. */
  source?: string;
  tags: { Key: string; Value: string }[];
  /**
   * The rest of what DescribeDBInstances answers about it, as CreateDBInstance (or the template) gave it: class,
   * storage, engine version, subnet group, security groups, master user, windows.
   */
  details?: Record<string, unknown>;
}

export interface SimulatedParameterGroup {
  readonly name: string;
  readonly region: string;
  readonly family: string;
  readonly parameters: Record<
    string,
    { value: string; applyType: 'static' | 'dynamic'; source: 'user' | 'engine-default' }
  >;
}

/** An instance's automated backups as a region keeps them (replicated there from another region, or its own). */
export interface SimulatedAutomatedBackup {
  /** Where they are kept (the region DescribeDBInstanceAutomatedBackups is asked in). */
  readonly region: string;
  readonly arn: string;
  readonly dbiResourceId: string;
  /** The instance they are of, and its region. */
  readonly instanceIdentifier: string;
  readonly sourceRegion: string;
  status: string;
  earliestTime: Date;
  latestTime: Date;
}

export interface RdsTiming {
  readonly createMs: number;
  readonly modifyMs: number;
  readonly rebootMs: number;
  /** How long a promotion keeps the instance modifying (default: modifyMs). */
  readonly promoteMs?: number;
}

export class RdsSimulator implements Simulator {
  readonly service = 'rds' as const;
  readonly label = 'SIMULATED RDS';
  readonly instances = new Map<string, SimulatedInstance>();
  readonly parameterGroups = new Map<string, SimulatedParameterGroup>();
  readonly automatedBackups: SimulatedAutomatedBackup[] = [];

  constructor(
    private readonly account: string,
    private readonly timing: RdsTiming = { createMs: 0, modifyMs: 0, rebootMs: 0 },
    private readonly options: {
      now?: () => number;
      /** Called when a replica is promoted: the local world's database leaves recovery. */
      onPromote?: (region: string, id: string) => void | Promise<void>;
      /**
       * Called when a read replica is created: the local world may start a real standby of its source and set
       * the instance's endpoint and port to it (the rehearsal's re-protect).
       */
      onCreateReplica?: (replica: SimulatedInstance) => void | Promise<void>;
      /**
       * Called when an instance is created: the local world may start a fresh server for it and set its endpoint
       * and port (a provisioned green), and the master user CreateDBInstance gave.
       */
      onCreateInstance?: (
        instance: SimulatedInstance,
        master: { username: string; password: string; database: string },
      ) => void | Promise<void>;
      /**
       * Called when an instance is restored from automated backups: the local world may give it a database
       * (a server holding the backup's data) and set its endpoint and port.
       */
      onRestoreInstance?: (
        instance: SimulatedInstance,
        backup: SimulatedAutomatedBackup,
      ) => void | Promise<void>;
    } = {},
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private key(region: string, id: string): string {
    return `${region}/${id}`;
  }

  arn(region: string, id: string): string {
    return `arn:aws:rds:${region}:${this.account}:db:${id}`;
  }

  /** An instance's tags by its ARN (what IAM's aws:ResourceTag/<key> keys read). */
  resourceTagsOf(arn: string): Readonly<Record<string, string>> | undefined {
    const m = /^arn:[^:]+:rds:([^:]+):\d{12}:db:(.+)$/.exec(arn);
    const found = m === null ? undefined : this.instance(m[1] ?? '', m[2] ?? '');
    return found === undefined ? undefined : Object.fromEntries(found.tags.map((t) => [t.Key, t.Value]));
  }

  addInstance(
    instance: Pick<SimulatedInstance, 'id' | 'region'> & Partial<Omit<SimulatedInstance, 'id' | 'region'>>,
  ): SimulatedInstance {
    const full: SimulatedInstance = {
      engine: 'postgres',
      status: 'available',
      busyUntil: 0,
      endpoint: `${instance.id}.simulated.${instance.region}.rds.amazonaws.com`,
      port: 5432,
      parameterGroup: 'default.postgres17',
      parameterApplyStatus: 'in-sync',
      backupRetentionPeriod: 7,
      storageEncrypted: true,
      multiAz: true,
      caCertificateIdentifier: 'rds-ca-rsa2048-g1',
      tags: [],
      ...instance,
    };
    this.instances.set(this.key(full.region, full.id), full);
    return full;
  }

  addAutomatedBackup(backup: SimulatedAutomatedBackup): SimulatedAutomatedBackup {
    this.automatedBackups.push(backup);
    return backup;
  }

  addParameterGroup(group: SimulatedParameterGroup): void {
    this.parameterGroups.set(this.key(group.region, group.name), group);
  }

  /** Status now: a transition that has run its time is over (a deleted instance is gone, a stopping one stopped). */
  private settle(instance: SimulatedInstance): SimulatedInstance {
    if (instance.status === 'stopped') return instance;
    if (instance.status === 'stopping' && this.now() >= instance.busyUntil) {
      instance.status = 'stopped';
      return instance;
    }
    if (instance.status !== 'available' && this.now() >= instance.busyUntil) {
      if (instance.status === 'rebooting') instance.parameterApplyStatus = 'in-sync';
      if (instance.status === 'modifying' && instance.parameterApplyStatus === 'applying')
        instance.parameterApplyStatus = 'pending-reboot';
      instance.status = 'available';
    }
    return instance;
  }

  instance(region: string, id: string): SimulatedInstance | undefined {
    const found = this.instances.get(this.key(region, id));
    if (found === undefined) return undefined;
    if (found.status === 'deleting' && this.now() >= found.busyUntil) {
      this.instances.delete(this.key(region, id));
      return undefined;
    }
    return this.settle(found);
  }

  /** Final snapshots taken by DeleteDBInstance and StopDBInstance, by region and identifier. */
  readonly snapshots = new Map<string, { readonly id: string; readonly instance: string }>();

  private describe(i: SimulatedInstance) {
    return {
      // What only describes it first: the fields the simulator keeps itself always win.
      ...Object.fromEntries(Object.entries(i.details ?? {}).filter(([, v]) => v !== undefined)),
      DBInstanceIdentifier: i.id,
      DBInstanceArn: this.arn(i.region, i.id),
      Engine: i.engine,
      DBInstanceStatus: i.status,
      ...(i.status === 'creating' ? {} : { Endpoint: { Address: i.endpoint, Port: i.port } }),
      DBParameterGroups: [
        { DBParameterGroupName: i.parameterGroup, ParameterApplyStatus: i.parameterApplyStatus },
      ],
      BackupRetentionPeriod: i.backupRetentionPeriod,
      StorageEncrypted: i.storageEncrypted,
      ...(i.kmsKeyId === undefined ? {} : { KmsKeyId: i.kmsKeyId }),
      MultiAZ: i.multiAz,
      CACertificateIdentifier: i.caCertificateIdentifier,
      ...(i.source === undefined
        ? {}
        : {
            ReadReplicaSourceDBInstanceIdentifier: i.source,
            StatusInfos: [{ StatusType: 'read replication', Normal: true, Status: 'replicating' }],
          }),
      ReadReplicaDBInstanceIdentifiers: this.replicasOf(i).map((r) =>
        r.region === i.region ? r.id : this.arn(r.region, r.id),
      ),
      TagList: i.tags,
      DeletionProtection: i.details?.DeletionProtection === true,
    };
  }

  handle(call: SimulatorCall): unknown {
    const region = call.site.region;
    const input = call.input;
    const id = str(input.DBInstanceIdentifier);
    switch (call.operation) {
      case 'DescribeDBInstances': {
        if (input.DBInstanceIdentifier === undefined)
          return {
            DBInstances: [...this.instances.values()]
              .filter((i) => i.region === region && this.instance(i.region, i.id) !== undefined)
              .map((i) => this.describe(i)),
          };
        const found = this.instance(region, id);
        if (found === undefined) return call.fail('DBInstanceNotFound', `DBInstance ${id} not found.`);
        return { DBInstances: [this.describe(found)] };
      }
      case 'CreateDBInstanceReadReplica':
        return this.createReplica(call);
      case 'CreateDBInstance':
        return this.createInstance(call);
      case 'RestoreDBInstanceToPointInTime':
        return this.restoreInstance(call);
      case 'StartDBInstanceAutomatedBackupsReplication':
        return this.replicateBackups(call);
      case 'DescribeDBInstanceAutomatedBackups': {
        const all = this.automatedBackups.filter((b) => b.region === region);
        const max = Math.max(20, Math.min(100, Number(input.MaxRecords ?? 100)));
        const from = Number(input.Marker ?? 0);
        return {
          DBInstanceAutomatedBackups: all.slice(from, from + max).map((b) => ({
            DBInstanceArn: this.arn(b.sourceRegion, b.instanceIdentifier),
            DbiResourceId: b.dbiResourceId,
            Region: b.sourceRegion,
            DBInstanceIdentifier: b.instanceIdentifier,
            RestoreWindow: { EarliestTime: b.earliestTime, LatestTime: b.latestTime },
            Status: b.status,
            Engine: 'postgres',
            Encrypted: true,
            DBInstanceAutomatedBackupsArn: b.arn,
          })),
          ...(from + max < all.length ? { Marker: String(from + max) } : {}),
        };
      }
      case 'ModifyDBInstance': {
        const found = this.instance(region, id);
        if (found === undefined) return call.fail('DBInstanceNotFound', `DBInstance ${id} not found.`);
        if (found.status !== 'available')
          call.fail('InvalidDBInstanceState', `Database instance is not in available state: ${found.status}`);
        if (typeof input.DeletionProtection === 'boolean') {
          // At once, whatever ApplyImmediately says.
          found.details = { ...found.details, DeletionProtection: input.DeletionProtection };
          if (input.DBParameterGroupName === undefined) return { DBInstance: this.describe(found) };
        }
        const group = input.DBParameterGroupName as string | undefined;
        if (group !== undefined) {
          if (!this.parameterGroups.has(this.key(region, group)))
            call.fail('DBParameterGroupNotFound', `DBParameterGroup not found: ${group}`);
          found.parameterGroup = group;
          found.parameterApplyStatus = 'applying';
        }
        found.status = 'modifying';
        found.busyUntil = this.now() + this.timing.modifyMs;
        return { DBInstance: this.describe(found) };
      }
      case 'PromoteReadReplica': {
        const found = this.instance(region, id);
        if (found === undefined) return call.fail('DBInstanceNotFound', `DBInstance ${id} not found.`);
        if (found.source === undefined)
          call.fail('InvalidDBInstanceState', `DB Instance is not a read replica: ${id}`);
        if (found.status !== 'available')
          call.fail('InvalidDBInstanceState', `Database instance is not in available state: ${found.status}`);
        found.source = undefined;
        found.backupRetentionPeriod = Number(input.BackupRetentionPeriod ?? 1);
        found.status = 'modifying';
        found.busyUntil = this.now() + (this.timing.promoteMs ?? this.timing.modifyMs);
        // The database behind it leaves recovery (the rehearsal binds a real standby: pg_promote()).
        const answer = { DBInstance: this.describe(found) };
        const promoting = this.options.onPromote?.(region, id);
        return promoting === undefined ? answer : promoting.then(() => answer);
      }
      case 'RebootDBInstance': {
        const found = this.instance(region, id);
        if (found === undefined) return call.fail('DBInstanceNotFound', `DBInstance ${id} not found.`);
        if (found.status !== 'available')
          call.fail('InvalidDBInstanceState', `Database instance is not in available state: ${found.status}`);
        found.status = 'rebooting';
        found.busyUntil = this.now() + this.timing.rebootMs;
        return { DBInstance: this.describe(found) };
      }
      case 'DeleteDBInstance':
        return this.deleteInstance(call);
      case 'StopDBInstance':
        return this.stopInstance(call);
      case 'DescribeDBParameters': {
        const name = str(input.DBParameterGroupName);
        const group = this.parameterGroups.get(this.key(region, name));
        if (group === undefined)
          return call.fail('DBParameterGroupNotFound', `DBParameterGroup not found: ${name}`);
        const max = Math.max(20, Math.min(100, Number(input.MaxRecords ?? 100)));
        const all = Object.entries(group.parameters)
          .filter(([, p]) => input.Source === undefined || p.source === input.Source)
          .sort(([a], [b]) => a.localeCompare(b));
        const from = Number(input.Marker ?? 0);
        const page = all.slice(from, from + max);
        return {
          Parameters: page.map(([n, p]) => ({
            ParameterName: n,
            ParameterValue: p.value,
            ApplyType: p.applyType,
            Source: p.source,
            ApplyMethod: p.applyType === 'static' ? 'pending-reboot' : 'immediate',
          })),
          ...(from + max < all.length ? { Marker: String(from + max) } : {}),
        };
      }
      default:
        throw new Error(`${this.label}: ${call.operation} is catalogued but not simulated`);
    }
  }

  /** The instances that replicate from this one (in any region). */
  private replicasOf(i: SimulatedInstance): SimulatedInstance[] {
    return [...this.instances.values()].filter(
      (r) => r.source === this.arn(i.region, i.id) && this.instance(r.region, r.id) !== undefined,
    );
  }

  private takeSnapshot(call: SimulatorCall, instance: SimulatedInstance, snapshot: string): void {
    const key = this.key(instance.region, snapshot);
    if (this.snapshots.has(key))
      call.fail(
        'DBSnapshotAlreadyExists',
        'Cannot create the snapshot because a snapshot with the identifier already exists.',
      );
    this.snapshots.set(key, { id: snapshot, instance: instance.id });
  }

  /** Deleting, then gone; refused while deletion protection is on, and a replica takes no final snapshot. */
  private deleteInstance(call: SimulatorCall): unknown {
    const region = call.site.region;
    const input = call.input;
    const id = str(input.DBInstanceIdentifier);
    const found = this.instance(region, id);
    if (found === undefined) return call.fail('DBInstanceNotFound', `DBInstance ${id} not found.`);
    if (found.details?.DeletionProtection === true)
      call.fail(
        'InvalidParameterCombination',
        'Cannot delete protected DB Instance, please disable deletion protection and try again.',
      );
    if (found.status !== 'available' && found.status !== 'stopped')
      call.fail('InvalidDBInstanceState', `Database instance is not in available state: ${found.status}`);
    const snapshot = input.FinalDBSnapshotIdentifier as string | undefined;
    if (found.source !== undefined && snapshot !== undefined)
      call.fail(
        'InvalidParameterCombination',
        'FinalDBSnapshotIdentifier can not be specified when deleting a replica instance',
      );
    if (snapshot === undefined && input.SkipFinalSnapshot !== true)
      call.fail(
        'InvalidParameterCombination',
        'FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.',
      );
    if (snapshot !== undefined) this.takeSnapshot(call, found, snapshot);
    found.status = 'deleting';
    found.busyUntil = this.now() + this.timing.modifyMs;
    return { DBInstance: this.describe(found) };
  }

  /** Stopping, then stopped; refused for a replica or an instance that has one. */
  private stopInstance(call: SimulatorCall): unknown {
    const region = call.site.region;
    const input = call.input;
    const id = str(input.DBInstanceIdentifier);
    const found = this.instance(region, id);
    if (found === undefined) return call.fail('DBInstanceNotFound', `DBInstance ${id} not found.`);
    if (found.source !== undefined || this.replicasOf(found).length > 0)
      call.fail('InvalidDBInstanceState', `Cannot stop instance ${id}: it has a read replica or is one.`);
    if (found.status !== 'available')
      call.fail('InvalidDBInstanceState', `Database instance is not in available state: ${found.status}`);
    const snapshot = input.DBSnapshotIdentifier as string | undefined;
    if (snapshot !== undefined) this.takeSnapshot(call, found, snapshot);
    found.status = 'stopping';
    found.busyUntil = this.now() + this.timing.modifyMs;
    return { DBInstance: this.describe(found) };
  }

  /** A new, empty PostgreSQL instance, creating until its time has run. */
  private createInstance(call: SimulatorCall): unknown {
    const region = call.site.region;
    const input = call.input;
    const id = str(input.DBInstanceIdentifier);
    if (this.instance(region, id) !== undefined)
      call.fail('DBInstanceAlreadyExists', 'DB instance already exists');
    const group = input.DBParameterGroupName as string | undefined;
    if (group !== undefined && !this.parameterGroups.has(this.key(region, group)))
      call.fail('DBParameterGroupNotFound', `DBParameterGroup not found: ${group}`);
    const major = str(input.EngineVersion, '17').split('.')[0] ?? '17';
    const instance = this.addInstance({
      id,
      region,
      status: 'creating',
      busyUntil: this.now() + this.timing.createMs,
      parameterGroup: group ?? `default.postgres${major}`,
      backupRetentionPeriod: Number(input.BackupRetentionPeriod ?? 1),
      storageEncrypted: input.StorageEncrypted === true,
      multiAz: input.MultiAZ === true,
      tags: (input.Tags as { Key: string; Value: string }[] | undefined) ?? [],
      ...(input.KmsKeyId === undefined ? {} : { kmsKeyId: str(input.KmsKeyId) }),
      ...(typeof input.Port === 'number' ? { port: input.Port } : {}),
      details: {
        DBInstanceClass: input.DBInstanceClass,
        EngineVersion: input.EngineVersion,
        AllocatedStorage: input.AllocatedStorage,
        StorageType: input.StorageType,
        MasterUsername: input.MasterUsername,
        DBName: input.DBName,
        DBSubnetGroup: { DBSubnetGroupName: input.DBSubnetGroupName },
        VpcSecurityGroups: ((input.VpcSecurityGroupIds as string[] | undefined) ?? []).map((g) => ({
          VpcSecurityGroupId: g,
          Status: 'active',
        })),
        DeletionProtection: input.DeletionProtection === true,
        PubliclyAccessible: input.PubliclyAccessible === true,
      },
    });
    const creating = this.options.onCreateInstance?.(instance, {
      username: str(input.MasterUsername, 'postgres'),
      password: str(input.MasterUserPassword),
      database: str(input.DBName, 'postgres'),
    });
    const answer = () => ({ DBInstance: this.describe(instance) });
    return creating === undefined ? answer() : creating.then(answer);
  }

  /**
   * The source's automated backups kept in the call's region too (the destination): asked there, of a source of
   * another region by its ARN.
   */
  private replicateBackups(call: SimulatorCall): unknown {
    const region = call.site.region;
    const arn = /^arn:[^:]+:rds:([^:]+):\d{12}:db:(.+)$/.exec(str(call.input.SourceDBInstanceArn));
    const source = arn === null ? undefined : this.instance(arn[1] ?? '', arn[2] ?? '');
    if (arn === null || source === undefined)
      return call.fail('DBInstanceNotFound', `DBInstance ${str(call.input.SourceDBInstanceArn)} not found.`);
    if (source.backupRetentionPeriod === 0 || source.status !== 'available')
      call.fail(
        'InvalidDBInstanceState',
        `Database instance is not in a state to replicate its backups: ${source.status}`,
      );
    const now = new Date(this.now());
    const backupsArn = `arn:aws:rds:${region}:${this.account}:auto-backup:ab-${source.id}`;
    this.addAutomatedBackup({
      region,
      arn: backupsArn,
      dbiResourceId: `db-${source.id.toUpperCase()}`,
      instanceIdentifier: source.id,
      sourceRegion: source.region,
      status: 'replicating',
      earliestTime: now,
      latestTime: now,
    });
    source.details = {
      ...source.details,
      DBInstanceAutomatedBackupsReplications: [{ DBInstanceAutomatedBackupsArn: backupsArn }],
    };
    return { DBInstanceAutomatedBackup: { DBInstanceAutomatedBackupsArn: backupsArn, Status: 'pending' } };
  }

  /**
   * A new instance from automated backups kept in the call's region (by their ARN, or the source's resource
   * id), creating until its time has run, on the groups the call names (the defaults otherwise), with its tags.
   */
  private restoreInstance(call: SimulatorCall): unknown {
    const region = call.site.region;
    const input = call.input;
    const id = str(input.TargetDBInstanceIdentifier);
    if (this.instance(region, id) !== undefined)
      call.fail('DBInstanceAlreadyExists', 'DB instance already exists');
    const backup = this.automatedBackups.find(
      (b) =>
        b.region === region &&
        (b.arn === input.SourceDBInstanceAutomatedBackupsArn ||
          b.dbiResourceId === input.SourceDbiResourceId),
    );
    if (backup === undefined)
      return call.fail('DBInstanceAutomatedBackupNotFound', 'Automated backup not found.');
    const group = input.DBParameterGroupName as string | undefined;
    const instance = this.addInstance({
      id,
      region,
      status: 'creating',
      busyUntil: this.now() + this.timing.createMs,
      parameterGroup: group ?? 'default.postgres17',
      multiAz: input.MultiAZ === true,
      tags: (input.Tags as { Key: string; Value: string }[] | undefined) ?? [],
      ...(typeof input.Port === 'number' ? { port: input.Port } : {}),
      details: {
        DBSubnetGroup: { DBSubnetGroupName: input.DBSubnetGroupName ?? 'default' },
        VpcSecurityGroups: ((input.VpcSecurityGroupIds as string[] | undefined) ?? []).map((g) => ({
          VpcSecurityGroupId: g,
          Status: 'active',
        })),
        DeletionProtection: input.DeletionProtection === true,
        PubliclyAccessible: input.PubliclyAccessible === true,
        InstanceCreateTime: new Date(this.now()),
      },
    });
    const restoring = this.options.onRestoreInstance?.(instance, backup);
    const answer = () => ({ DBInstance: this.describe(instance) });
    return restoring === undefined ? answer() : restoring.then(answer);
  }

  private createReplica(call: SimulatorCall): unknown {
    const region = call.site.region;
    const input = call.input;
    const id = str(input.DBInstanceIdentifier);
    if (this.instance(region, id) !== undefined)
      call.fail('DBInstanceAlreadyExists', 'DB instance already exists');
    const sourceRef = str(input.SourceDBInstanceIdentifier);
    const arn = /^arn:[^:]+:rds:([^:]+):\d{12}:db:(.+)$/.exec(sourceRef);
    const sourceRegion = arn?.[1] ?? region;
    const source = this.instance(sourceRegion, arn?.[2] ?? sourceRef);
    if (source === undefined) return call.fail('DBInstanceNotFound', `DBInstance ${sourceRef} not found.`);
    const crossRegion = sourceRegion !== region;
    // Only MySQL, Oracle, Db2 and Multi-AZ cluster replicas take one; every simulated instance is PostgreSQL.
    if (crossRegion && input.DBParameterGroupName !== undefined)
      call.fail(
        'InvalidParameterCombination',
        `A parameter group can't be specified during Read Replica creation for the following DB engine: postgres`,
      );
    if (crossRegion && source.storageEncrypted && input.KmsKeyId === undefined)
      call.fail(
        'InvalidParameterCombination',
        'Cross region replica of an encrypted instance needs a KmsKeyId',
      );
    if (!crossRegion && input.KmsKeyId !== undefined)
      call.fail('InvalidParameterCombination', 'Your request does not require the KMS key parameter.');
    if (source.backupRetentionPeriod === 0 || source.status !== 'available')
      call.fail(
        'InvalidDBInstanceState',
        source.backupRetentionPeriod === 0
          ? 'Automated backups are not enabled for this database instance. To enable automated backups, use ModifyDBInstance to set the backup retention period to a non-zero value.'
          : `Database instance is not in available state: ${source.status}`,
      );
    const replica = this.addInstance({
      id,
      region,
      status: 'creating',
      busyUntil: this.now() + this.timing.createMs,
      // A cross-region replica starts on the engine's default group.
      parameterGroup: crossRegion ? 'default.postgres17' : source.parameterGroup,
      backupRetentionPeriod: 0,
      storageEncrypted: source.storageEncrypted,
      multiAz: input.MultiAZ === true,
      source: this.arn(sourceRegion, source.id),
      tags: (input.Tags as { Key: string; Value: string }[] | undefined) ?? [],
      ...(input.KmsKeyId === undefined ? {} : { kmsKeyId: str(input.KmsKeyId) }),
      ...(typeof input.Port === 'number' ? { port: input.Port } : {}),
    });
    const creating = this.options.onCreateReplica?.(replica);
    return creating === undefined
      ? { DBInstance: this.describe(replica) }
      : creating.then(() => ({ DBInstance: this.describe(replica) }));
  }
}
