/**
 * What green provisioning and blue's retirement share with the CDK app: the tags every provisioned green carries. IAM lets the workflows create, tag and later delete only instances
 * with them (the CDK app grants on these names; the green instance step writes them): one definition for both.
 */
export const PROVISIONED_BY_TAG = 'pg-dr:provisioned-by';
/** The blue a green was made from: a rerun carries on only with a green of the same blue. */
export const GREEN_OF_TAG = 'pg-dr:green-of';
/** The tag the DR rebuild puts on each replica it creates: blue's retirement deletes only replicas with it. */
export const DR_REPLICA_ROLE = { key: 'pg-dr:role', value: 'dr-replica' } as const;
/** The longest way-back window the config allows (14 days: the writer retains WAL for blue all along): the blue retirement workflow's timeout covers it. */
export const WAY_BACK_WINDOW_HOURS_MAX = 336;
/** The tag on a restore test's throwaway instance: the restore-test role may delete only instances with it. */
export const RESTORE_TEST_ROLE = { key: 'pg-dr:role', value: 'restore-test' } as const;
/** The throwaway instances' name prefix, `<resource prefix>-restore-test-`: IAM grants on it, the code checks it. */
export const restoreTestNamePrefix = (resourcePrefix: string): string => `${resourcePrefix}-restore-test-`;
/**
 * The tags `dr restore` puts on the instance it restores: what it was restored from, and to when (an ISO time,
 * or `latest`). A region failover adopts as the writer only an instance that carries them (`dr failover --adopt`).
 */
export const RESTORED_FROM_TAG = 'pg-dr:restored-from';
export const RESTORE_POINT_TAG = 'pg-dr:restore-point';
