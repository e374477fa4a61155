import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { DUMPABLE_MAJOR_VERSION } from './server';

/**
 * PostgreSQL's client programs: from PG_CLIENT_BIN_DIR when it is set (and only there), else of the version the
 * dumpable local servers run (Debian's postgresql-client: /usr/lib/postgresql/<major>/bin), else the first on
 * PATH. Throws, saying what to install, when there is none: a test or rehearsal that needs pg_dump fails
 * clearly instead of skipping.
 */
export function pgTool(name: 'pg_dump' | 'pg_restore'): string {
  const configured = process.env.PG_CLIENT_BIN_DIR;
  const candidates =
    configured !== undefined && configured !== '' ? [join(configured, name)] : defaultCandidates(name);
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined)
    throw new Error(
      `${name} not found: install PostgreSQL ${DUMPABLE_MAJOR_VERSION}'s client programs ` +
        '(Debian: apt-get install postgresql-client; .ci/run installs it when it is missing)',
    );
  return found;
}

function defaultCandidates(name: string): string[] {
  return [
    join('/usr/lib/postgresql', String(DUMPABLE_MAJOR_VERSION), 'bin', name),
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter((dir) => dir !== '')
      .map((dir) => join(dir, name)),
  ];
}
