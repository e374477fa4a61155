import { z } from 'zod';

const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]{1,80}:[^\s:]{1,80}$/;

/**
 * The EventBridge event Step Functions emits when a Standard execution ends (detail-type "Step Functions
 * Execution Status Change"); a safety net acts on FAILED, TIMED_OUT and ABORTED. Only the fields used.
 */
export const statusChangeEventSchema = z.object({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string().regex(EXECUTION_ARN, { error: 'must be a Step Functions execution ARN' }),
    stateMachineArn: z.string().min(1).max(256),
    name: z.string().min(1).max(80),
    status: z.enum(['FAILED', 'TIMED_OUT', 'ABORTED']),
  }),
});
export type StatusChangeEvent = z.infer<typeof statusChangeEventSchema>;
