import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** One folder of a Prisma migrations directory: `<dir>/<name>/migration.sql`. */
export interface LocalMigration {
  readonly name: string;
  readonly script: string;
  /** SHA-256 of the file's bytes, lower-case hex: what Prisma stores. */
  readonly checksum: string;
}

export class MigrationsFolderError extends Error {
  override readonly name = 'MigrationsFolderError';
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** Prisma's checksum of a migration file. */
export function migrationChecksum(content: string | Buffer): string {
  return sha256(content);
}

/**
 * Whether a file matches a stored checksum, as Prisma compares them: a file that differs only in CRLF vs LF
 * line endings (a checkout on another OS) still matches.
 */
export function checksumMatches(script: string, stored: string): boolean {
  const lf = script.replace(/\r\n/g, '\n');
  const crlf = lf.replace(/\n/g, '\r\n');
  return [script, lf, crlf].some((variant) => sha256(variant) === stored);
}

/**
 * Reads a Prisma migrations folder: its subfolders in name order, each with a migration.sql. Files at the top
 * level (migration_lock.toml) are skipped.
 */
export async function readMigrationsFolder(dir: string): Promise<LocalMigration[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    throw new MigrationsFolderError(`migrations folder ${dir} does not exist or cannot be read`);
  }
  // Byte order of the names, as Prisma sorts them (not locale order).
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Promise.all(
    names.map(async (name) => {
      if (Buffer.byteLength(name) > 255) {
        throw new MigrationsFolderError(`migration name ${name.slice(0, 40)}… is longer than 255 bytes`);
      }
      const file = join(dir, name, 'migration.sql');
      const exists = await stat(file).then(
        (s) => s.isFile(),
        () => false,
      );
      if (!exists) throw new MigrationsFolderError(`migration folder ${name} has no migration.sql`);
      const bytes = await readFile(file);
      return { name, script: bytes.toString('utf8'), checksum: migrationChecksum(bytes) };
    }),
  );
}
