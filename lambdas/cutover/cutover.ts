import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { errorCode } from '../shared/postgres-errors';
import { applicationTables, BARRIER_TABLE, tableKeySql } from '../shared/replicated-tables';
import { countDifferences, countTables, describeDifference } from '../verify/row-counts';
import { quoteIdent } from '../shared/sql-identifier';
import { RoutableError } from '../shared/routable-error';
import { ENDABLE_SESSION, SEES_ALL_SESSIONS } from '../shared/sessions';

export class CutoverError extends RoutableError<
  | 'NotSynchronized'
  | 'CatchUpTimeout'
  | 'SubscriptionMissing'
  | 'SubscriptionUsesRotatedUser'
  | 'GreenDiverged'
  | 'FencedVerifyTimeout'
  | 'WayBackImpossible'
  | 'FenceBypassable'
> {}

export { BARRIER_TABLE };

/**
 * The cutover writes through its own fences: a session opened after a fence defaults to read-only, so each
 * operation first makes its session read-write (session level, as DROP SUBSCRIPTION cannot run in a
 * transaction block).
 */
export async function asFenceKeeper(client: Client): Promise<void> {
  await client.query('SET default_transaction_read_only = off');
}

async function currentDatabase(client: Client): Promise<string> {
  const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
  return rows[0]?.db ?? '';
}

/** Green's subscription to blue, in green's current database, or undefined. */
export async function findSubscription(
  green: Client,
  name: string,
): Promise<{ name: string; enabled: boolean; publications: string[] } | undefined> {
  const { rows } = await green.query<{ subname: string; subenabled: boolean; subpublications: string[] }>(
    `SELECT subname, subenabled, subpublications FROM pg_subscription
      WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [name],
  );
  const row = rows[0];
  return row === undefined
    ? undefined
    : { name: row.subname, enabled: row.subenabled, publications: row.subpublications };
}

/**
 * Refuses a subscription that reaches blue as the very user of blue's secret (the RDS master secret, which the
 * stack rotates every 30 days): after a rotation the subscription keeps its old password and fails at its next
 * reconnect, which a cutover's catch-up then waits on in vain. A dedicated replication user, whose password
 * is not rotated, is required (docs/blue-green-workflow.md, The replication user). The subscription's
 * walsender on blue carries the subscription's name as its application_name.
 */
async function refuseRotatedSubscriptionUser(blue: Client, subscription: string): Promise<void> {
  const { rows } = await blue.query<{ usename: string | null; me: string }>(
    'SELECT usename, current_user AS me FROM pg_stat_replication WHERE application_name = $1',
    [subscription],
  );
  const same = rows.find((r) => r.usename === r.me);
  if (same !== undefined)
    throw new CutoverError(
      'SubscriptionUsesRotatedUser',
      `subscription ${subscription} connects to blue as ${same.me}, the user of blue's secret. That secret's ` +
        'password is rotated (every 30 days for the RDS master secret), and the subscription keeps the old one: ' +
        'it fails at its next reconnect and the cutover could never catch up. Create a dedicated replication ' +
        'user (GRANT rds_replication; its secret is not rotated), then on green: ALTER SUBSCRIPTION ' +
        `${subscription} CONNECTION '... user=<replication user> password=...' (docs/blue-green-workflow.md, The replication user).`,
    );
}

/** PostgreSQL's spellings of false for a boolean setting (unique prefixes of off, false, no; and 0). */
const FALSE_SETTING = '(of|off|f|fa|fal|fals|false|n|no|0)';

/**
 * Refuses what writes through blue's fence (a default, not a lock): a transaction prepared in this database
 * (COMMIT PREPARED after the fence still writes), a role whose own default_transaction_read_only = off
 * overrides the database's, and a fencing role that cannot see other roles' sessions (without superuser or
 * pg_read_all_stats, their backend_type reads NULL, so the fence would not end them and they would keep
 * writing; RDS's rds_superuser sees them all). Run before blue is fenced, and again inside the fenced window.
 */
export async function refuseFenceBypasses(blue: Client): Promise<void> {
  const { rows: sight } = await blue.query<{ sees: boolean }>(`SELECT ${SEES_ALL_SESSIONS} AS sees`);
  const { rows: prepared } = await blue.query<{ gid: string }>(
    'SELECT gid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY prepared LIMIT 5',
  );
  const { rows: roles } = await blue.query<{ rolname: string }>(
    `SELECT DISTINCT r.rolname FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
      WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
        AND EXISTS (SELECT 1 FROM unnest(s.setconfig) AS c
                     WHERE lower(c) ~ '^default_transaction_read_only=${FALSE_SETTING}$')
      ORDER BY 1 LIMIT 5`,
  );
  const problems = [
    ...(sight[0]?.sees === true
      ? []
      : [
          "the fencing role cannot see other roles' sessions, so the fence would not end them " +
            '(GRANT pg_read_all_stats to it; RDS grants it to rds_superuser)',
        ]),
    ...(prepared.length > 0
      ? [
          `prepared transaction(s) ${prepared.map((p) => JSON.stringify(p.gid.slice(0, 64))).join(', ')} ` +
            'would commit through the fence (COMMIT PREPARED or ROLLBACK PREPARED them first)',
        ]
      : []),
    ...(roles.length > 0
      ? [
          `role(s) ${roles.map((r) => JSON.stringify(r.rolname)).join(', ')} set default_transaction_read_only ` +
            '= off for themselves, which overrides the fence (ALTER ROLE … RESET default_transaction_read_only)',
        ]
      : []),
  ];
  if (problems.length > 0)
    throw new CutoverError(
      'FenceBypassable',
      `blue's fence would not stop every write: ${problems.join('; ')}. Nothing was fenced or flipped.`,
    );
}

/**
 * Readies the cutover before blue is fenced, so the fenced window stays short: fences green (its sessions
 * default to read-only and current ones are ended; the subscription's apply worker keeps applying), so no
 * application write can land on green before the cutover finishes; makes sure the barrier table exists on
 * both sides and is replicated. Idempotent.
 */
export async function prepareCutover(blue: Client, green: Client, subscription: string): Promise<void> {
  await asFenceKeeper(blue);
  await asFenceKeeper(green);
  const sub = await findSubscription(green, subscription);
  if (sub === undefined)
    throw new CutoverError('SubscriptionMissing', `green has no subscription ${subscription}`);
  if (!sub.enabled)
    throw new CutoverError('NotSynchronized', `subscription ${subscription} on green is disabled`);
  await refuseRotatedSubscriptionUser(blue, subscription);
  await refuseFenceBypasses(blue);
  const ddl = `CREATE TABLE IF NOT EXISTS public.${BARRIER_TABLE} (token uuid PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now())`;
  await blue.query(ddl);
  await green.query(ddl);
  for (const publication of sub.publications) {
    const { rows } = await blue.query<{ all: boolean; has: boolean }>(
      `SELECT p.puballtables AS all,
              EXISTS (SELECT 1 FROM pg_publication_tables t
                       WHERE t.pubname = p.pubname AND t.schemaname = 'public' AND t.tablename = $2) AS has
         FROM pg_publication p WHERE p.pubname = $1`,
      [publication, BARRIER_TABLE],
    );
    const row = rows[0];
    if (row !== undefined && !row.all && !row.has) {
      await blue.query(`ALTER PUBLICATION ${quoteIdent(publication)} ADD TABLE public.${BARRIER_TABLE}`);
    }
  }
  const { rows: subscribed } = await green.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
      WHERE s.subname = $1 AND r.srrelid = $2::regclass`,
    [subscription, `public.${BARRIER_TABLE}`],
  );
  if ((subscribed[0]?.n ?? 0) === 0) {
    await green.query(
      `ALTER SUBSCRIPTION ${quoteIdent(subscription)} REFRESH PUBLICATION WITH (copy_data = false)`,
    );
  }
  await fenceDatabase(green);
}

/**
 * New sessions default to read-only; every other client session this session may end is ended (superuser
 * sessions, such as RDS's rdsadmin, are skipped and counted). Replication workers carry on.
 */
async function fenceDatabase(
  client: Client,
): Promise<{ terminatedSessions: number; skippedSessions: number }> {
  await asFenceKeeper(client);
  const database = await currentDatabase(client);
  await client.query(`ALTER DATABASE ${quoteIdent(database)} SET default_transaction_read_only = on`);
  const { rows } = await client.query<{ terminated: number; skipped: number }>(
    `SELECT count(*) FILTER (WHERE endable AND pg_terminate_backend(pid))::int AS terminated,
            count(*) FILTER (WHERE NOT endable)::int AS skipped
       FROM (SELECT a.pid, ${ENDABLE_SESSION} AS endable
               FROM pg_stat_activity a
              WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
                AND a.backend_type = 'client backend') AS sessions`,
  );
  return { terminatedSessions: rows[0]?.terminated ?? 0, skippedSessions: rows[0]?.skipped ?? 0 };
}

/**
 * Stops writes on blue: new sessions default to read-only, and every other client session of the database
 * that may be ended is terminated (replication senders are not clients and keep streaming; superuser sessions
 * such as RDS's rdsadmin cannot be ended by rds_superuser and are skipped). A write attempted from now on by
 * an application session fails before it is acknowledged. Returns how many sessions were ended and skipped.
 */
export async function fenceBlue(
  blue: Client,
): Promise<{ terminatedSessions: number; skippedSessions: number }> {
  return fenceDatabase(blue);
}

/** Lifts the fence on blue (the abort path). Idempotent. */
export async function unfenceBlue(blue: Client): Promise<void> {
  await asFenceKeeper(blue);
  const database = await currentDatabase(blue);
  await blue.query(`ALTER DATABASE ${quoteIdent(database)} RESET default_transaction_read_only`);
}

/**
 * Writes a barrier row on blue and waits, bounded, until green has applied it. Logical replication applies
 * in commit order, so every transaction blue committed before the barrier is then on green.
 */
export async function waitForCatchUp(
  blue: Client,
  green: Client,
  options: { subscription: string; timeoutMs: number; pollMs: number },
): Promise<{ caughtUpMs: number; blueLsn: string }> {
  const token = randomUUID();
  await asFenceKeeper(blue);
  await blue.query('BEGIN READ WRITE');
  await blue.query(`INSERT INTO public.${BARRIER_TABLE} (token) VALUES ($1)`, [token]);
  await blue.query('COMMIT');
  const started = performance.now();
  let notReady = 0;
  const timedOut = () =>
    new CutoverError(
      'CatchUpTimeout',
      notReady > 0
        ? `green did not apply blue's last writes within ${options.timeoutMs} ms (${notReady} subscribed table(s) still in their initial copy)`
        : `green did not apply blue's last writes within ${options.timeoutMs} ms (barrier ${token} not replicated)`,
    );
  for (;;) {
    const remaining = Math.max(1, Math.round(options.timeoutMs - (performance.now() - started)));
    // A stalled green (locks, overload) must not hold the poll past the catch-up limit.
    await green.query(`SET statement_timeout = ${remaining}`);
    let applied: boolean;
    try {
      const { rowCount } = await green.query(`SELECT 1 FROM public.${BARRIER_TABLE} WHERE token = $1`, [
        token,
      ]);
      // A table still in its initial copy is replicated by its own sync worker, which may trail the barrier:
      // caught up means the barrier arrived and every subscribed table is past that stage ('r', ready).
      const { rows } = await green.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
          WHERE s.subname = $1 AND r.srsubstate <> 'r'`,
        [options.subscription],
      );
      notReady = rows[0]?.n ?? 0;
      applied = (rowCount ?? 0) > 0 && notReady === 0;
    } catch (error) {
      if (errorCode(error) === '57014') throw timedOut();
      throw error;
    } finally {
      await green.query('RESET statement_timeout').catch(() => undefined);
    }
    if (applied) break;
    if (performance.now() - started >= options.timeoutMs) throw timedOut();
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
  const lsn = await blue.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  return { caughtUpMs: Math.round(performance.now() - started), blueLsn: lsn.rows[0]?.lsn ?? '' };
}

/** The tables green's subscription replicates (table keys), the barrier table left out. */
async function subscribedTables(green: Client, subscription: string): Promise<string[]> {
  const { rows } = await green.query<{ t: string }>(
    `SELECT ${tableKeySql('n.nspname', 'c.relname')} AS t
       FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
       JOIN pg_class c ON c.oid = r.srrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND NOT (n.nspname = 'public' AND c.relname = $2)
      ORDER BY 1`,
    [subscription, BARRIER_TABLE],
  );
  return rows.map((r) => r.t);
}

/** Which of `tables` exist on this server (a table missing there counts as missing, not as an error). */
async function existingTables(client: Client, tables: readonly string[]): Promise<string[]> {
  if (tables.length === 0) return [];
  const { rows } = await client.query<{ t: string }>(
    // A table key is PostgreSQL's qualified-name text.
    'SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NOT NULL',
    [tables],
  );
  return rows.map((r) => r.t);
}

/**
 * The exact comparison, inside the fenced window after the catch-up: blue takes no writes and green has applied
 * every one blue acknowledged, so both hold the same transactions and their row counts must be equal. Counts
 * every table of the subscription and every application table of blue on both sides at once (one statement each, one snapshot), within
 * `budgetMs`: past it the counts are cancelled and the cutover aborts (FencedVerifyTimeout), so the write pause
 * stays bounded. Any difference is GreenDiverged, naming each table; the caller unfences blue, nothing flips.
 */
export async function verifyInFencedWindow(
  blue: Client,
  green: Client,
  options: {
    subscription: string;
    budgetMs: number;
    /**
     * Compare only the subscription's tables: a rollback, whose blue (the writer the migration made) has tables
     * the previous writer never had, and whose rows the way back knowingly does not carry.
     */
    onlySubscribed?: boolean;
  },
): Promise<{ tables: number; verifyMs: number }> {
  const started = performance.now();
  // Every table the subscription carries, and every application table of blue whether or not it does: a table
  // published only elsewhere, or not at all, never reaches green, and its rows would be lost at the flip.
  const [subscribed, onBlue] = await Promise.all([
    subscribedTables(green, options.subscription),
    options.onlySubscribed === true ? Promise.resolve([]) : applicationTables(blue),
  ]);
  const tables = [...new Set([...subscribed, ...onBlue])].sort();
  const onGreen = await existingTables(green, tables);
  const remaining = Math.max(1, Math.round(options.budgetMs - (performance.now() - started)));
  const count = async (client: Client, which: readonly string[]) => {
    await client.query(`SET statement_timeout = ${remaining}`);
    try {
      return await countTables(client, which);
    } finally {
      await client.query('RESET statement_timeout').catch(() => undefined);
    }
  };
  let counts: [Map<string, bigint>, Map<string, bigint>];
  try {
    counts = await Promise.all([count(blue, tables), count(green, onGreen)]);
  } catch (error) {
    if (errorCode(error) === '57014')
      throw new CutoverError(
        'FencedVerifyTimeout',
        `counting the ${tables.length} replicated table(s) took longer than the fenced verify budget of ` +
          `${options.budgetMs} ms; blue is unfenced and nothing flipped (raise fencedVerifyBudgetMs)`,
      );
    throw error;
  }
  const differences = countDifferences(counts[0], counts[1]);
  if (differences.length > 0)
    throw new CutoverError(
      'GreenDiverged',
      `green differs from blue with both holding the same transactions (blue fenced, green caught up): ` +
        `${differences.map(describeDifference).join('; ')}. Blue is unfenced and nothing flipped.`,
    );
  return { tables: tables.length, verifyMs: Math.round(performance.now() - started) };
}

/**
 * Logical replication does not copy sequences: sets each of green's sequences to blue's value (blue is fenced,
 * so its values are final), so green's next ids follow blue's last ones.
 */
export async function syncSequences(blue: Client, green: Client): Promise<{ name: string; value: string }[]> {
  await asFenceKeeper(green);
  const { rows } = await blue.query<{ schemaname: string; sequencename: string; last_value: string | null }>(
    'SELECT schemaname, sequencename, last_value::text FROM pg_sequences ORDER BY schemaname, sequencename',
  );
  const synced: { name: string; value: string }[] = [];
  for (const seq of rows) {
    if (seq.last_value === null) continue;
    const name = `${quoteIdent(seq.schemaname)}.${quoteIdent(seq.sequencename)}`;
    const { rowCount } = await green.query(
      'SELECT 1 FROM pg_sequences WHERE schemaname = $1 AND sequencename = $2',
      [seq.schemaname, seq.sequencename],
    );
    if ((rowCount ?? 0) === 0) continue;
    await green.query(
      `SELECT setval('${name.replace(/'/g, "''")}', ${BigInt(seq.last_value).toString()}, true)`,
    );
    synced.push({ name: `${seq.schemaname}.${seq.sequencename}`, value: seq.last_value });
  }
  return synced;
}

/**
 * After DNS answers green: stop replicating from blue (blue stays fenced; its slot is dropped with the
 * subscription), then lift green's fence so it accepts writes. Idempotent.
 */
export async function finishCutover(
  green: Client,
  subscription: string,
  /** Runs after the subscription is dropped and before green opens to writes (the way back is set up here). */
  beforeOpening: () => Promise<void> = () => Promise.resolve(),
): Promise<{ droppedSubscription: boolean }> {
  await asFenceKeeper(green);
  const database = await currentDatabase(green);
  const sub = await findSubscription(green, subscription);
  if (sub !== undefined) {
    await green.query(`ALTER SUBSCRIPTION ${quoteIdent(subscription)} DISABLE`);
    await green.query(`DROP SUBSCRIPTION ${quoteIdent(subscription)}`);
  }
  await beforeOpening();
  await green.query(`ALTER DATABASE ${quoteIdent(database)} RESET default_transaction_read_only`);
  return { droppedSubscription: sub !== undefined };
}
