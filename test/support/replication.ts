// The replication helpers live in lib/ because the rehearsal and the benchmarks use them too.
export * from '../../lib/local-postgres/replication';
