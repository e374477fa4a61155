import type { Client } from 'pg';
import { NOT_REPLICATED, SYSTEM_SCHEMAS } from '../shared/replicated-tables';

/**
 * What logical replication does not carry, or refuses, and the cutover relies on: checked on blue before
 * anything is published (docs/blue-green-workflow.md, Preparing green). Each problem names the table or object
 * and the fix.
 */
export interface ReadinessProblem {
  /** The table (`schema.table`), publication or object concerned. */
  readonly subject: string;
  readonly problem: string;
  readonly fix: string;
}

export interface ReplicationReadiness {
  /** The publications of blue's current database that were checked (empty: none yet). */
  readonly publications: readonly string[];
  /** Tables checked: those published, or, before any publication, every application table. */
  readonly tablesChecked: number;
  readonly problems: readonly ReadinessProblem[];
  /** Worth knowing, not refused. */
  readonly warnings: readonly ReadinessProblem[];
}

const REPLICA_IDENTITY_FULL_COST =
  'or ALTER TABLE %s REPLICA IDENTITY FULL (every UPDATE and DELETE then writes the whole old row to WAL, ' +
  'and green finds each row by a sequential scan unless it has a usable index: slow on large tables)';

interface TableRow {
  name: string;
  replident: 'd' | 'n' | 'f' | 'i';
  has_pkey: boolean;
  has_identity_index: boolean;
  unlogged: boolean;
  partitioned: boolean;
  usable_index: string | null;
  leaf_without_identity: string | null;
  published: boolean;
  via_root: boolean;
  publishes_changes: boolean;
}

/** Blue's application tables, with what logical replication needs of each. A table is in a publication when it, or (partitioned) one of its partitions, is listed. */
const TABLES_SQL = `WITH membership AS (
       SELECT tree.root AS relid, p.pubviaroot, p.pubupdate, p.pubdelete
         FROM pg_publication_tables t JOIN pg_publication p ON p.pubname = t.pubname
           AND ($1::text IS NULL OR p.pubname = $1)
         JOIN (SELECT c2.oid AS root, c2.oid AS relid FROM pg_class c2 WHERE c2.relkind = 'r'
               UNION ALL
               SELECT c2.oid, pt.relid FROM pg_class c2, pg_partition_tree(c2.oid) pt
                WHERE c2.relkind = 'p' AND NOT c2.relispartition) AS tree
           ON tree.relid = format('%I.%I', t.schemaname, t.tablename)::regclass
     )
     SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name,
            c.relreplident AS replident,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pkey,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident) AS has_identity_index,
            c.relpersistence = 'u' AS unlogged,
            c.relkind = 'p' AS partitioned,
            -- A unique index PostgreSQL accepts as replica identity: valid, immediate, not partial, no
            -- expressions, every column NOT NULL.
            (SELECT quote_ident(ic.relname) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indimmediate
                AND i.indpred IS NULL AND i.indexprs IS NULL
                AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) AS k(attnum)
                                 LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                                 WHERE a.attnotnull IS NOT TRUE)
              ORDER BY i.indnkeyatts, ic.relname LIMIT 1) AS usable_index,
            -- A partitioned table's rows live in its leaf partitions: the first one UPDATE and DELETE would fail on.
            (SELECT quote_ident(ln.nspname) || '.' || quote_ident(l.relname)
               FROM pg_partition_tree(c.oid) pt JOIN pg_class l ON l.oid = pt.relid
               JOIN pg_namespace ln ON ln.oid = l.relnamespace
              WHERE c.relkind = 'p' AND pt.isleaf AND (
                    l.relreplident = 'n'
                 OR (l.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = l.oid AND i.indisprimary))
                 OR (l.relreplident = 'i' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = l.oid AND i.indisreplident)))
              ORDER BY 1 LIMIT 1) AS leaf_without_identity,
            EXISTS (SELECT 1 FROM membership m WHERE m.relid = c.oid) AS published,
            EXISTS (SELECT 1 FROM membership m WHERE m.relid = c.oid AND m.pubviaroot) AS via_root,
            EXISTS (SELECT 1 FROM membership m WHERE m.relid = c.oid AND (m.pubupdate OR m.pubdelete))
              AS publishes_changes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${SYSTEM_SCHEMAS}
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND d.deptype = 'e')
      ORDER BY 1`;
/** What one application table lacks for logical replication (problems), and what deserves a look (warnings). */
function tableProblems(
  table: TableRow,
  publications: readonly { pubname: string }[],
  anyPublication: boolean,
): { problems: ReadinessProblem[]; warnings: ReadinessProblem[] } {
  const problems: ReadinessProblem[] = [];
  const warnings: ReadinessProblem[] = [];
  const publicationNames = publications.map((p) => p.pubname).join(', ');

  const publishesChanges = anyPublication ? table.publishes_changes : true;
  if (table.unlogged) {
    problems.push({
      subject: table.name,
      problem: 'is UNLOGGED: logical replication never carries its rows',
      fix: `ALTER TABLE ${table.name} SET LOGGED`,
    });
    return { problems, warnings }; // a publication cannot list it, so it is not reported as left out
  }
  if (anyPublication && !table.published) {
    if (!NOT_REPLICATED.includes(table.name))
      problems.push({
        subject: table.name,
        problem: `is in blue's schema but in no publication (${publicationNames}): its rows never reach green`,
        fix: `ALTER PUBLICATION ${publications[0]?.pubname ?? 'dr_blue_green'} ADD TABLE ${table.name}, then on green ALTER SUBSCRIPTION … REFRESH PUBLICATION`,
      });
    return { problems, warnings };
  }
  const identityMissing =
    table.replident === 'n'
      ? 'has REPLICA IDENTITY NOTHING'
      : table.replident === 'd' && !table.has_pkey
        ? 'has neither a primary key nor a replica identity'
        : table.replident === 'i' && !table.has_identity_index
          ? 'has REPLICA IDENTITY USING INDEX, but that index was dropped (it now behaves as NOTHING)'
          : undefined;
  if (table.partitioned && table.leaf_without_identity !== null && publishesChanges)
    problems.push({
      subject: table.name,
      problem: `is partitioned and its partition ${table.leaf_without_identity} has neither a primary key nor a replica identity: published with updates or deletes, every UPDATE and DELETE on it fails on blue`,
      fix: `add a primary key to ${table.name} (its partitions inherit it), ${REPLICA_IDENTITY_FULL_COST.replace('%s', table.leaf_without_identity)}`,
    });
  if (identityMissing !== undefined && publishesChanges && !table.partitioned)
    problems.push({
      subject: table.name,
      problem: `${identityMissing}: published with updates or deletes, every UPDATE and DELETE on it fails on blue`,
      fix:
        (table.usable_index !== null
          ? `ALTER TABLE ${table.name} REPLICA IDENTITY USING INDEX ${table.usable_index} (a unique index over NOT NULL columns), `
          : `add a primary key, `) + REPLICA_IDENTITY_FULL_COST.replace('%s', table.name),
    });
  if (table.partitioned && anyPublication && !table.via_root)
    warnings.push({
      subject: table.name,
      problem:
        'is partitioned and published without publish_via_partition_root: changes arrive as its partitions, ' +
        'which green must have with the same names and bounds',
      fix: `ALTER PUBLICATION … SET (publish_via_partition_root = true)`,
    });
  return { problems, warnings };
}

/**
 * What the publications carry only in part: column lists and row filters (PostgreSQL 15 and later), and large
 * objects, which logical replication never carries.
 */
async function partialCopyProblems(
  blue: Client,
  only: string | null,
  columnListsAllowed: boolean,
): Promise<ReadinessProblem[]> {
  const problems: ReadinessProblem[] = [];
  const { rows: version } = await blue.query<{ n: number }>(
    "SELECT current_setting('server_version_num')::int AS n",
  );
  if ((version[0]?.n ?? 0) >= 150000) {
    const { rows: partial } = await blue.query<{
      pubname: string;
      name: string;
      column_list: boolean;
      row_filter: boolean;
    }>(
      `SELECT p.pubname, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name,
              pr.prattrs IS NOT NULL AS column_list, pr.prqual IS NOT NULL AS row_filter
         FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
         JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE ((pr.prattrs IS NOT NULL AND NOT $2) OR pr.prqual IS NOT NULL) AND ($1::text IS NULL OR p.pubname = $1)
        ORDER BY 1, 2`,
      [only, columnListsAllowed],
    );
    for (const rel of partial)
      problems.push({
        subject: rel.name,
        problem:
          `is published by ${rel.pubname} with ` +
          [
            rel.column_list && !columnListsAllowed
              ? 'a column list (green never gets the other columns)'
              : '',
            rel.row_filter
              ? 'a row filter (green never gets the other rows, and UPDATE or DELETE on blue fails when the filter uses a column outside the replica identity)'
              : '',
          ]
            .filter((part) => part !== '')
            .join(' and '),
        fix: `ALTER PUBLICATION ${rel.pubname} DROP TABLE ${rel.name}; ALTER PUBLICATION ${rel.pubname} ADD TABLE ${rel.name} (no column list, no WHERE), then on green ALTER SUBSCRIPTION … REFRESH PUBLICATION`,
      });
  }

  const { rows: largeObjects } = await blue.query<{ n: string }>(
    'SELECT count(*)::text AS n FROM pg_largeobject_metadata',
  );
  const objects = Number(largeObjects[0]?.n ?? 0);
  if (objects > 0)
    problems.push({
      subject: 'large objects',
      problem: `blue holds ${objects} large object(s) (pg_largeobject): logical replication never carries them`,
      fix: 'move them into bytea columns of a published table, or copy them to green separately and accept what changes during the cutover',
    });
  return problems;
}

/**
 * Checks blue's current database for what would break, or silently not be carried by, logical replication to
 * green:
 * - a table without a usable replica identity (no primary key under REPLICA IDENTITY DEFAULT, NOTHING, or USING
 *   INDEX whose index was dropped): once published with updates or deletes, every UPDATE and DELETE on it fails
 *   on blue ("does not have a replica identity and publishes updates"); the fix names a usable unique index
 *   when there is one;
 * - an unlogged table (never replicated); a table missing from the publication; a publication that does not
 *   publish inserts, updates or deletes; large objects (never replicated);
 * - warnings: a partitioned table published without publish_via_partition_root (green must have the very
 *   same partitions), a publication without truncate.
 * With no publication yet, every application table is checked as if published with every operation.
 */
export async function checkReplicationReadiness(
  blue: Client,
  options: {
    /** Only this publication counts (the one a provisioning creates); absent, blue is checked as unpublished. */
    readonly onlyPublication?: string;
    /**
     * A column list is intended (a rollback: the way back publishes only the columns the previous writer has).
     * Row filters are still refused.
     */
    readonly columnListsAllowed?: boolean;
  } = {},
): Promise<ReplicationReadiness> {
  const only = options.onlyPublication ?? null;
  const { rows: publications } = await blue.query<{
    pubname: string;
    puballtables: boolean;
    pubinsert: boolean;
    pubupdate: boolean;
    pubdelete: boolean;
    pubtruncate: boolean;
    pubviaroot: boolean;
  }>(
    `SELECT pubname, puballtables, pubinsert, pubupdate, pubdelete, pubtruncate, pubviaroot
       FROM pg_publication WHERE $1::text IS NULL OR pubname = $1 ORDER BY pubname`,
    [only],
  );
  const anyPublication = publications.length > 0;
  const { rows: tables } = await blue.query<TableRow>(TABLES_SQL, [only]);
  const problems: ReadinessProblem[] = [];
  const warnings: ReadinessProblem[] = [];
  for (const pub of publications) {
    const missing = (['insert', 'update', 'delete'] as const).filter((op) => !pub[`pub${op}`]);
    if (missing.length > 0)
      problems.push({
        subject: `publication ${pub.pubname}`,
        problem: `does not publish ${missing.join(', ')}: green would silently miss those changes`,
        fix: `ALTER PUBLICATION ${pub.pubname} SET (publish = 'insert, update, delete, truncate')`,
      });
    else if (!pub.pubtruncate)
      warnings.push({
        subject: `publication ${pub.pubname}`,
        problem: 'does not publish truncate: a TRUNCATE on blue would leave the rows on green',
        fix: `ALTER PUBLICATION ${pub.pubname} SET (publish = 'insert, update, delete, truncate')`,
      });
  }

  // Without a publication, every application table is what the preparation step will publish.
  for (const table of tables) {
    const found = tableProblems(table, publications, anyPublication);
    problems.push(...found.problems);
    warnings.push(...found.warnings);
  }

  problems.push(...(await partialCopyProblems(blue, only, options.columnListsAllowed === true)));

  return {
    publications: publications.map((p) => p.pubname),
    tablesChecked: tables.length,
    problems,
    warnings,
  };
}

/** One line per problem: subject, what is wrong, the fix. */
export const describeProblems = (problems: readonly ReadinessProblem[]): string =>
  problems.map((p) => `${p.subject} ${p.problem}; fix: ${p.fix}`).join('\n');
