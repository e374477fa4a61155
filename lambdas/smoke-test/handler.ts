import { z } from 'zod';
import { parseInput, runStep, StepError, stepInstrumentation } from '../shared/step';
import { runSmokeTest, type SmokeTestReport } from './smoke';

const url = z
  .url({ error: 'must be an http(s) URL' })
  .refine((u) => /^https?:\/\//.test(u), { error: 'must be an http(s) URL' })
  .refine((u) => !/^https?:\/\/[^/]*@/.test(u), { error: 'must not embed credentials (user:password@)' });

export const smokeTestEventSchema = z.strictObject({
  url,
  expectStatus: z.number().int().min(100).max(599).default(200),
  bodyContains: z.string().min(1).max(1024).optional(),
  jsonField: z
    .strictObject({
      path: z
        .string()
        .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, { error: 'must be a dotted path such as db.status' }),
      equals: z.union([z.string(), z.number(), z.boolean()]),
    })
    .optional(),
  attempts: z.number().int().min(1).max(20).default(5),
  timeoutMs: z.number().int().min(100).max(30_000).default(5_000),
  backoffMs: z.number().int().min(0).max(30_000).default(1_000),
  maxBackoffMs: z.number().int().min(0).max(60_000).default(8_000),
});
export type SmokeTestEvent = z.input<typeof smokeTestEventSchema>;

const instrumentation = stepInstrumentation('smoke-test');

/**
 * Checks the application answers; fails as SmokeTestFailed with what the last attempt saw. The report and the
 * error show the URL redacted (no query values or fragment: a health URL may carry a token).
 */
export async function handler(event: unknown): Promise<SmokeTestReport> {
  return runStep(instrumentation, async () => {
    const input = parseInput(smokeTestEventSchema, event);
    const report = await runSmokeTest(input);
    for (const attempt of report.attempts) instrumentation.logger.info('smoke attempt', { ...attempt });
    if (!report.ok) {
      const last = report.attempts.at(-1);
      throw new StepError(
        'SmokeTestFailed',
        `${report.url} failed ${report.attempts.length} attempt(s); last: ${last?.problem ?? 'unknown'}`,
      );
    }
    return report;
  });
}
