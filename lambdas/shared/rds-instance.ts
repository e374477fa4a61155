import { DescribeDBInstancesCommand, type DBInstance, type RDSClient } from '@aws-sdk/client-rds';

/** The instance, or undefined when RDS has none of that identifier. */
export async function describeInstance(
  rds: Pick<RDSClient, 'send'>,
  identifier: string,
): Promise<DBInstance | undefined> {
  try {
    const found = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }));
    return found.DBInstances?.[0];
  } catch (error) {
    if ((error as { name?: string }).name === 'DBInstanceNotFoundFault') return undefined;
    throw error;
  }
}
