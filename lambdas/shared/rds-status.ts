/** Statuses an RDS instance does not leave by itself: waiting on them only runs out the rounds. */
export const TERMINAL_DB_STATUSES: ReadonlySet<string> = new Set([
  'failed',
  'incompatible-network',
  'incompatible-option-group',
  'incompatible-parameters',
  'incompatible-restore',
  'inaccessible-encryption-credentials',
  'inaccessible-encryption-credentials-recoverable',
  'restore-error',
  'storage-full',
]);
