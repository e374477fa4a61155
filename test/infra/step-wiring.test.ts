import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { stepWiring } from '../../lib/constructs/workflow-state-machine';

describe('step wiring, read from the ASL file', () => {
  const stack = new Stack(new App(), 'Wiring', { env: { account: '111122223333', region: 'us-east-1' } });
  const fn = (name: string) =>
    lambda.Function.fromFunctionArn(stack, name, `arn:aws:lambda:us-east-1:111122223333:function:${name}`);
  const asl = (resources: string[]) => {
    const states = Object.fromEntries(
      resources.map((r, i) => [
        `S${i}`,
        {
          Type: 'Task',
          Resource: `\${${r}}`,
          ...(i < resources.length - 1 ? { Next: `S${i + 1}` } : { End: true }),
        },
      ]),
    );
    return JSON.stringify({ StartAt: 'S0', States: states });
  };

  it('gives each Task placeholder its function and grants only those', () => {
    const wired = stepWiring(
      'probe.asl.json',
      asl(['CheckFunctionArn', 'S3ProbeFunctionArn', 'CheckFunctionArn']),
      {
        Check: fn('check'),
        S3Probe: fn('s3probe'),
      },
    );
    expect(Object.keys(wired.substitutions).sort()).toEqual(['CheckFunctionArn', 'S3ProbeFunctionArn']);
    expect(wired.steps).toHaveLength(2);
  });

  it('stops synth on a placeholder no function answers, and on a function no Task names', () => {
    expect(() => stepWiring('probe.asl.json', asl(['NewStepFunctionArn']), {})).toThrow(
      'no step function for ${NewStepFunctionArn}',
    );
    expect(() =>
      stepWiring('probe.asl.json', asl(['CheckFunctionArn']), { Check: fn('c2'), Forgotten: fn('f') }),
    ).toThrow('step function(s) Forgotten named by no Task');
  });
});
