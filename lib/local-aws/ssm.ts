/**
 * SIMULATED Systems Manager Parameter Store, following the catalogue (lib/local-aws/catalogue/ssm.ts):
 * String parameters per region, a version per write, PutParameter refusing an existing parameter unless
 * Overwrite is true.
 */
import type { Simulator, SimulatorCall } from './world';
import { str } from './input';

interface SimulatedParameter {
  readonly value: string;
  readonly version: number;
}

export class SsmSimulator implements Simulator {
  readonly service = 'ssm' as const;
  readonly label = 'SIMULATED Parameter Store';
  private readonly parameters = new Map<string, SimulatedParameter>();

  private key = (region: string, name: string) => `${region}|${name}`;

  /** A parameter's value in a region, as CloudFormation's `{{resolve:ssm:name}}` reads it. */
  value(region: string, name: string): string | undefined {
    return this.parameters.get(this.key(region, name))?.value;
  }

  /** Writes a parameter directly (what an operator or CloudFormation writes outside the code under test). */
  put(region: string, name: string, value: string, overwrite: boolean): 'written' | 'exists' {
    const existing = this.parameters.get(this.key(region, name));
    if (existing !== undefined && !overwrite) return 'exists';
    this.parameters.set(this.key(region, name), { value, version: (existing?.version ?? 0) + 1 });
    return 'written';
  }

  handle(call: SimulatorCall): unknown {
    const name = str(call.input.Name);
    const region = call.site.region;
    switch (call.operation) {
      case 'GetParameter': {
        const found = this.parameters.get(this.key(region, name));
        if (found === undefined)
          return call.fail(
            'ParameterNotFound',
            "The parameter couldn't be found. Verify the name and try again.",
          );
        return {
          Parameter: {
            Name: name,
            Type: 'String',
            Value: found.value,
            Version: found.version,
            ARN: `arn:aws:ssm:${region}:${call.site.account}:parameter/${name.replace(/^\//, '')}`,
            DataType: 'text',
          },
        };
      }
      case 'PutParameter': {
        const written = this.put(region, name, str(call.input.Value), call.input.Overwrite === true);
        if (written === 'exists')
          return call.fail(
            'ParameterAlreadyExists',
            "The parameter already exists. You can't create duplicate parameters.",
          );
        return { Version: this.parameters.get(this.key(region, name))?.version, Tier: 'Standard' };
      }
      default:
        throw new Error(`${this.label}: ${call.operation} is catalogued but not simulated`);
    }
  }
}
