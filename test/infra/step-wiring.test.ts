import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { stepWiring } from '../../lib/constructs/workflow-state-machine';

describe('step wiring, read from the ASL file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-dr-asl-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const stack = new Stack(new App(), 'Wiring', { env: { account: '111122223333', region: 'us-east-1' } });
  const fn = (name: string) =>
    lambda.Function.fromFunctionArn(stack, name, `arn:aws:lambda:us-east-1:111122223333:function:${name}`);
  const asl = (resources: string[]) => {
    const file = join(dir, `${resources.join('-') || 'none'}.asl.json`);
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
    writeFileSync(file, JSON.stringify({ StartAt: 'S0', States: states }));
    return file;
  };

  it('gives each Task placeholder its function and grants only those', () => {
    const wired = stepWiring(asl(['CheckFunctionArn', 'S3ProbeFunctionArn', 'CheckFunctionArn']), {
      Check: fn('check'),
      S3Probe: fn('s3probe'),
    });
    expect(Object.keys(wired.substitutions).sort()).toEqual(['CheckFunctionArn', 'S3ProbeFunctionArn']);
    expect(wired.steps).toHaveLength(2);
  });

  it('stops synth on a placeholder no function answers, and on a function no Task names', () => {
    expect(() => stepWiring(asl(['NewStepFunctionArn']), {})).toThrow(
      'no step function for ${NewStepFunctionArn}',
    );
    expect(() => stepWiring(asl(['CheckFunctionArn']), { Check: fn('c2'), Forgotten: fn('f') })).toThrow(
      'step function(s) Forgotten named by no Task',
    );
  });
});
