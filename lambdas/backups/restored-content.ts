/**
 * What a restored database must hold, checked the same way whatever it was restored from: its applied
 * `_prisma_migrations`, its tables and their rows, and a smoke query that reads each table. A logical dump is
 * compared exactly with its manifest (taken in the dump's own snapshot); a physical restore, made at the latest
 * restorable time, is compared with a reference read from a live copy of its source a few minutes later, so
 * its rule is "plausible", not "equal": the restore point is as much older than the reference as the
 * restore took.
 */
import type { Client } from 'pg';
import { quoteIdent } from '../shared/sql-identifier';
import { appliedMigrationNames, rowCounts, USER_TABLES, userTables } from './dump';

export interface RestoreCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

/** What the restored database is compared with, and how. */
export interface ExpectedContent {
  /** Where the expectation comes from, for the report: `the manifest`, `the DR replica db-2`. */
  readonly source: string;
  /** Applied migrations, oldest first. */
  readonly migrations: readonly string[];
  /** Row counts per `schema.table` (exact for a manifest; an estimate for a reference, -1 when unknown). */
  readonly tables: Readonly<Record<string, number>>;
  /**
   * `exact`: the same migrations, every table with the same count. `plausible` (a restore older
   * than its reference): the restored migrations are the reference's or an earlier prefix of them, every table
   * is present (except those of later migrations), and each count is within PLAUSIBLE_ROWS of the reference's
   * estimate.
   */
  readonly rule: 'exact' | 'plausible';
}

/**
 * How far a restored count may be from its reference's estimate and still be plausible: half the estimate, or
 * 1,000 rows for a small table. The estimate is `pg_class.reltuples`, which ANALYZE refreshes after about a
 * tenth of a table changes (autovacuum's default scale factor), and the restore is as old as the restore took.
 */
export const PLAUSIBLE_ROWS = { fraction: 0.5, floor: 1000 } as const;

/** A failed check names at most this many tables: its detail travels in a workflow's error cause. */
const LISTED_TABLES = 10;

const isPrefix = (shorter: readonly string[], longer: readonly string[]): boolean =>
  shorter.length <= longer.length && shorter.every((name, i) => longer[i] === name);

function migrationsCheck(restored: readonly string[], expected: ExpectedContent): RestoreCheck {
  const same = JSON.stringify(restored) === JSON.stringify(expected.migrations);
  if (same)
    return {
      name: 'migrations',
      passed: true,
      detail: `all ${restored.length} applied migrations as ${expected.source} lists them`,
    };
  if (expected.rule === 'plausible' && isPrefix(restored, expected.migrations))
    return {
      name: 'migrations',
      passed: true,
      detail: `${restored.length} applied migrations, the first of the ${expected.migrations.length} ${expected.source} lists (later ones were applied after the restore point)`,
    };
  return {
    name: 'migrations',
    passed: false,
    detail: `restored ${JSON.stringify(restored)}, ${expected.source} lists ${JSON.stringify(expected.migrations)}`,
  };
}

function countFits(rule: ExpectedContent['rule'], restored: number, expected: number): boolean {
  if (rule === 'exact') return restored === expected;
  if (expected < 0) return true;
  return Math.abs(restored - expected) <= Math.max(PLAUSIBLE_ROWS.floor, PLAUSIBLE_ROWS.fraction * expected);
}

function rowsCheck(
  counts: Readonly<Record<string, number>>,
  expected: ExpectedContent,
  laterMigrations: boolean,
): RestoreCheck {
  const tables = Object.keys(expected.tables).sort();
  // A restore older than its reference by migrations the reference has applied since lacks the tables those
  // created: absent tables then say nothing; every table both have is still compared.
  const absent = tables.filter((table) => !(table in counts));
  const missing = laterMigrations ? [] : absent;
  const wrong = tables.filter(
    (table) => table in counts && !countFits(expected.rule, counts[table] ?? 0, expected.tables[table] ?? 0),
  );
  const says = expected.rule === 'exact' ? 'says' : 'estimates';
  if (missing.length > 0)
    return {
      name: 'rows',
      passed: false,
      detail: `missing table(s) ${missing.slice(0, LISTED_TABLES).join(', ')}${missing.length > LISTED_TABLES ? ` and ${missing.length - LISTED_TABLES} more` : ''}`,
    };
  if (wrong.length > 0)
    return {
      name: 'rows',
      passed: false,
      detail: [
        ...wrong
          .slice(0, LISTED_TABLES)
          .map(
            (table) =>
              `${table}: ${counts[table]} rows, ${expected.source} ${says} ${expected.tables[table]}`,
          ),
        ...(wrong.length > LISTED_TABLES ? [`and ${wrong.length - LISTED_TABLES} more table(s)`] : []),
      ].join('; '),
    };
  const compared = tables.length - absent.length;
  return {
    name: 'rows',
    passed: true,
    detail:
      (expected.rule === 'exact'
        ? `${compared} tables, every row count as ${expected.source} says`
        : `${compared} tables, every row count plausible against ${expected.source}'s estimates`) +
      (absent.length > 0 ? ` (${absent.length} table(s) of later migrations not restored yet)` : ''),
  };
}

async function smokeQuery(client: Client, tables: readonly string[]): Promise<RestoreCheck> {
  try {
    for (const table of tables) {
      const dot = table.indexOf('.');
      await client.query(
        `SELECT * FROM ${quoteIdent(table.slice(0, dot))}.${quoteIdent(table.slice(dot + 1))} LIMIT 1`,
      );
    }
    return { name: 'smoke query', passed: true, detail: `read a row of each of ${tables.length} tables` };
  } catch (error) {
    return {
      name: 'smoke query',
      passed: false,
      detail: error instanceof Error ? error.message : String(error),
    };
  }
}

/**
 * Tables of a physical restore with more rows than this (by the copy's own estimate) are not counted row by row: a fresh
 * RDS restore loads its blocks from S3 on first read, so a full scan of a large table takes long. Their
 * estimate (`pg_class.reltuples`, a catalog value the copy restored with its data) stands in, and the smoke
 * query still reads a row of each.
 */
export const EXACT_COUNT_MAX_ROWS = 1_000_000;

/** Exact row counts, except estimates for tables larger than EXACT_COUNT_MAX_ROWS. */
async function boundedRowCounts(client: Client, tables: readonly string[]): Promise<Record<string, number>> {
  const { rows } = await client.query<{ name: string; estimate: string }>(
    `SELECT ${USER_TABLES.name} AS name, c.reltuples::bigint::text AS estimate ${USER_TABLES.from}`,
  );
  const estimates = new Map(rows.map((row) => [row.name, Number(row.estimate)]));
  const large = tables.filter((table) => (estimates.get(table) ?? 0) > EXACT_COUNT_MAX_ROWS);
  const exact = await rowCounts(
    client,
    tables.filter((table) => !large.includes(table)),
  );
  return { ...exact, ...Object.fromEntries(large.map((table) => [table, estimates.get(table) ?? 0])) };
}

/**
 * Checks the restored database `client` is connected to: migrations and rows against `expected`, then the
 * smoke query. Without an expectation (no reference could be read), it reports what it found and checks only
 * that the smoke query runs. Never throws for content that fails a check; a lost connection rejects.
 */
export async function checkRestoredContent(
  client: Client,
  expected: ExpectedContent | undefined,
): Promise<RestoreCheck[]> {
  const migrations = await appliedMigrationNames(client);
  const tables = await userTables(client);
  // A dump is compared exactly (its restore is counted in full); a physical restore within bounds.
  const counts =
    expected?.rule === 'exact' ? await rowCounts(client, tables) : await boundedRowCounts(client, tables);
  const checks =
    expected === undefined
      ? [
          {
            name: 'content',
            passed: true,
            detail: `${migrations.length} applied migrations, ${tables.length} tables, ${Object.values(counts).reduce((a, b) => a + b, 0)} rows (no reference to compare with)`,
          },
        ]
      : [
          migrationsCheck(migrations, expected),
          rowsCheck(
            counts,
            expected,
            expected.rule === 'plausible' &&
              migrations.length < expected.migrations.length &&
              isPrefix(migrations, expected.migrations),
          ),
        ];
  return [...checks, await smokeQuery(client, tables)];
}

/**
 * A live copy's content as a reference for a physical restore: its applied migrations and each table's
 * estimated rows (`pg_class.reltuples`: a catalog value, so a physical replica has its writer's; -1 when the
 * table was never analyzed). Cheap on a production database: no table is scanned.
 */
export async function referenceContent(client: Client, source: string): Promise<ExpectedContent> {
  const migrations = await appliedMigrationNames(client);
  const { rows } = await client.query<{ name: string; estimate: string }>(
    `SELECT ${USER_TABLES.name} AS name, c.reltuples::bigint::text AS estimate ${USER_TABLES.from}`,
  );
  return {
    source,
    migrations,
    tables: Object.fromEntries(rows.map((row) => [row.name, Number(row.estimate)])),
    rule: 'plausible',
  };
}
