// The local PostgreSQL servers live in lib/ because the rehearsal starts them too.
export * from '../../lib/local-postgres/server';
