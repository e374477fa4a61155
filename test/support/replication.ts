import { Client } from 'pg';
import type { PostgresServer } from './postgres';

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
 * Logical replication from blue to green, as a blue-green migration sets it up: a publication of all tables
 * on blue (started with wal_level=logical), a subscription on green over verified TLS. Green must already
 * have the tables.
 */
export async function subscribeGreenToBlue(
  blue: PostgresServer,
  green: PostgresServer,
  database: string,
  names: { publication: string; subscription: string } = {
    publication: 'dr_blue_green',
    subscription: 'dr_blue_green',
  },
): Promise<void> {
  await execute(blue, database, `CREATE PUBLICATION ${names.publication} FOR ALL TABLES`);
  const conninfo = [
    `host=${blue.host}`,
    `port=${blue.port}`,
    `user=${blue.user}`,
    `password=${blue.password}`,
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
