import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { UsageError } from './database-url';

/**
 * A deployed stack's output, as the commands find what they act on (a state machine, an activity, a health
 * check). A missing one is a usage error: `remedy` says what to do instead (deploy the app, or the flag that
 * names it directly).
 */
export async function stackOutput(
  cloudFormation: Pick<CloudFormationClient, 'send'>,
  stack: string,
  key: string,
  remedy: string,
): Promise<string> {
  const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stack }));
  const value = Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
  if (value === undefined) throw new UsageError(`stack ${stack} has no ${key} output${remedy}`);
  return value;
}
