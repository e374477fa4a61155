/**
 * Logical replication between local servers, as a blue-green migration sets it up on RDS: used by the
 * rehearsal, the tests and the benchmarks.
 */
import { Client } from 'pg';
import { localPassword, type PostgresServer } from './server';

/** The dedicated replication user of each test server (one per cluster), as production needs one. */
const replicationPasswords = new WeakMap<PostgresServer, string>();
export const REPLICATION_USER = 'dr_replication';

/**
 * A dedicated replication user on `server`, allowed to read `database`'s tables (the initial copy), as a
 * production subscription must use (its password is not rotated; the master user's is). Idempotent.
 */
export async function replicationUser(
  server: PostgresServer,
  database: string,
  tables?: readonly string[],
): Promise<{ user: string; password: string }> {
  let password = replicationPasswords.get(server);
  if (password === undefined) {
    password = localPassword();
    replicationPasswords.set(server, password);
    await execute(
      server,
      'postgres',
      `DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${REPLICATION_USER}') THEN
           CREATE ROLE ${REPLICATION_USER} LOGIN REPLICATION;
         END IF;
       END $$`,
      `ALTER ROLE ${REPLICATION_USER} PASSWORD '${password}'`,
    );
  }
  await execute(
    server,
    database,
    ...(tables === undefined
      ? [
          `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${REPLICATION_USER}`,
          `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${REPLICATION_USER}`,
        ]
      : [`GRANT SELECT ON ${tables.join(', ')} TO ${REPLICATION_USER}`]),
  );
  return { user: REPLICATION_USER, password };
}

export async function execute(
  server: PostgresServer,
  database: string,
  ...statements: string[]
): Promise<void> {
  const client = new Client(server.clientConfig(database));
  client.on('error', () => undefined);
  await client.connect();
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Logical replication from blue to green, as a blue-green migration sets it up: a publication on blue (started
 * with wal_level=logical) of all tables, or of `tables` (SQL names) as the preparation docs list them, and a
 * subscription on green over verified TLS, as blue's dedicated replication user. Green must already have the
 * tables.
 */
export async function subscribeGreenToBlue(
  blue: PostgresServer,
  green: PostgresServer,
  database: string,
  names: { publication: string; subscription: string } = {
    publication: 'dr_blue_green',
    subscription: 'dr_blue_green',
  },
  tables?: readonly string[],
): Promise<void> {
  await execute(
    blue,
    database,
    `CREATE PUBLICATION ${names.publication} ${tables === undefined ? 'FOR ALL TABLES' : `FOR TABLE ${tables.join(', ')}`}`,
  );
  const replication = await replicationUser(blue, database, tables);
  const conninfo = [
    `host=${blue.host}`,
    `port=${blue.port}`,
    `user=${replication.user}`,
    `password=${replication.password}`,
    `dbname=${database}`,
    ...(blue.tls === undefined
      ? ['sslmode=disable']
      : ['sslmode=verify-full', `sslrootcert=${green.rootDir}/tls/ca.crt`]),
  ].join(' ');
  await execute(
    green,
    database,
    `CREATE SUBSCRIPTION ${names.subscription} CONNECTION '${conninfo.replace(/'/g, "''")}' PUBLICATION ${names.publication}`,
  );
}

/**
 * Waits (bounded) until the standby has replayed everything the primary has written so far: what a streaming
 * replica that kept up holds when its writer is lost.
 */
export async function caughtUp(
  primary: PostgresServer,
  standby: PostgresServer,
  database: string,
  timeoutMs = 30_000,
): Promise<void> {
  const lsnOf = async (server: PostgresServer, sql: string, ...params: string[]) => {
    const client = new Client(server.clientConfig(database));
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<{ value: string | boolean | null }>(sql, params)).rows[0]?.value ?? null;
    } finally {
      await client.end();
    }
  };
  const written = await lsnOf(primary, 'SELECT pg_current_wal_lsn()::text AS value');
  if (typeof written !== 'string') throw new Error(`${primary.name}: no current WAL position`);
  await eventually(
    async () =>
      (await lsnOf(
        standby,
        'SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS value',
        written,
      )) === true,
    timeoutMs,
  );
}

/** Waits (bounded) until `check` returns true. */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
