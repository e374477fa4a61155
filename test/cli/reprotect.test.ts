import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { runCli } from '../../lib/cli/program';
import type { ReprotectIo } from '../../lib/cli/reprotect-command';
import type { Topology } from '../../lambdas/shared/topology';
import { topologyParameterNames } from '../../lambdas/shared/topology-parameters';
import { followingIo, stackOutputs } from '../support/cli';
import { parameterStore } from '../support/parameter-store';

const SM_ARN = 'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-dr-rebuild';
const DNS = {
  hostedZoneId: 'Z0123',
  recordName: 'db.example.org',
  secondarySetIdentifier: 'db.example.org-secondary',
};
const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);

/** The topology a region failover leaves: the promoted replica writes, with no replica of its own. */
const FAILED_OVER: Topology = {
  generation: 2,
  writer: {
    region: 'us-east-1',
    instanceIdentifier: 'pg-dr-replica',
    endpoint: 'r.us-east-1.rds.amazonaws.com',
  },
  replica: null,
  retired: [
    { region: 'us-west-2', instanceIdentifier: 'pg-dr-primary', endpoint: 'p.us-west-2.rds.amazonaws.com' },
  ],
  changedBy: 'arn:aws:states:us-east-1:111122223333:execution:pg-dr-region-failover:f1',
};

async function dr(argv: string[], topology: Topology = FAILED_OVER) {
  parameterStore({ [topologyParameterNames('pg-dr').document]: JSON.stringify(topology) });
  const { io, written, cli } = followingIo('2026-11-30T18:00:00Z');
  const reprotectIo: ReprotectIo = { ...io, ssm: new SSMClient({ region: 'us-east-1' }) };
  const code = await runCli(argv, cli({ reprotectIo: () => reprotectIo }));
  return { code, ...written };
}

beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
  stackOutputs(cloudFormation, { DrRebuildStateMachineArn: SM_ARN, DrRebuildDnsInput: JSON.stringify(DNS) });
  sfn.on(StartExecutionCommand).resolves({ executionArn: `${SM_ARN}:x`, startDate: new Date() });
  sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
  sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', output: '{}' } as never);
  sfn.on(ListExecutionsCommand).resolves({ executions: [] });
});

/** A DR rebuild running now, building `replica` for `source`. */
function running(name: string, source: string, replica: string) {
  const executionArn = `${SM_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
  sfn.on(ListExecutionsCommand).resolves({
    executions: [{ executionArn, name, stateMachineArn: SM_ARN, status: 'RUNNING', startDate: new Date() }],
  });
  const input = JSON.stringify({
    sourceInstanceIdentifier: source,
    replicaInstanceIdentifier: replica,
    dns: DNS,
  });
  // Running when listed; it ends (succeeded) while it is followed.
  sfn
    .on(DescribeExecutionCommand, { executionArn })
    .resolvesOnce({ executionArn, status: 'RUNNING', input } as never)
    .resolves({ executionArn, status: 'SUCCEEDED', input, output: '{}' } as never);
  return executionArn;
}

describe('dr reprotect', () => {
  it('starts the DR rebuild for the writer the topology names, with a replica identifier of its generation', async () => {
    const { code, out } = await dr(['reprotect', '--region', 'us-east-1']);
    expect(code).toBe(0);
    const started = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(started?.stateMachineArn).toBe(SM_ARN);
    expect(started?.name).toMatch(/^reprotect-20261130-1800-[0-9a-f]{12}$/);
    expect(JSON.parse(started?.input ?? '{}')).toEqual({
      sourceInstanceIdentifier: 'pg-dr-replica',
      replicaInstanceIdentifier: 'pg-dr-replica-g2',
      dns: DNS,
    });
    expect(out).toContain('It builds pg-dr-replica-g2, a replica of pg-dr-replica (in us-east-1)');
    expect(out).toContain('Execution SUCCEEDED.');
  });

  it('takes --replica-id, and refuses one that is no RDS identifier or names a database of the topology (exit 2)', async () => {
    expect((await dr(['reprotect', '--replica-id', 'home-db-2'])).code).toBe(0);
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}')).toMatchObject(
      {
        replicaInstanceIdentifier: 'home-db-2',
      },
    );
    sfn.resetHistory();
    for (const [id, message] of [
      ['Home DB', 'is not an RDS instance identifier'],
      ['pg-dr-primary', 'already names a database of the topology (in us-west-2)'],
    ] as const) {
      const { code, err } = await dr(['reprotect', '--replica-id', id]);
      expect(code).toBe(2);
      expect(err).toContain(message);
    }
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses when the writer already has a replica, starting nothing, unless it is the one being built', async () => {
    const protectedTopology: Topology = {
      ...FAILED_OVER,
      replica: {
        region: 'us-west-2',
        instanceIdentifier: 'home-db-2',
        endpoint: 'h.us-west-2.rds.amazonaws.com',
      },
    };
    const refused = await dr(['reprotect'], protectedTopology);
    // A refusal of the current state, not of the command line.
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('already has a replica, home-db-2 in us-west-2');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    // Following (or finishing) the rebuild of that very replica is allowed.
    expect((await dr(['reprotect', '--replica-id', 'home-db-2'], protectedTopology)).code).toBe(0);
  });

  it('follows a DR rebuild of the same writer that runs already (run again, or the one a migration started), starting none', async () => {
    running('migrate-7', 'pg-dr-replica', 'pg-dr-replica-dr');
    const { code, out } = await dr(['reprotect']);
    expect(code).toBe(0);
    expect(out).toContain(
      'DR rebuild migrate-7 already builds pg-dr-replica-dr for pg-dr-replica: following it',
    );
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses while a DR rebuild of another writer, or of another replica, runs: a second replica is never built', async () => {
    running('migrate-8', 'green', 'green-dr');
    const other = await dr(['reprotect']);
    expect(other.code).toBe(1);
    expect(other.err).toContain('DR rebuild migrate-8 is running (building green-dr for green)');
    running('reprotect-9', 'pg-dr-replica', 'pg-dr-replica-g2');
    expect((await dr(['reprotect', '--replica-id', 'home-db-3'])).code).toBe(1);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('says the rebuild goes on when following stops (RDS may take hours), and how to follow it again', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' } as never);
    const { code, out } = await dr(['reprotect', '--timeout', '60000']);
    expect(code).toBe(1);
    expect(out).toContain('Still running (');
    expect(out).toContain('run dr reprotect again to follow it');
  });
});
