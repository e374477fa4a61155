/**
 * What the `dr` command tests share: a following command's clients on a fake clock (its sleeps advance the
 * clock, so a follow loop runs at once), the captured output, and a deployed stack's outputs.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type CloudFormationClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { AwsStub } from 'aws-sdk-client-mock';
import type { CliIo } from '../../lib/cli/program';

/** The clients every command that follows an execution takes, the output it writes, and a fake clock. */
export function followingIo(startIso: string) {
  const written = { out: '', err: '' };
  let clock = Date.parse(startIso);
  const io = {
    out: (t: string) => (written.out += t),
    sfn: new SFNClient({ region: 'us-east-1' }),
    cloudFormation: new CloudFormationClient({ region: 'us-east-1' }),
    now: () => clock,
    sleep: (ms: number) => {
      clock += ms;
      return Promise.resolve();
    },
  };
  const cli = (clients: Partial<CliIo>): CliIo => ({
    out: (t) => (written.out += t),
    err: (t) => (written.err += t),
    env: {},
    ...clients,
  });
  return { io, written, cli };
}

/** DescribeStacks answers `outputs` for the stack (the orchestration stack by default). */
export function stackOutputs(
  cloudFormation: AwsStub<ServiceInputTypes, ServiceOutputTypes, CloudFormationClientResolvedConfig>,
  outputs: Readonly<Record<string, string>>,
  stack = 'pg-dr-orchestration',
): void {
  cloudFormation.on(DescribeStacksCommand, { StackName: stack }).resolves({
    Stacks: [
      {
        StackName: stack,
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
}
