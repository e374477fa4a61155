import { CutoverError } from '../../../lambdas/cutover/cutover';
import { DnsFlipError } from '../../../lambdas/dns-flip/flip';
import { DrillError, ReplicationProbeError } from '../../../lambdas/drill/errors';
import { ThroughRecordError } from '../../../lambdas/drill/through-record';
import { DrReplicaError } from '../../../lambdas/dr-replica/replica';
import { RoutableError } from '../../../lambdas/shared/routable-error';
import { runStep, StepError, stepInstrumentation, toStepError } from '../../../lambdas/shared/step';

describe('routable step errors', () => {
  it('every step error class is one RoutableError whose name is the error type a Catch matches', () => {
    const errors = [
      new CutoverError('GreenDiverged', 'differs'),
      new DnsFlipError('RecordNotFound', 'no record'),
      new DrillError('FailoverNotObserved', 'not seen'),
      new ReplicationProbeError('S3ObjectNotReplicated', 'late'),
      new ThroughRecordError('PrimaryNotServed', 'down'),
      new DrReplicaError('DrReplicaConflict', 'taken'),
    ];
    for (const error of errors) {
      expect(error).toBeInstanceOf(RoutableError);
      const step = toStepError(error);
      expect(step).toBeInstanceOf(StepError);
      expect([step.name, step.message]).toEqual([error.name, error.message]);
    }
  });

  it('keeps the original error as the cause, down to what it wrapped', () => {
    const socket = new Error('read ECONNRESET');
    const step = toStepError(new CutoverError('CatchUpTimeout', 'green did not apply', { cause: socket }));
    expect(step.cause).toBeInstanceOf(CutoverError);
    expect((step.cause as Error).cause).toBe(socket);
  });

  it('drops the cause when the message needed redacting (the cause would carry the secret)', () => {
    const step = toStepError(new DnsFlipError('Route53Unavailable', 'GET https://h/p?token=abc failed'));
    expect(step.message).toBe('GET https://h/p?token=*** failed');
    expect(step.cause).toBeUndefined();
  });

  it('routes a step error thrown by the core through runStep without a catch block of its own', async () => {
    const failure = await runStep(stepInstrumentation('test-step'), () =>
      Promise.reject(new CutoverError('FenceBypassable', 'a prepared transaction')),
    ).catch((e: unknown) => e);
    expect(failure).toMatchObject({ name: 'FenceBypassable', message: 'a prepared transaction' });
  });
});
