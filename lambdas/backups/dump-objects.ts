/**
 * The names of the backup tasks' objects in the backup buckets, as constants (the CDK app loads this file for
 * its grants and lifecycle rules: no imports).
 */

/** The two objects of a dump: the file, then its manifest (written last). */
export const DUMP_SUFFIX = '.dump';
export const MANIFEST_SUFFIX = '.manifest.json';

/**
 * Where the dump restore tests' reports go in the DR region's bucket: a folder of their own, outside the dumps'
 * prefix, whose expiry (`backups.dumps.retentionDays`) would take them before Step Functions forgets the runs
 * (90 days). They expire after DUMP_CHECK_REPORT_DAYS.
 */
export const DUMP_CHECK_REPORT_PREFIX = 'dump-restore-checks/';

/** Days a report is kept: a year of monthly proofs, longer than Step Functions lists a closed run. */
export const DUMP_CHECK_REPORT_DAYS = 400;
