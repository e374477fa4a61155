/**
 * The dump restore test's work: the newest dump in a backup bucket (in the DR region, what S3 replication has
 * delivered), restored into a throwaway server started for it and compared with its manifest
 * (checkStoredDump). The server, the download and the restored data are gone afterwards, whatever happened.
 */
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { withConnection } from '../shared/database';
import { RoutableError } from '../shared/routable-error';
import { newestDump, type StoredDump } from './dump-listing';
import type { RestoreCheckReport } from './restore-check';
import { checkStoredDump } from './stored-dumps';
import { startThrowawayServer, type Account } from './throwaway-server';

/** The database the dump is restored into, on the throwaway server. */
export const RESTORE_CHECK_DATABASE = 'restore_check';

export interface NewestDumpCheck {
  readonly dump: StoredDump;
  readonly report: RestoreCheckReport;
}

/** Checks the newest dump under `prefix`; NoDumpToRestore when the bucket holds none. */
export async function checkNewestDump(deps: {
  readonly s3: Pick<S3Client, 'send'>;
  readonly bucket: string;
  readonly prefix: string;
  /** A folder of the task's storage: the download and the throwaway server go there. */
  readonly workDir: string;
  readonly pgRestore: string;
  /** Where initdb and pg_ctl are (PATH when undefined), and who runs them (when this process is root). */
  readonly binDir?: string;
  readonly account?: Account;
}): Promise<NewestDumpCheck> {
  const dump = await newestDump(deps.s3, deps.bucket, deps.prefix);
  if (dump === undefined)
    throw new RoutableError(
      'NoDumpToRestore',
      `no dump with its manifest under s3://${deps.bucket}/${deps.prefix}: none taken yet, or none replicated here`,
    );
  const server = await startThrowawayServer({
    folder: join(deps.workDir, 'server'),
    ...(deps.binDir === undefined ? {} : { binDir: deps.binDir }),
    ...(deps.account === undefined ? {} : { account: deps.account }),
  });
  try {
    await withConnection(
      server.settings,
      { connectTimeoutMs: 10_000, statementTimeoutMs: 60_000, applicationName: 'pg-dr-dump-check' },
      (client) => client.query(`CREATE DATABASE ${RESTORE_CHECK_DATABASE}`),
    );
    const report = await checkStoredDump({
      s3: deps.s3,
      bucket: deps.bucket,
      dump,
      workDir: deps.workDir,
      target: { settings: { ...server.settings, database: RESTORE_CHECK_DATABASE } },
      pgRestore: deps.pgRestore,
    });
    return { dump, report };
  } finally {
    await server.stop();
  }
}
