/**
 * The manifest written beside every logical dump: what the dump holds (migrations, row counts) and its checksum.
 * Schema only, so that a reader of manifests (the dump workflow's conclusion) loads no pg or pg_dump code.
 */
import { z } from 'zod';

/** The manifest's format: a reader refuses another. */
export const DUMP_MANIFEST_FORMAT = 'pg-dr-dump/1';

export interface DumpManifest {
  readonly format: typeof DUMP_MANIFEST_FORMAT;
  /** The RDS instance (or local server) the dump was taken from. */
  readonly sourceInstance: string;
  readonly database: string;
  readonly serverVersion: string;
  /** The snapshot's time and WAL position on the source. */
  readonly takenAt: string;
  readonly lsn: string;
  /** Applied `_prisma_migrations`, in the order they were applied; empty when the table does not exist. */
  readonly migrations: readonly string[];
  /** Exact row counts per table (`schema.table`), in the dump's snapshot. */
  readonly tables: Readonly<Record<string, number>>;
  /** The dump file's sha256 (hex) and size. */
  readonly sha256: string;
  readonly bytes: number;
}

/** A manifest as read back from its file: refused (with the field named) unless whole. */
export const dumpManifestSchema = z.strictObject({
  format: z.literal(DUMP_MANIFEST_FORMAT),
  sourceInstance: z.string().min(1),
  database: z.string().min(1),
  serverVersion: z.string().min(1),
  takenAt: z.iso.datetime(),
  lsn: z.string().regex(/^[0-9A-F]+\/[0-9A-F]+$/),
  migrations: z.array(z.string()),
  tables: z.record(z.string(), z.number().int().min(0)),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().min(0),
}) satisfies z.ZodType<DumpManifest>;
