import { commonErrors, error, row, type ServiceEntry } from './types';
import { str } from '../input';

const API = 'https://docs.aws.amazon.com/step-functions/latest/apireference';
const DG = 'https://docs.aws.amazon.com/step-functions/latest/dg';
const arnOf = (field: string) => (input: Record<string, unknown>) => [str(input[field])];

const NO_EXECUTION = (op: string) =>
  error(
    `states.${op}.no-execution`,
    'ExecutionDoesNotExist',
    400,
    'No execution has that ARN (or its history is past the 90-day retention).',
    `${API}/API_${op}.html`,
    'ExecutionDoesNotExist: The specified execution does not exist. HTTP Status Code: 400',
  );
const NO_MACHINE = (op: string) =>
  error(
    `states.${op}.no-state-machine`,
    'StateMachineDoesNotExist',
    400,
    'No state machine has that ARN.',
    `${API}/API_${op}.html`,
    'StateMachineDoesNotExist: The specified state machine does not exist. HTTP Status Code: 400',
  );

export const STEP_FUNCTIONS: ServiceEntry = {
  service: 'states',
  title: 'AWS Step Functions',
  global: false,
  accessDenied: error(
    'states.access-denied',
    'AccessDeniedException',
    400,
    'A call IAM does not allow fails with AccessDeniedException, HTTP 400.',
    `${API}/CommonErrors.html`,
    'AccessDeniedException: You do not have sufficient access to perform this action. HTTP Status Code: 400',
  ),
  throttling: error(
    'states.throttling',
    'ThrottlingException',
    400,
    'Over the API token bucket (ListExecutions refills 2-5 per second): ThrottlingException.',
    `${DG}/service-quotas.html`,
    'API action throttling quotas ... ListExecutions ... bucket size 100-200, refill rate 2-5 per second',
  ),
  common: commonErrors('states', `${API}/CommonErrors.html`),
  operations: [
    {
      service: 'states',
      operation: 'ListExecutions',
      calledBy: [
        'lambdas/blue-retirement/instance-handler.ts',
        'lib/cli/way-back-commands.ts',
        'lambdas/blue-retirement/way-back-handler.ts',
        'lambdas/drill/steps/preflight-handler.ts',
        'lambdas/drill/steps/freshness-handler.ts',
        'lambdas/safety-net/drill-handler.ts',
        'lambdas/safety-net/migration-handler.ts',
        'lambdas/failover/control-handler.ts',
        'lib/cli/drill-command.ts',
      ],
      reference: `${API}/API_ListExecutions.html`,
      iam: (input) => [{ action: 'states:ListExecutions', resources: arnOf('stateMachineArn')(input) }],
      relies: [
        row(
          'states.ListExecutions.newest-first',
          'Newest first, filtered by status, up to maxResults (default 100) per page; best effort: a just-started execution may be missing.',
          `${API}/API_ListExecutions.html`,
          'Results are sorted by time, with the most recent execution first. ... The results are best effort and may not reflect very recent updates and changes.',
        ),
      ],
      errors: [NO_MACHINE('ListExecutions')],
    },
    {
      service: 'states',
      operation: 'DescribeExecution',
      calledBy: [
        'lambdas/blue-retirement/instance-handler.ts',
        'lib/cli/way-back-commands.ts',
        'lib/cli/follow-execution.ts',
        'lib/cli/drill-command.ts',
        'lambdas/safety-net/migration-handler.ts',
      ],
      reference: `${API}/API_DescribeExecution.html`,
      iam: (input) => [{ action: 'states:DescribeExecution', resources: arnOf('executionArn')(input) }],
      relies: [
        row(
          'states.DescribeExecution.fields',
          'Returns status, input, output (set only on success), error and cause.',
          `${API}/API_DescribeExecution.html`,
          'output: The JSON output data of the execution. ... This field is set only if the execution succeeds. If the execution fails, this field is null.',
        ),
      ],
      errors: [NO_EXECUTION('DescribeExecution')],
    },
    {
      service: 'states',
      operation: 'GetExecutionHistory',
      calledBy: [
        'lib/cli/way-back-commands.ts',
        'lambdas/safety-net/drill-handler.ts',
        'lambdas/safety-net/migration-handler.ts',
        'lib/cli/follow-execution.ts',
      ],
      reference: `${API}/API_GetExecutionHistory.html`,
      iam: (input) => [{ action: 'states:GetExecutionHistory', resources: arnOf('executionArn')(input) }],
      relies: [
        row(
          'states.GetExecutionHistory.events',
          'Events in time order (reverseOrder for newest first), up to 1,000 per page with nextToken; a state entered is <Type>StateEntered with stateEnteredEventDetails.name. A Task whose Resource is a Lambda function ARN records LambdaFunctionScheduled, LambdaFunctionStarted, then LambdaFunctionSucceeded, LambdaFunctionFailed or LambdaFunctionTimedOut; a service integration (sns:publish, states:startExecution) records TaskScheduled, TaskStarted, then TaskSucceeded or TaskFailed. Readers must know both.',
          `${API}/API_HistoryEvent.html`,
          'lambdaFunctionScheduledEventDetails: Contains details about a Lambda function scheduled during an execution. ... taskScheduledEventDetails: Contains details about a task scheduled during an execution.',
        ),
        row(
          'states.GetExecutionHistory.lambda-keeps-running',
          'A stopped or timed-out execution does not stop a Lambda task already running: it finishes on its own (up to the function timeout).',
          `${DG}/state-parallel.html`,
          'When a parallel state fails, invoked Lambda functions continue to run ... Running Lambda functions cannot be stopped.',
        ),
      ],
      errors: [NO_EXECUTION('GetExecutionHistory')],
    },
    {
      service: 'states',
      operation: 'StartExecution',
      calledBy: [
        'lib/cli/way-back-commands.ts',
        'lib/cli/drill-command.ts',
        'lib/cli/migrate-command.ts',
        'statemachines/blue-green-migration.asl.json',
        'lib/constructs/migration-safety-net.ts',
      ],
      reference: `${API}/API_StartExecution.html`,
      iam: (input) => [{ action: 'states:StartExecution', resources: arnOf('stateMachineArn')(input) }],
      relies: [
        row(
          'states.StartExecution.idempotent',
          'Same name and input as a RUNNING execution: succeeds with that execution. A closed one, or other input: ExecutionAlreadyExists. Names are unique for 90 days, 1-80 characters.',
          `${API}/API_StartExecution.html`,
          'If you call StartExecution with the same name and input as a running execution, the call succeeds and return the same response as the original request. If the execution is closed or if the input is different, it returns a 400 ExecutionAlreadyExists error.',
        ),
      ],
      errors: [
        error(
          'states.StartExecution.already-exists',
          'ExecutionAlreadyExists',
          400,
          'An execution of that name exists with other input, or has closed.',
          `${API}/API_StartExecution.html`,
          'ExecutionAlreadyExists: The execution has the same name as another execution (but a different input).',
        ),
        NO_MACHINE('StartExecution'),
        error(
          'states.StartExecution.invalid-name',
          'InvalidName',
          400,
          'The name is longer than 80 characters or holds a character Step Functions refuses.',
          `${API}/API_StartExecution.html`,
          'InvalidName: The provided name is not valid.',
        ),
      ],
    },
    {
      service: 'states',
      operation: 'StopExecution',
      calledBy: [
        'lambdas/blue-retirement/instance-handler.ts',
        'lib/cli/way-back-commands.ts',
        'statemachines/failover-drill.asl.json',
      ],
      reference: `${API}/API_StopExecution.html`,
      iam: (input) => [{ action: 'states:StopExecution', resources: arnOf('executionArn')(input) }],
      relies: [
        row(
          'states.StopExecution.sync-child',
          'A startExecution.sync task that is stopped or fails makes a best-effort StopExecution of its child (the role needs states:StopExecution on the child’s executions).',
          `${DG}/connect-to-resource.html`,
          'if a Step Functions states:startExecution.sync task is aborted, it will call the Step Functions StopExecution API action. However, it is possible that Step Functions will be unable to cancel the task.',
          false,
        ),
      ],
      errors: [NO_EXECUTION('StopExecution')],
    },
    {
      service: 'states',
      operation: 'DescribeStateMachine',
      calledBy: ['lambdas/drill/steps/freshness-handler.ts'],
      reference: `${API}/API_DescribeStateMachine.html`,
      iam: (input) => [{ action: 'states:DescribeStateMachine', resources: arnOf('stateMachineArn')(input) }],
      relies: [
        row(
          'states.DescribeStateMachine.creation',
          'Returns creationDate (when the drill was deployed: the freshness alarm’s start when no drill has succeeded yet).',
          `${API}/API_DescribeStateMachine.html`,
          'creationDate: The date the state machine is created.',
        ),
      ],
      errors: [NO_MACHINE('DescribeStateMachine')],
    },
    {
      service: 'states',
      operation: 'GetActivityTask',
      calledBy: ['lib/cli/failover-command.ts'],
      reference: `${API}/API_GetActivityTask.html`,
      iam: (input) => [{ action: 'states:GetActivityTask', resources: arnOf('activityArn')(input) }],
      relies: [
        row(
          'states.GetActivityTask.long-poll',
          'A long poll: answers as soon as an execution schedules a task of the activity, with its taskToken and input (the Task state’s effective input); after 60 s with none, a taskToken that is null. A task handed to a poller is that poller’s until it answers, or its HeartbeatSeconds or TimeoutSeconds pass.',
          `${API}/API_GetActivityTask.html`,
          'The maximum time the service holds on to the request before responding is 60 seconds. If no task is available within 60 seconds, the poll returns a taskToken with a null string.',
        ),
      ],
      errors: [
        error(
          'states.GetActivityTask.no-activity',
          'ActivityDoesNotExist',
          400,
          'No activity has that ARN.',
          `${API}/API_GetActivityTask.html`,
          'ActivityDoesNotExist: The specified activity does not exist. HTTP Status Code: 400',
        ),
      ],
    },
    ...(['SendTaskSuccess', 'SendTaskFailure', 'SendTaskHeartbeat'] as const).map((operation) => ({
      service: 'states' as const,
      operation,
      calledBy: ['lib/cli/failover-command.ts'],
      reference: `${API}/API_${operation}.html`,
      // These actions have no resource type: IAM authorizes them on "*" (the token names the task).
      iam: () => [{ action: `states:${operation}`, resources: ['*'] }],
      relies: [
        operation === 'SendTaskHeartbeat'
          ? row(
              'states.SendTaskHeartbeat.resets',
              'Resets the task’s HeartbeatSeconds clock; its TimeoutSeconds still bounds it. A task not heartbeaten in time fails with States.HeartbeatTimeout.',
              `${API}/API_SendTaskHeartbeat.html`,
              'This action resets the Heartbeat clock. The Heartbeat threshold is specified in the state machine’s Amazon States Language definition (HeartbeatSeconds).',
            )
          : row(
              `states.${operation}.closes`,
              operation === 'SendTaskSuccess'
                ? 'Closes the task: its output (JSON, at most 256 KiB) is the Task state’s result.'
                : 'Closes the task as failed with the given error and cause: the Task state’s Catch sees that error name.',
              `${API}/API_${operation}.html`,
              operation === 'SendTaskSuccess'
                ? 'Used by activity workers ... to report that the task identified by the taskToken completed successfully.'
                : 'Used by activity workers ... to report that the task identified by the taskToken failed.',
            ),
      ],
      errors: [
        error(
          `states.${operation}.invalid-token`,
          'InvalidToken',
          400,
          'Not a token Step Functions issued.',
          `${API}/API_${operation}.html`,
          'InvalidToken: The provided token is not valid. HTTP Status Code: 400',
        ),
        error(
          `states.${operation}.timed-out`,
          'TaskTimedOut',
          400,
          'The task is closed already: answered, or past its TimeoutSeconds or HeartbeatSeconds.',
          `${API}/API_${operation}.html`,
          'TaskTimedOut: The task token has either expired or the task associated with the token has already been closed. HTTP Status Code: 400',
        ),
        ...(operation === 'SendTaskSuccess'
          ? [
              error(
                'states.SendTaskSuccess.invalid-output',
                'InvalidOutput',
                400,
                'The output is not JSON.',
                `${API}/API_SendTaskSuccess.html`,
                'InvalidOutput: The provided JSON output data is not valid. HTTP Status Code: 400',
              ),
            ]
          : []),
      ],
    })),
    {
      service: 'states',
      operation: 'ExecutionStatusChange',
      calledBy: ['lib/constructs/failover-drill.ts', 'lib/constructs/migration-safety-net.ts'],
      reference: `${DG}/eventbridge-integration.html`,
      iam: () => [],
      relies: [
        row(
          'states.ExecutionStatusChange.best-effort',
          'Standard workflows emit "Step Functions Execution Status Change" events (status RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED) to EventBridge, best effort: the safety nets act on them, and the failed-execution alarms (from CloudWatch metrics) page even when an event is lost.',
          'https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-states.html',
          'Step Functions Execution Status Change — Delivery type: Best effort',
          false,
        ),
        row(
          'states.timeout.states-timeout',
          'An execution past its TimeoutSeconds fails with States.Timeout and ends TIMED_OUT: no Catch runs, so nothing of the workflow’s own failure path does.',
          `${DG}/statemachine-structure.html`,
          'If it runs longer than the specified time, the execution fails with a States.Timeout Error Name.',
          false,
        ),
      ],
      errors: [],
    },
  ],
};
