import {
  GetParameterCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
  type PutParameterCommandInput,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';

const ssm = mockClient(SSMClient);

/** Parameter Store as far as the topology uses it: GetParameter and PutParameter (Overwrite honoured). */
export function parameterStore(initial: Record<string, string>) {
  const values = new Map(Object.entries(initial));
  const puts: PutParameterCommandInput[] = [];
  ssm.reset();
  ssm.on(GetParameterCommand).callsFake((input: { Name: string }) => {
    const value = values.get(input.Name);
    if (value === undefined) throw new ParameterNotFound({ message: 'Parameter not found', $metadata: {} });
    return { Parameter: { Name: input.Name, Value: value, Type: 'String' } };
  });
  ssm.on(PutParameterCommand).callsFake((input: PutParameterCommandInput) => {
    if (values.has(input.Name ?? '') && input.Overwrite !== true)
      throw new ParameterAlreadyExists({ message: 'The parameter already exists.', $metadata: {} });
    puts.push(input);
    values.set(input.Name ?? '', input.Value ?? '');
    return { Version: puts.length };
  });
  return { values, puts };
}
