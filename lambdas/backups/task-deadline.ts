import type { Logger } from '@aws-lambda-powertools/logger';

/**
 * A backup task's deadline (DUMP_MAX_SECONDS): when it passes, the failure is logged and `onDeadline` runs (the
 * entry point ends the process with 1, and the container with it, its pg_dump or pg_restore included).
 * Returns what clears it; nothing is armed without a deadline.
 */
export function armDeadline(
  logger: Logger,
  seconds: number | undefined,
  what: string,
  onDeadline: () => void,
): () => void {
  if (seconds === undefined) return () => undefined;
  const started = performance.now();
  const timer = setTimeout(() => {
    logger.error(`${what} failed`, {
      errorType: 'TaskTimedOut',
      reason: `the ${what} ran out of its ${seconds} s`,
      durationMs: Math.round(performance.now() - started),
    });
    onDeadline();
  }, seconds * 1000);
  return () => {
    clearTimeout(timer);
  };
}
