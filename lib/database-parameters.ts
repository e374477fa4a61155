/**
 * The PostgreSQL parameters every DR instance must run with: TLS only, and logical replication for the
 * blue-green cutovers. The CDK parameter groups set them; `dr doctor` checks them in the account.
 */
export const REQUIRED_DATABASE_PARAMETERS: Readonly<Record<string, string>> = {
  'rds.force_ssl': '1',
  'rds.logical_replication': '1',
};
