/**
 * What the local world's CreateDBInstance gives a new instance (a provisioned green): a new database on a
 * running local server, its master user as RDS was asked for, and an RDS endpoint name that resolves to that
 * server (endpoint-dns.ts). Used by the rehearsal and the workflow tests alike.
 */
import { execute } from '../local-postgres/replication';
import type { PostgresServer } from '../local-postgres/server';
import { localRdsEndpoint } from './endpoint-dns';
import type { SimulatedInstance } from './rds';

export function newInstanceOn(server: PostgresServer) {
  return async (
    instance: SimulatedInstance,
    master: { username: string; password: string; database: string },
  ): Promise<void> => {
    await execute(
      server,
      'postgres',
      `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${master.username}') THEN
         CREATE ROLE ${master.username} LOGIN SUPERUSER; END IF; END $$`,
      `ALTER ROLE ${master.username} PASSWORD '${master.password.replace(/'/g, "''")}'`,
      `CREATE DATABASE ${master.database} OWNER ${master.username}`,
    );
    instance.endpoint = localRdsEndpoint(instance.id, instance.region);
    instance.port = server.port;
  };
}
