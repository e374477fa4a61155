import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MigrationsError } from './errors';

/** One folder of a Prisma migrations directory: `<dir>/<name>/migration.sql`. */
export interface LocalMigration {
  readonly name: string;
  /** The file decoded as UTF-8 (refused if it is not valid UTF-8). */
  readonly script: string;
  /** SHA-256 of the decoded script, lower-case hex: what Prisma stores. */
  readonly checksum: string;
}

/** The migrations folder cannot be used as it is; nothing was done. Names in the message are escaped. */
export class MigrationsFolderError extends Error {
  override readonly name = 'MigrationsFolderError';
}

/** The provider Prisma writes in migration_lock.toml for PostgreSQL (its connector type). */
export const POSTGRESQL_PROVIDER = 'postgresql';

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');

/** Prisma's checksum of a migration script: SHA-256 of the decoded text (schema-connector checksum.rs). */
export function migrationChecksum(script: string): string {
  return sha256(script);
}

/** The length of a checksum string as Prisma writes it (32 bytes, two hex digits each). */
const CHECKSUM_LENGTH = 64;

/**
 * Whether a script matches a stored checksum, exactly as Prisma compares them (checksum.rs,
 * script_matches_checksum): the script as it is, with CRLF turned into LF, and with every LF turned into CRLF
 * (on the script as it is); and a stored checksum of another length than 64 is compared with the digest
 * written without zero padding, as an old engine wrote them (prisma-engines#1887).
 */
export function checksumMatches(script: string, stored: string): boolean {
  const variants = [script, script.replace(/\r\n/g, '\n'), script.replace(/\n/g, '\r\n')];
  return variants.some((variant) => {
    const digest = createHash('sha256').update(variant, 'utf8').digest();
    const rendered =
      stored.length > 0 && stored.length !== CHECKSUM_LENGTH
        ? Array.from(digest, (byte) => byte.toString(16)).join('')
        : digest.toString('hex');
    return rendered === stored;
  });
}

/** A name as it can be printed on one line: control and line-separator characters escaped, quoted. */
export function printableName(name: string): string {
  return JSON.stringify(name).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * A name for one line of output: as it is when printable, escaped and quoted otherwise. Names read from the
 * database (a failed row, one missing locally) were never checked by the folder reader and may hold anything.
 */
export function displayName(name: string): string {
  return isUnprintable(name) ? printableName(name) : name;
}

/** C0 and C1 control characters, DEL, and the Unicode line and paragraph separators. */
const isUnprintable = (name: string) =>
  Array.from(name).some((c) => {
    const code = c.codePointAt(0) ?? 0;
    return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
  });

/**
 * Prisma's reading of migration_lock.toml (schema-connector migrations_directory.rs): the first line starting
 * with `provider`, minus a leading `provider = ` and surrounding quotes; a missing file checks nothing.
 */
export function providerInLockFile(content: string): string {
  const line = content.split(/\r?\n/).find((l) => l.startsWith('provider'));
  if (line === undefined) return '<PROVIDER NOT FOUND>';
  return line.replace(/^(provider = )+/, '').replace(/^"+|"+$/g, '');
}

/**
 * Prisma's order of migration folders: the CLI's listMigrations sorts with `a.localeCompare(b)` (Node's ICU
 * collation in the default locale), and the engine applies them in that order. So `1_a` runs before `10_b`.
 */
export function compareMigrationNames(a: string, b: string): number {
  return a.localeCompare(b);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Read synchronously: hundreds of small files read faster in turn than through the thread pool. */
function readScript(dir: string, name: string): string {
  const file = join(dir, name, 'migration.sql');
  const shown = printableName(`${name}/migration.sql`);
  const info = lstatSync(file, { throwIfNoEntry: false });
  if (info === undefined) {
    throw new MigrationsError(
      'P3015',
      `Could not find the migration file at ${shown}. Please delete the directory or restore the migration file.`,
    );
  }
  // Prisma reads through a symbolic link; a link can point anywhere (outside the folder), so it is refused.
  if (info.isSymbolicLink())
    throw new MigrationsFolderError(`${shown} is a symbolic link: a migration must be a regular file`);
  if (!info.isFile()) throw new MigrationsFolderError(`${shown} is not a regular file`);
  const bytes = readFileSync(file);
  try {
    return utf8.decode(bytes);
  } catch (error) {
    // Prisma would replace each invalid byte with U+FFFD and run (and hash) the altered text.
    throw new MigrationsFolderError(
      `${shown} is not valid UTF-8: save it as UTF-8 (Prisma would silently replace the invalid bytes)`,
      { cause: error },
    );
  }
}

/** Whether a symbolic link leads to a folder (a dangling link leads nowhere). */
function leadsToFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Reads a Prisma migrations folder as Prisma's CLI does (listMigrations.ts): its subfolders in Prisma's order,
 * each with a migration.sql decoded as UTF-8, the provider in migration_lock.toml checked, other top-level
 * files skipped. Where Prisma silently skips or alters something, this refuses instead: a symbolic link in
 * place of a folder or of migration.sql, a folder name starting with a dot or holding a control character, a
 * file that is not valid UTF-8.
 */
export async function readMigrationsFolder(dir: string): Promise<LocalMigration[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new MigrationsFolderError(`migrations folder ${dir} does not exist or cannot be read`, {
      cause: error,
    });
  }
  const lock = entries.find((e) => e.name === 'migration_lock.toml' && e.isFile());
  if (lock !== undefined) {
    const provider = providerInLockFile(await readFile(join(dir, lock.name), 'utf8'));
    if (provider !== POSTGRESQL_PROVIDER) {
      throw new MigrationsError(
        'P3019',
        `The datasource provider \`${POSTGRESQL_PROVIDER}\` does not match the one specified in the migration_lock.toml, ` +
          `${printableName(provider)}: these migrations were written for another database.`,
      );
    }
  }
  const names: string[] = [];
  for (const entry of entries) {
    // Prisma lists only real directories: a symbolic link is a migration it would silently skip only when it
    // leads to a folder; a plain file (a README, macOS's `Icon\r`) is skipped whatever its name.
    const linkedFolder = entry.isSymbolicLink() && leadsToFolder(join(dir, entry.name));
    if (!entry.isDirectory() && !linkedFolder) continue;
    if (isUnprintable(entry.name)) {
      throw new MigrationsFolderError(
        `${printableName(entry.name)} in the migrations folder has a control character in its name: rename or remove it`,
      );
    }
    if (linkedFolder) {
      throw new MigrationsFolderError(
        `${printableName(entry.name)} in the migrations folder is a symbolic link: migrations must be real folders`,
      );
    }
    if (entry.name.startsWith('.')) {
      throw new MigrationsFolderError(
        `${printableName(entry.name)} in the migrations folder starts with a dot: it is not a migration; move it out`,
      );
    }
    if (Buffer.byteLength(entry.name) > 255) {
      throw new MigrationsFolderError(
        `migration name ${printableName(entry.name.slice(0, 40))}… is longer than 255 bytes`,
      );
    }
    names.push(entry.name);
  }
  names.sort(compareMigrationNames);
  return names.map((name) => {
    const script = readScript(dir, name);
    return { name, script, checksum: migrationChecksum(script) };
  });
}
