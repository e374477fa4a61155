/**
 * Whether this session may end the client session `a` (a SQL expression over `pg_stat_activity a`), for the
 * fences of the cutover and the failover. PostgreSQL lets a non-superuser signal only
 * sessions of roles it is a member of, or any non-superuser session as a member of pg_signal_backend (RDS's
 * rds_superuser is); a superuser's session (RDS's own rdsadmin) only a superuser may end, and asking for one
 * fails the whole statement. Those are skipped, and counted.
 */
export const ENDABLE_SESSION = `(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       OR (NOT COALESCE((SELECT r.rolsuper FROM pg_roles r WHERE r.oid = a.usesysid), false)
           AND (pg_has_role(current_user, a.usesysid, 'MEMBER')
                OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER')))`;

/**
 * Whether this session sees the details of every other session in pg_stat_activity (backend_type, wait_event):
 * a superuser, or a member of pg_read_all_stats (RDS's rds_superuser sees every connection). Without it, those
 * columns read NULL for other roles' sessions.
 */
export const SEES_ALL_SESSIONS = `((SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER'))`;
