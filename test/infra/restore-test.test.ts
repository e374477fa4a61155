import { Match, Template } from 'aws-cdk-lib/assertions';
import { RESTORE_TEST_METRICS } from '../../lambdas/shared/metric-names';
import { THROWAWAY_MAX_HOURS } from '../../lambdas/restore-test/throwaways';
import { drNames } from '../../lib/names';
import { workflowDefinition } from '../../lib/workflow-definition';
import { testWorld } from '../support/world';
import { synthApp, testConfig } from './test-config';

const CONFIG = testConfig();
const NAMES = drNames(CONFIG);
const DR = CONFIG.secondaryRegion;
const ACCOUNT = CONFIG.account;
const db = (id: string) => `arn:aws:rds:${DR}:${ACCOUNT}:db:${id}`;
const TAGGED = { 'aws:RequestTag/pg-dr:role': 'restore-test', 'aws:TagKeys': ['pg-dr:role'] };

describe('the restore test as deployed (DR region stack)', () => {
  const { stacks } = synthApp();
  const template = Template.fromStack(stacks.secondary);

  it('runs monthly by default in the DR region, on the configured schedule', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: NAMES.restoreTestSchedule,
      ScheduleExpression: 'cron(0 5 1 * ? *)',
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('^RestoreTestStateMachine') } })],
    });
    const other = Template.fromStack(
      synthApp({ backups: { restoreTest: { schedule: 'rate(7 days)' } } }).stacks.secondary,
    );
    other.hasResourceProperties('AWS::Events::Rule', {
      Name: NAMES.restoreTestSchedule,
      ScheduleExpression: 'rate(7 days)',
    });
  });

  it('pages on a failed test, on no passing test for 35 days, on a stale backup, and when the status cannot tell', () => {
    const alarm = (name: string) =>
      template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: name } });
    expect(Object.values(alarm(NAMES.alarms.restoreTestStale))[0]).toMatchObject({
      Properties: {
        MetricName: RESTORE_TEST_METRICS.hoursSinceSuccess,
        Dimensions: [{ Name: 'service', Value: 'dr-restore-test' }],
        Threshold: 35 * 24,
        ComparisonOperator: 'GreaterThanThreshold',
      },
    });
    expect(Object.values(alarm(NAMES.alarms.backupStale))[0]).toMatchObject({
      Properties: {
        MetricName: RESTORE_TEST_METRICS.backupAge,
        Threshold: 120 * 60,
        TreatMissingData: 'breaching',
      },
    });
    for (const name of [NAMES.alarms.restoreTestFailed, NAMES.alarms.backupStatusUnknown])
      expect(Object.values(alarm(name))).toHaveLength(1);
  });

  it('deletes the throwaway on every path: each step’s failure records the outcome, then deletes, retrying while RDS is busy', () => {
    const { States } = workflowDefinition('restore-test.asl.json') as {
      States: Record<
        string,
        { Type: string; Catch?: { ErrorEquals: string[]; Next: string }[]; Next?: string; Default?: string }
      >;
    };
    const catchAll = (name: string) =>
      States[name]?.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'))?.Next;
    for (const step of ['StartRestore', 'AdvanceRestore', 'CheckRestored'])
      expect([step, catchAll(step)]).toEqual([step, 'FailedOutcome']);
    // The failures that are not step errors go there too.
    expect(States.OutOfRounds?.Next).toBe('FailedOutcome');
    expect(States.ChecksFailed?.Next).toBe('FailedOutcome');
    // Recording the outcome never stands in the deletion's way.
    expect([catchAll('RecordPassed'), States.RecordPassed?.Next]).toEqual(['PassedOutcome', 'PassedOutcome']);
    expect([catchAll('RecordFailed'), States.RecordFailed?.Next]).toEqual([
      'StartDeleteRounds',
      'StartDeleteRounds',
    ]);
    expect(States.PassedOutcome?.Next).toBe('StartDeleteRounds');
    // RDS busy with the instance: another round; anything else, or out of rounds: the execution fails (and pages).
    expect(States.DeleteThrowaway?.Catch).toEqual([
      {
        ErrorEquals: ['RdsRetryable', 'States.Timeout'],
        ResultPath: '$.deleteError',
        Next: 'CountDeleteRound',
      },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.deleteError', Next: 'NotDeleted' },
    ]);
    expect(States.DeleteThrowaway?.Next).toBe('DidTestPass');
    expect(States.IsOutOfDeleteRounds?.Default).toBe('WaitToDelete');
  });

  it('sweeps a throwaway only once its execution must have ended (the machine’s timeout and an hour)', () => {
    const { TimeoutSeconds } = workflowDefinition('restore-test.asl.json') as { TimeoutSeconds: number };
    expect(THROWAWAY_MAX_HOURS * 3600).toBe(TimeoutSeconds + 3600);
  });

  describe('its roles may restore and delete only throwaway instances (IAM evaluated)', () => {
    const world = testWorld();
    afterAll(() => {
      world.close();
    });
    const machine = NAMES.restoreTestStateMachine;
    const arn = world.substitutions(machine).RestoreTestFunctionArn ?? '';
    const principal = world.iam.principalOfArn(arn);
    const site = { region: DR, account: ACCOUNT, partition: 'aws' };
    const allows = (action: string, resource: string, context: Record<string, string | string[]> = {}) =>
      principal === undefined
        ? Promise.reject(new Error('no restore-test step in the app'))
        : world.iam.allows(principal, { action, resources: [resource], context }, site);

    it('restores into a throwaway name only with the throwaway tag', async () => {
      expect(
        await allows('rds:RestoreDBInstanceToPointInTime', db('pg-dr-restore-test-20261201t0500'), TAGGED),
      ).toBe(true);
      expect(await allows('rds:AddTagsToResource', db('pg-dr-restore-test-20261201t0500'), TAGGED)).toBe(
        true,
      );
      expect(await allows('rds:RestoreDBInstanceToPointInTime', db('pg-dr-restore-test-20261201t0500'))).toBe(
        false,
      );
      expect(
        await allows('rds:RestoreDBInstanceToPointInTime', db('pg-dr-restore-test-x'), {
          'aws:RequestTag/pg-dr:role': 'dr-replica',
          'aws:TagKeys': ['pg-dr:role'],
        }),
      ).toBe(false);
      // Over a production name, even tagged: never.
      expect(
        await allows('rds:AddTagsToResource', db(CONFIG.database.replicaInstanceIdentifier), TAGGED),
      ).toBe(false);
      const primary = db(CONFIG.database.primaryInstanceIdentifier);
      expect(await allows('rds:RestoreDBInstanceToPointInTime', primary, TAGGED)).toBe(false);
      expect(await allows('rds:RestoreDBInstanceToPointInTime', db('anything-else'), TAGGED)).toBe(false);
    });

    it('the hourly status deletes only a tagged throwaway, and restores nothing', async () => {
      const statusArn = world.app
        .resources('AWS::Lambda::Function')
        .filter(({ resource }) =>
          String(resource.Metadata?.['pg-dr:entry']).endsWith('restore-test/status-handler.ts'),
        )
        .map(({ stack, logicalId }) =>
          String(world.app.resolve(stack, { 'Fn::GetAtt': [logicalId, 'Arn'] })),
        )[0];
      const status = world.iam.principalOfArn(statusArn ?? '');
      if (status === undefined) throw new Error('no backup status function in the app');
      const may = (action: string, resource: string, context: Record<string, string | string[]>) =>
        world.iam.allows(status, { action, resources: [resource], context }, site);
      const tagged = { 'aws:ResourceTag/pg-dr:role': 'restore-test' };
      expect(await may('rds:DeleteDBInstance', db('pg-dr-restore-test-20261101t0500-aaaaaa'), tagged)).toBe(
        true,
      );
      expect(await may('rds:DeleteDBInstance', db(CONFIG.database.replicaInstanceIdentifier), tagged)).toBe(
        false,
      );
      expect(await may('rds:DeleteDBInstance', db('pg-dr-restore-test-handmade'), {})).toBe(false);
      expect(await may('rds:RestoreDBInstanceToPointInTime', db('pg-dr-restore-test-x'), TAGGED)).toBe(false);
    });

    it('deletes an instance only when it has the throwaway name and carries the throwaway tag', async () => {
      const tagged = { 'aws:ResourceTag/pg-dr:role': 'restore-test' };
      expect(await allows('rds:DeleteDBInstance', db('pg-dr-restore-test-20261201t0500'), tagged)).toBe(true);
      expect(await allows('rds:DeleteDBInstance', db('pg-dr-restore-test-handmade'))).toBe(false);
      expect(
        await allows('rds:DeleteDBInstance', db(CONFIG.database.replicaInstanceIdentifier), tagged),
      ).toBe(false);
      expect(
        await allows('rds:DeleteDBInstance', db(CONFIG.database.primaryInstanceIdentifier), tagged),
      ).toBe(false);
      expect(await allows('rds:ModifyDBInstance', db('pg-dr-restore-test-20261201t0500'), tagged)).toBe(
        false,
      );
    });
  });
});
