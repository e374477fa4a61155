import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';

import { DRILL_PAUSED_TAG_KEY } from '../names';

const ruleArn = (stack: Stack, ruleName: string) =>
  `arn:${stack.partition}:events:${stack.region}:${stack.account}:rule/${ruleName}`;

/** What the region failover and the DR rebuild definitions substitute for the drill's schedule. */
export function drillScheduleReferences(scope: Stack, ruleName: string): Record<string, string> {
  return {
    DrillScheduleRuleName: ruleName,
    DrillScheduleRuleArn: ruleArn(scope, ruleName),
    DrillPausedTagKey: DRILL_PAUSED_TAG_KEY,
  };
}

const onlyTheTag = { 'ForAllValues:StringEquals': { 'aws:TagKeys': [DRILL_PAUSED_TAG_KEY] } };

/** The region failover: read the schedule, disable it and mark it paused, nothing else of EventBridge. */
export function grantDrillSchedulePause(machine: sfn.StateMachine, ruleName: string): void {
  const arn = ruleArn(Stack.of(machine), ruleName);
  machine.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['events:DescribeRule', 'events:DisableRule'], resources: [arn] }),
  );
  machine.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['events:TagResource'], resources: [arn], conditions: onlyTheTag }),
  );
}

/** The DR rebuild: read the mark, enable the schedule and remove the mark, nothing else of EventBridge. */
export function grantDrillScheduleResume(machine: sfn.StateMachine, ruleName: string): void {
  const arn = ruleArn(Stack.of(machine), ruleName);
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['events:ListTagsForResource', 'events:EnableRule'],
      resources: [arn],
    }),
  );
  machine.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['events:UntagResource'], resources: [arn], conditions: onlyTheTag }),
  );
}
