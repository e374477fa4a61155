import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { DrConfig } from '../config';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { BlueGreenSteps } from '../constructs/blue-green-steps';
import { BlueGreenWorkflow } from '../constructs/blue-green-workflow';
import type { ReplicaDatabase } from '../constructs/replica-database';
import { drNames } from '../names';
import type { RegionalNetwork } from '../constructs/regional-network';

export interface OrchestrationStackProps extends StackProps {
  readonly config: DrConfig;
  /** The network of the orchestration region (the secondary by default). */
  readonly network: RegionalNetwork;
  /** Keys that encrypt database secrets in this region. */
  readonly secretKeys: readonly kms.IKey[];
  /** On-call topic in this region. */
  readonly onCallTopic: sns.ITopic;
  /** The DR replica of the topology: a rebuilt replica of green gets the same placement. */
  readonly replica: ReplicaDatabase;
}

/** Recovery tooling, in the region that survives losing the primary: the blue-green migration steps. */
export class OrchestrationStack extends Stack {
  readonly blueGreenSteps: BlueGreenSteps;
  readonly blueGreenWorkflow: BlueGreenWorkflow;

  constructor(scope: Construct, id: string, props: OrchestrationStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.blueGreenSteps = new BlueGreenSteps(this, 'BlueGreenSteps', {
      network: props.network,
      toolingSecurityGroup: props.network.recoveryToolingSecurityGroup,
      migrationsDirectory: config.migrationsDirectory,
      secretNamePrefix: config.blueGreen.secretNamePrefix,
      secretKeys: props.secretKeys,
      hostedZoneId: config.hostedZoneId,
      recordName: config.recordName,
      drReplicaPlacement: {
        account: config.account,
        sourceRegion: config.primaryRegion,
        replicaRegion: config.secondaryRegion,
        subnetGroupName: props.replica.subnetGroupName,
        securityGroupId: props.replica.securityGroup.securityGroupId,
        parameterGroupName: props.replica.parameterGroupName,
        kmsKeyArn: props.replica.key.keyArn,
        multiAz: config.database.multiAz,
        port: config.database.port,
      },
    });
    const names = drNames(config);
    this.blueGreenWorkflow = new BlueGreenWorkflow(this, 'BlueGreenWorkflow', {
      steps: this.blueGreenSteps,
      onCallTopic: props.onCallTopic,
      stateMachineName: names.blueGreenStateMachine,
      alarmName: names.alarms.migrationFailed,
    });
    new CfnOutput(this, 'BlueGreenStateMachineArn', {
      value: this.blueGreenWorkflow.stateMachine.stateMachineArn,
      description: 'Start blue-green migrations here (dr migrate finds it by this output)',
    });
    for (const [name, fn] of Object.entries(this.blueGreenSteps.functions)) {
      new CfnOutput(this, `${name}FunctionName`, {
        value: fn.functionName,
        description: `Blue-green step ${name}`,
      });
    }
  }
}
