/**
 * The fault matrix: each row a failure, where it strikes, the end state the system must reach, and the test
 * that proves it. The table in docs/reliability.md is rendered from this list (`npx tsx test/faults/matrix.ts`),
 * and test/faults/matrix.test.ts fails if a row's test is missing or that table is stale.
 */
export interface FaultRow {
  readonly workflow:
    | 'blue-green migration'
    | 'green provisioning'
    | 'blue retirement'
    | 'failover drill'
    | 'DR rebuild'
    | 'region failover'
    | 'topology sync'
    | 'both';
  readonly step: string;
  readonly fault: string;
  readonly endState: string;
  /** Test file (from the repository root) and the exact test name. */
  readonly test: readonly [file: string, name: string];
}

const BG = 'test/workflows/blue-green-migration.test.ts';
const DRILL = 'test/workflows/failover-drill.test.ts';
const BG_FAULTS = 'test/faults/blue-green-faults.test.ts';
const ENGINE = 'test/lambdas/migrations/engine.test.ts';
const SYNC = 'test/lambdas/topology-sync.test.ts';
const DRILL_PREFLIGHT = 'test/lambdas/drill-preflight.test.ts';
const PROVISION = 'test/workflows/green-provisioning.test.ts';
const WAY_BACK = 'test/workflows/way-back.test.ts';
const RETIRE = 'test/workflows/blue-retirement.test.ts';
const WAY_BACK_END = 'test/lambdas/way-back.test.ts';

export const FAULT_MATRIX: readonly FaultRow[] = [
  {
    workflow: 'blue retirement',
    step: 'end the way back',
    fault: 'a retirement started for the writer the topology names (by hand, by mistake)',
    endState:
      'ends as superseded: no database or RDS call, nothing dropped, deleted or stopped; on-call told',
    test: [RETIRE, 'ends as superseded, touching nothing, a retirement of the writer the topology names'],
  },
  {
    workflow: 'blue retirement',
    step: 'end the way back',
    fault: 'blue unreachable when the window closes',
    endState:
      'the slot is dropped on the writer (no WAL retained for blue), then blue deleted or stopped; a kept blue’s subscription is left (dropped without its slot when ended again)',
    test: [
      WAY_BACK_END,
      'drops the slot on the writer when blue cannot, and blue’s subscription without it afterwards',
    ],
  },
  {
    workflow: 'blue retirement',
    step: 'end the way back',
    fault:
      'a cutover back to blue since the retirement started (a rollback, then a roll forward without stopping it)',
    endState: 'ends as superseded: nothing dropped, nothing retired; on-call told, not paged',
    test: [
      WAY_BACK,
      'rolls back without losing a write made on green, then rolls forward without losing one made on blue',
    ],
  },
  {
    workflow: 'blue retirement',
    step: 'plan',
    fault: 'blue has a read replica the DR rebuild did not make',
    endState: 'the way back ends; blue kept, the replica named; nothing deleted or stopped; on-call told',
    test: [
      RETIRE,
      'keeps a blue with a read replica the DR rebuild did not make, naming it, and deletes nothing',
    ],
  },
  {
    workflow: 'green provisioning',
    step: 'check blue',
    fault: 'blue holds what logical replication cannot carry (a table without a primary key)',
    endState:
      'refused before anything is created (no instance, secret or publication); on-call told each problem and its fix',
    test: [PROVISION, 'refuses, creating nothing, a blue that holds what logical replication cannot carry'],
  },
  {
    workflow: 'green provisioning',
    step: 'initial copy',
    fault: 'a table copy that keeps failing (green never finishes its initial copy)',
    endState: 'stops after 20 copy errors, naming the table; on-call paged; blue serves, nothing cut over',
    test: [
      PROVISION,
      'a green that never finishes its initial copy: stops after 20 copy errors, pages, blue serves, nothing cut over',
    ],
  },
  {
    workflow: 'green provisioning',
    step: 'migration (nested)',
    fault: 'the migration fails after migrating green',
    endState: 'blue serves; green kept; the same command carries on with green ahead of blue and cuts over',
    test: [
      PROVISION,
      'carries on with the green it made when started again after its migration failed (green already ahead of blue)',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'prepare cutover (way back)',
    fault: 'the migration makes the way back impossible (a dropped NOT NULL column)',
    endState: 'refused before anything is fenced; blue serves; on-call told which column',
    test: [
      WAY_BACK,
      'refuses a cutover whose migration makes the way back impossible, before fencing anything',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'rollback',
    fault: 'blue (the previous writer) unreachable',
    endState: 'nothing fenced or flipped; green serves; the way back catches up once blue returns',
    test: [
      WAY_BACK,
      'a rollback with blue unreachable changes nothing: green keeps serving, the way back waits',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'input',
    fault: 'malformed input (password in a URL, missing fields)',
    endState: 'rejected before anything runs; on-call told which fields',
    test: [BG, 'rejects a malformed input before touching anything, and says which fields'],
  },
  {
    workflow: 'blue-green migration',
    step: 'connectivity check',
    fault: 'green unreachable',
    endState: 'stops; blue serves; on-call told the step',
    test: [BG, 'stops before anything when green is unreachable, and tells on-call which step failed'],
  },
  {
    workflow: 'blue-green migration',
    step: 'migrate',
    fault: 'a migration fails on green',
    endState: 'stops; blue untouched and serving; failure recorded in _prisma_migrations',
    test: [BG, 'stops at a failing migration with blue untouched and serving'],
  },
  {
    workflow: 'blue-green migration',
    step: 'migrate',
    fault: 'a migration file leaves its transaction open, rolls back or prepares its work',
    endState: 'recorded failed (P3018, with logs), never reported applied; later migrations not run',
    test: [
      ENGINE,
      'fails a file that leaves its transaction open (nothing was committed) instead of calling it applied',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'migrate',
    fault: "a migration's own error reads like a lost connection ('Connection terminated', 57P03)",
    endState: 'recorded failed with its logs (told by SQLSTATE and severity, not by the message text)',
    test: [
      ENGINE,
      'records a script error that merely reads like a lost connection as a failed migration with logs',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'migration plan',
    fault: 'plan or status while a deploy is applying a migration',
    endState: 'reported in progress (the migration lock is held), not failed; nothing blocked',
    test: [ENGINE, 'tells a running migration (lock held by its deploy) from a failed one, in plan'],
  },
  {
    workflow: 'blue-green migration',
    step: 'verify',
    fault: 'green out of line with blue',
    endState: 'stops before the cutover; blue serves',
    test: [BG, 'stops when verification finds green out of line with blue'],
  },
  {
    workflow: 'blue-green migration',
    step: 'smoke test',
    fault: 'application health failing before the cutover',
    endState: 'stops before the cutover; blue serves',
    test: [BG, 'stops when the smoke test fails before the cutover'],
  },
  {
    workflow: 'blue-green migration',
    step: 'cutover',
    fault: 'green not subscribed to blue',
    endState: 'refused (writes would be lost) unless explicitly accepted',
    test: [BG, 'refuses an unsynchronized flip unless the input accepts it'],
  },
  {
    workflow: 'blue-green migration',
    step: 'fence and catch-up',
    fault: 'green stops applying while blue is fenced',
    endState: 'bounded wait, then blue unfenced; no write lost; blue serves',
    test: [BG, 'aborts and unfences blue when green stops applying during the fence'],
  },
  {
    workflow: 'blue-green migration',
    step: 'DNS flip',
    fault: 'Route 53 refuses the change',
    endState: 'DNS back on blue, blue unfenced; on-call notified',
    test: [BG, 'rolls DNS back to blue and unfences it when the flip fails'],
  },
  {
    workflow: 'blue-green migration',
    step: 'final smoke test',
    fault: 'application failing after the flip',
    endState: 'DNS rolled back to blue; on-call notified',
    test: [BG, 'rolls DNS back to blue when the final smoke test fails after the flip'],
  },
  {
    workflow: 'blue-green migration',
    step: 'DNS rollback',
    fault: 'Route 53 refuses the rollback after a failed final smoke test',
    endState:
      'URGENT page with the way back; record on green; blue and green both refuse writes (nothing diverges)',
    test: [
      BG_FAULTS,
      'the rollback after a failed final smoke test is refused too: URGENT page; the record stays on green, both sides refuse writes (nothing diverges)',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'DR rebuild',
    fault: 'the DR rebuild cannot start (its role may not start it)',
    endState: 'green serves; DR reported degraded; on-call notified',
    test: [
      BG,
      'pages and still reports the cutover when the DR rebuild cannot start (its role may not start it: AccessDeniedException)',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'record the topology',
    fault: 'the topology changed since the migration was planned (its writer is no longer blue)',
    endState:
      'green serves; the later topology is kept; URGENT page: record green by hand, change no record meanwhile',
    test: [
      BG,
      'cuts over but records nothing over a topology that changed since it was planned, and pages URGENT',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'point SECONDARY',
    fault: 'Route 53 does not take the SECONDARY change after green is recorded (DnsChangeNotInSync)',
    endState:
      'green serves and is recorded; URGENT page: SECONDARY still answers the replica of blue, keep blue, point it at green by hand; the DR rebuild still starts',
    test: [
      BG,
      'pages URGENT when SECONDARY cannot be repointed after the cutover, and still starts the DR rebuild',
    ],
  },
  {
    workflow: 'DR rebuild',
    step: 'create the replica',
    fault: 'the topology does not name the source as the writer (a stale rebuild or re-protect)',
    endState: 'nothing created; topology and records unchanged; on-call paged; the execution fails',
    test: [
      'test/workflows/dr-rebuild.test.ts',
      'creates nothing for a database the topology does not name as the writer (a stale rebuild), and pages',
    ],
  },
  {
    workflow: 'DR rebuild',
    step: 'point SECONDARY',
    fault: 'the health checks watch a database that is no longer the writer (after a failover or a cutover)',
    endState:
      'replica recorded; SECONDARY answers the writer, so the retired primary going away cannot send clients to the read-only replica',
    test: [
      'test/workflows/dr-rebuild.test.ts',
      're-protects after a failover: a replica of the promoted writer in the home region, on its placement, recorded',
    ],
  },
  {
    workflow: 'DR rebuild',
    step: 'attach the DR parameter group',
    fault: 'the step role lacks rds:ModifyDBInstance (AccessDenied)',
    endState: 'DR still degraded; on-call paged with the cause; rerun with the same input carries on',
    test: [
      'test/workflows/dr-rebuild.test.ts',
      'fails as AWS would when the step role lacks rds:ModifyDBInstance, and pages with the cause',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'safety net',
    fault: 'execution ended after the cutover finished, before green was recorded in the topology',
    endState:
      'the net records green (as the migration itself would have); a redelivered event writes nothing new',
    test: [
      'test/workflows/blue-green-safety-net.test.ts',
      'ended after finishing the cutover but before recording it: the net records green in the topology',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'safety net',
    fault: 'execution ended after green was recorded, before SECONDARY was pointed at it',
    endState: 'the net points SECONDARY where the topology says (green), recording nothing new',
    test: [
      'test/workflows/blue-green-safety-net.test.ts',
      'ended after recording green but before repointing SECONDARY: the net repoints it, recording nothing new',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'safety net',
    fault: 'finishing the cutover fails inside the net (green down)',
    endState: 'URGENT page: finish on green by hand, never back to blue',
    test: [
      'test/workflows/blue-green-safety-net.test.ts',
      'when finishing the cutover fails, the page says to finish on green, never to go back to blue',
    ],
  },
  {
    workflow: 'DR rebuild',
    step: 'each round',
    fault: 'RDS throttles (past the step retries)',
    endState: 'left to the next round; the rebuild completes',
    test: [
      'test/workflows/dr-rebuild.test.ts',
      'leaves an error that may pass (RDS throttling) to the next round instead of failing a long rebuild',
    ],
  },
  {
    workflow: 'DR rebuild',
    step: 'wait for RDS',
    fault: 'RDS never finishes the replica',
    endState: 'gives up after its bounded rounds; on-call paged',
    test: [
      'test/workflows/dr-rebuild.test.ts',
      'gives up after its bounded rounds when RDS never finishes, and pages',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'safety net',
    fault: 'execution stopped after the flip, blue fenced',
    endState: 'record back at blue, blue unfenced, on-call told',
    test: [
      'test/workflows/blue-green-safety-net.test.ts',
      'aborted after the flip, blue fenced: the net points the record back at blue, unfences it, and pages',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'safety net',
    fault: 'execution stopped while the flip Lambda runs',
    endState: 'waits out the Lambda, then rolls back',
    test: [
      'test/workflows/blue-green-safety-net.test.ts',
      'aborted while the flip was running: waits until that Lambda must have ended, then rolls back',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'safety net',
    fault: 'execution stopped while finishing the cutover',
    endState: 'cutover finished: green takes writes, record names green',
    test: [
      'test/workflows/blue-green-safety-net.test.ts',
      'ended while finishing the cutover: the net finishes it (the record names green), so green takes writes',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'safety net',
    fault: 'another migration is cutting over when one ends abnormally',
    endState: 'net changes nothing under it; URGENT page',
    test: [
      'test/workflows/blue-green-safety-net.test.ts',
      'another migration is cutting over: the net changes nothing under it and pages URGENT',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'migrate',
    fault: 'green killed (kill -9) mid-migration, then restarted',
    endState:
      'blue serves; the migration recorded as interrupted; reruns refused until resolved, then the rerun cuts over',
    test: [
      BG_FAULTS,
      'green killed (kill -9) mid-migration: blue serves; the interrupted migration blocks reruns until resolved, then the rerun cuts over',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'verify',
    fault: 'a statement hangs on a lock past its timeout',
    endState: 'bounded (3 retries); blue serves; on-call told DatabaseTimeout',
    test: [
      BG_FAULTS,
      'a verify statement hangs on a lock past its timeout: bounded retries, then blue serves and on-call is told',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'fence and catch-up',
    fault: 'green killed (kill -9) while blue is fenced, then restarted',
    endState: 'blue unfenced and serving; no acknowledged write lost; a rerun cuts over',
    test: [
      BG_FAULTS,
      'green killed (kill -9) while blue is fenced: blue unfenced and serving, no acknowledged write lost; after restart a rerun cuts over',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'fence and catch-up',
    fault: 'blue killed (kill -9) while fenced, back within the abort retries',
    endState: 'abort retried until blue answers; blue unfenced; no acknowledged write lost',
    test: [
      BG_FAULTS,
      'blue killed (kill -9) while fenced and back within the abort retries: unfenced, serving, no acknowledged write lost',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'fence and catch-up',
    fault: 'blue down past the abort retries (about 6 minutes)',
    endState: 'URGENT page with the SQL that lifts the fence; DNS names blue; reruns refuse at blue',
    test: [
      BG_FAULTS,
      'blue down past the abort retries: an URGENT page says blue may still be fenced and how to lift it',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'finish cutover',
    fault: 'green killed (kill -9) after the DNS flip, then restarted',
    endState: 'DNS back on blue, blue unfenced; no acknowledged write lost; a rerun cuts over',
    test: [
      BG_FAULTS,
      'green killed (kill -9) after the DNS flip, before the cutover finishes: DNS back on blue, blue unfenced, no acknowledged write lost',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'fence and catch-up',
    fault: 'the Lambda crashes mid-step (sessions gone, task timed out)',
    endState: 'blue unfenced by the workflow; no acknowledged write lost; a rerun cuts over',
    test: [
      BG_FAULTS,
      'the fence step crashes mid-run (Lambda killed, sessions gone): blue unfenced by the workflow, no write lost; a rerun cuts over',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'every step',
    fault: 'each step completes, loses its result (Lambda crash) and is retried',
    endState: 'still cuts over; nothing applied twice; no acknowledged write lost; nobody paged',
    test: [
      BG_FAULTS,
      'every step run twice (completed, result lost, retried): still cuts over, nothing applied twice, no write lost',
    ],
  },
  {
    workflow: 'failover drill',
    step: 'every step',
    fault: 'each step completes, loses its result (Lambda crash) and is retried',
    endState: 'the drill succeeds; one health-check change each way; restored',
    test: [
      DRILL,
      'every step run twice (completed, result lost, retried): the drill still succeeds, one change each way',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'fence and catch-up',
    fault: 'a table of blue the subscription does not carry (published elsewhere, or missing on green)',
    endState: 'GreenDiverged names the table; blue unfenced; nothing flipped',
    test: [
      'test/lambdas/cutover.test.ts',
      'compares every application table of blue in the fenced window, not only what the subscription carries',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'cutover prepare / fence',
    fault: 'a prepared transaction or a role overriding default_transaction_read_only on blue',
    endState: 'FenceBypassable before anything is fenced; nothing flipped',
    test: [
      'test/lambdas/cutover.test.ts',
      'refuses what writes through the fence: a prepared transaction, a role that turns the default off',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'verify',
    fault: 'blue keeps taking writes while counted; green really missing or holding rows',
    endState:
      'row counts undecided, never passed (decided in the fenced window); with blue still, a difference fails',
    test: [
      'test/lambdas/verify.test.ts',
      'never passes a diverged green while blue takes writes: undecided, decided in the fenced window',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'fence and catch-up',
    fault: 'green missing a row after verify (diverged), blue under writes',
    endState: 'GreenDiverged names the table; blue unfenced; nothing flipped',
    test: [
      BG,
      'aborts in the fenced window when green diverged after verify: GreenDiverged, blue unfenced, nothing flipped',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'fence and catch-up',
    fault: 'the exact comparison in the fenced window exceeds its budget',
    endState: 'FencedVerifyTimeout; blue unfenced; nothing flipped',
    test: [
      'test/lambdas/cutover.test.ts',
      'aborts when the fenced comparison exceeds its budget (FencedVerifyTimeout)',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'connectivity check',
    fault: 'a published table without a replica identity (Prisma < 6 many-to-many)',
    endState: 'ReplicationNotReady names the table and the index to use; nothing touched',
    test: [
      BG,
      "refuses at blue's connectivity check a published table without a replica identity, naming the fix",
    ],
  },
  {
    workflow: 'failover drill',
    step: 'preflight',
    fault: 'unhealthy check and a migration running',
    endState: 'refused with every reason; nothing touched',
    test: [DRILL, 'refuses at preflight, saying why, and touches nothing'],
  },
  {
    workflow: 'failover drill',
    step: 'preflight',
    fault: 'malformed input (password in a URL)',
    endState: 'refused; nothing touched; the password not echoed',
    test: [DRILL, 'rejects a malformed input at preflight without touching anything'],
  },
  {
    workflow: 'failover drill',
    step: 'observe failover',
    fault: 'Route 53 never answers the replica',
    endState: 'health check restored before on-call is notified',
    test: [DRILL, 'aborts when failover is never observed, restoring the health check before notifying'],
  },
  {
    workflow: 'failover drill',
    step: 'verify secondary reads',
    fault: 'clients never reach the replica (disruption over budget)',
    endState: 'aborted at the budget; health check restored; on-call notified',
    test: [
      DRILL,
      'aborts and restores at once when the disruption exceeds its budget (clients never reach the replica)',
    ],
  },
  {
    workflow: 'failover drill',
    step: 'observe failover',
    fault: 'the primary really fails during the drill',
    endState: 'drill stops; health check restored (real health decides); on-call notified',
    test: [DRILL, 'stops when a watched check turns unhealthy during the drill: a real outage'],
  },
  {
    workflow: 'failover drill',
    step: 'restore',
    fault: 'Route 53 fails the restore once',
    endState: 'retried; restored; drill succeeds',
    test: [DRILL, 'retries a restore that fails once, and still succeeds'],
  },
  {
    workflow: 'failover drill',
    step: 'restore',
    fault: 'Route 53 keeps failing the restore',
    endState: 'URGENT page naming dr drill restore',
    test: [DRILL, 'pages loudly when the health check cannot be restored at all'],
  },
  {
    workflow: 'failover drill',
    step: 'invert health check',
    fault: 'Route 53 throttles the inversion',
    endState: 'retried inside the step; the drill succeeds',
    test: [DRILL, 'retries an inversion Route 53 throttles, inside the step, and succeeds'],
  },
  {
    workflow: 'failover drill',
    step: 'observe failover',
    fault: 'CloudWatch throttles health-check status reads',
    endState: 'drill stops; health check restored before on-call is notified',
    test: [
      DRILL,
      'stops safely when CloudWatch throttles status reads mid-drill: restored first, on-call told',
    ],
  },
  {
    workflow: 'failover drill',
    step: 'S3 probe',
    fault: 'probe object never replicates',
    endState: 'health check restored; on-call notified with the figures so far',
    test: [DRILL, 'fails when the S3 probe object never replicates, after restoring'],
  },
  {
    workflow: 'failover drill',
    step: 'report',
    fault: 'DNS failover slower than its budget',
    endState: 'completes, restored, fails as over budget; pages',
    test: [DRILL, 'completes but fails as over budget when DNS failover is slower than its budget'],
  },
  {
    workflow: 'failover drill',
    step: 'verify secondary reads',
    fault: 'the replica killed (kill -9) while clients fail over to it',
    endState: 'health check restored before on-call is told; the replica recovers; the next drill passes',
    test: [
      DRILL,
      'the replica killed (kill -9) while clients fail over to it: restored first, on-call told; it recovers after restart',
    ],
  },
  {
    workflow: 'failover drill',
    step: 'verify primary writes',
    fault: 'the primary killed (kill -9) during failback',
    endState: 'restored; on-call told PrimaryNotServed (unreachable); the next drill passes',
    test: [
      DRILL,
      'the primary killed (kill -9) during failback: restored, on-call told which step; it recovers after restart',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'DNS flip',
    fault: 'Route 53 throttling and PriorRequestNotComplete',
    endState: 'retried with backoff, then succeeds',
    test: ['test/lambdas/dns-flip.test.ts', 'retries throttled and not-yet-complete calls with backoff'],
  },
  {
    workflow: 'blue-green migration',
    step: 'DNS flip',
    fault: 'Route 53 keeps throttling',
    endState: 'bounded; fails as Route53Unavailable (the workflow rolls back)',
    test: ['test/lambdas/dns-flip.test.ts', 'gives up when Route 53 keeps throttling'],
  },
  {
    workflow: 'blue-green migration',
    step: 'DNS flip',
    fault: 'the change never reaches INSYNC',
    endState: 'bounded; fails as DnsChangeNotInSync',
    test: ['test/lambdas/dns-flip.test.ts', 'stops waiting for INSYNC at the limit with a clear error'],
  },
  {
    workflow: 'blue-green migration',
    step: 'DNS flip',
    fault: 'the step runs again after the flip took',
    endState: 'only confirms; no second change',
    test: [
      'test/lambdas/dns-flip.test.ts',
      'only confirms a record that already points at the target (a retried step changes nothing)',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'DNS rollback',
    fault: 'a previous record with fields a flip never writes (AliasTarget, Weight, GeoLocation, ...)',
    endState: 'refused as InvalidInput naming the field; no Route 53 call',
    test: [
      'test/lambdas/dns-flip.test.ts',
      'rolls back only what a flip writes: a previous record with %s is refused, naming it',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'smoke test',
    fault: 'the URL carries a token (query value, fragment)',
    endState: 'the error and the report show the URL with every query value and the fragment masked',
    test: [
      'test/lambdas/smoke-test.test.ts',
      'shows the URL without its query values or fragment, in the error and in the report',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'smoke test',
    fault: 'the endpoint hangs',
    endState: 'each try bounded by its timeout; fails as SmokeTestFailed',
    test: ['test/lambdas/smoke-test.test.ts', 'gives up on a slow server after the per-try timeout'],
  },
  {
    workflow: 'blue-green migration',
    step: 'smoke test',
    fault: 'connection refused',
    endState: 'counted as a failed request, retried, then SmokeTestFailed',
    test: ['test/lambdas/smoke-test.test.ts', 'reports a refused connection as a failed request'],
  },
  {
    workflow: 'blue-green migration',
    step: 'connectivity check',
    fault: 'the server stops answering (hang)',
    endState: 'bounded; fails as DatabaseTimeout',
    test: ['test/lambdas/connectivity-check.test.ts', 'times out on a server that stopped answering'],
  },
  {
    workflow: 'blue-green migration',
    step: 'migrate',
    fault: 'two runs at once',
    endState: 'serialized on the advisory lock; each migration applied exactly once',
    test: [
      'test/lambdas/migrations/engine.test.ts',
      'serializes concurrent runs on the advisory lock: every migration applied exactly once',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'migrate',
    fault: 'the lock is held elsewhere',
    endState: 'gives up after the lock timeout (Prisma P1002)',
    test: [
      'test/lambdas/migrations/engine.test.ts',
      'gives up waiting for the lock after the lock timeout with Prisma P1002',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'cutover',
    fault: 'green stops applying during catch-up',
    endState: 'bounded; blue unfenced and taking writes again',
    test: [
      'test/lambdas/cutover.test.ts',
      'gives up catching up when green stops applying, and the unfenced blue takes writes again',
    ],
  },
  {
    workflow: 'failover drill',
    step: 'restore',
    fault: 'a permission error on the health check',
    endState: 'not retried in the step; fails fast with a clear error (the workflow retries and pages)',
    test: [
      'test/lambdas/drill-health-check.test.ts',
      'gives up after the bounded attempts with a clear error, and does not retry a permission error',
    ],
  },
  {
    workflow: 'failover drill',
    step: 'heartbeat probe',
    fault: 'the replica stops replaying',
    endState: 'bounded; fails as HeartbeatNotReplicated',
    test: ['test/lambdas/drill-replication.test.ts', 'gives up, bounded, when the replica stops replaying'],
  },
  {
    workflow: 'failover drill',
    step: 'S3 probe',
    fault: 'access denied on the replica bucket',
    endState: 'reported as the access error, not as a missing object',
    test: [
      'test/lambdas/drill-replication.test.ts',
      'does not mistake an access error for a missing object, and says what the role needs',
    ],
  },
  {
    workflow: 'both',
    step: 'health probe',
    fault: 'PostgreSQL killed (kill -9) and restarted',
    endState: 'unreachable while down (the alarm fires), reachable after restart',
    test: [
      'test/lambdas/health-probe/probe.test.ts',
      'reports unreachable while the server is killed, and reachable again after restart',
    ],
  },
  {
    workflow: 'both',
    step: 'health probe',
    fault: 'server frozen (accepts TCP, never answers)',
    endState: 'bounded by the probe deadline; unreachable',
    test: [
      'test/lambdas/health-probe/probe.test.ts',
      'gives up on a frozen server that accepts TCP but never answers',
    ],
  },
  {
    workflow: 'both',
    step: 'health probe',
    fault: 'wrong credentials',
    endState:
      'the database answered: counted up (no failover), a probe error that pages; the password never logged',
    test: [
      'test/lambdas/health-probe/handler.test.ts',
      'counts a database that refuses the password as up (a probe error, not a failover), without logging it',
    ],
  },
  {
    workflow: 'both',
    step: 'failover DNS',
    fault: "one observer alone sees the primary down (peering broken, a region's CloudWatch impaired)",
    endState: 'production stays on the primary; both observers agreeing fails it over',
    test: ['test/workflows/failover-voting.test.ts', '%s: fails over: %s'],
  },
  {
    workflow: 'both',
    step: 'health probe',
    fault: 'connection reset during the TLS handshake',
    endState: 'no answer (counts toward failover), not a TLS refusal (which counts as up)',
    test: [
      'test/lambdas/health-probe/probe.test.ts',
      'counts a connection reset during the TLS handshake as no answer (not a TLS refusal, which would count as up)',
    ],
  },
  {
    workflow: 'both',
    step: 'health probe',
    fault: 'Secrets Manager unavailable or throttled',
    endState: 'the probe still asks the database (as a user that does not exist): up is up, a probe error',
    test: [
      'test/lambdas/health-probe/handler.test.ts',
      'still asks the database when %s: up is up (a probe error, not a failover)',
    ],
  },
  {
    workflow: 'both',
    step: 'every database step',
    fault: 'connection refused (the server went away)',
    endState: 'step fails as DatabaseUnreachable (the workflows route on it); no password in the error',
    test: [
      'test/faults/step-faults.test.ts',
      '%s: connection refused ends as DatabaseUnreachable, a routable error without the password',
    ],
  },
  {
    workflow: 'both',
    step: 'every database step',
    fault: 'wrong credentials',
    endState: 'step fails as DatabaseAuthFailed (not retried); neither password in the error',
    test: [
      'test/faults/step-faults.test.ts',
      '%s: wrong credentials end as DatabaseAuthFailed, neither password shown',
    ],
  },
  {
    workflow: 'failover drill',
    step: 'preflight',
    fault: 'connection refused or wrong credentials on the primary and the replica',
    endState: 'refused before anything changes, naming each database and why; no password',
    test: [
      'test/faults/step-faults.test.ts',
      'drill preflight: %s on both databases refuses the drill naming each, without the password',
    ],
  },
  {
    workflow: 'blue-green migration',
    step: 'migrate',
    fault: 'the step runs again after it completed (crash, Step Functions retry)',
    endState: 'nothing applied twice; _prisma_migrations consistent',
    test: [
      'test/faults/step-faults.test.ts',
      'migrate: a retried step (after a crash or a Step Functions retry) applies nothing twice',
    ],
  },
  {
    workflow: 'both',
    step: 'every step input',
    fault:
      'bad input in every field; unknown keys named with a URL, a password or 100 000 characters (see the count above)',
    endState:
      'rejected early naming the field; message bounded, names redacted, no password echoed; no AWS, database or network call',
    test: ['test/faults/bad-input.test.ts', '%s: rejected early, naming the field, touching nothing'],
  },
  {
    workflow: 'both',
    step: 'every dr command',
    fault:
      'bad option values, required options left out, unknown options, a URL as a command, an extra argument or a mistyped --option=value (see the count above)',
    endState:
      'exit 2 naming the option; no AWS, database or network call; message bounded, no password echoed',
    test: [
      'test/faults/cli-bad-input.test.ts',
      '%s: every bad option value ends with exit 2, naming the option, touching nothing',
    ],
  },
  {
    workflow: 'both',
    step: 'dr migrations',
    fault:
      'sslmode=disable to a host that is not loopback; a space in the host; a schema= that is not an identifier',
    endState: 'exit 2 naming it (plain text only with --allow-plaintext, with a warning); no connection',
    test: ['test/cli/database-url.test.ts', '%s: exit 2 naming it, no connection, nothing echoed'],
  },
  {
    workflow: 'region failover',
    step: 'preflight',
    fault: 'the replica is further behind a writer that answers than failover.maxBytesBehind',
    endState: 'refused, nothing changed, on-call told the measured bytes; with --force it carries on',
    test: [
      'test/workflows/region-failover.test.ts',
      'refuses a replica too far behind a writer that answers, unless forced',
    ],
  },
  {
    workflow: 'region failover',
    step: 'preflight',
    fault: 'the drill or a migration is running',
    endState: 'refused before anything is measured or changed; on-call told which execution',
    test: ['test/workflows/region-failover.test.ts', 'refuses while the drill or a migration runs'],
  },
  {
    workflow: 'region failover',
    step: 'preflight',
    fault: 'an execution input it does not know (a typo such as aproved)',
    endState: 'refused (InvalidInput), never read as a default; nothing changed',
    test: [
      'test/workflows/region-failover.test.ts',
      'refuses input it does not know (a typo must not pass for a default)',
    ],
  },
  {
    workflow: 'region failover',
    step: 'approval',
    fault: 'nobody approves within the hour, or the approval is declined',
    endState: 'ends FailoverNotApproved; nothing changed; on-call told',
    test: [
      'test/workflows/region-failover.test.ts',
      'ends unchanged when nobody approves within the hour, or the approval is declined',
    ],
  },
  {
    workflow: 'region failover',
    step: 'promote',
    fault: 'RDS cannot promote the replica (a status it does not leave)',
    endState: 'pages; the topology still names the old writer and DNS is untouched',
    test: [
      'test/workflows/region-failover.test.ts',
      'pages and leaves DNS and the topology alone when the promotion fails (the region already lost)',
    ],
  },
  {
    workflow: 'region failover',
    step: 'retire',
    fault: 'the former writer does not answer (its region is lost)',
    endState:
      'promoted all the same; it is recorded retired, both records answer the new writer whatever its health check says later',
    test: [
      'test/workflows/region-failover.test.ts',
      'region lost, started approved (dr failover --promote): promotes the replica, opens it, records it, points both records at it, pauses the drill',
    ],
  },
  {
    workflow: 'region failover',
    step: 'retire',
    fault: 'the writer answered the measurement but not the retirement (alive behind a partition?)',
    endState: 'not promoted (two writers avoided); on-call told to retire it or make sure it is down',
    test: [
      'test/workflows/region-failover.test.ts',
      'does not promote when the writer answered the measurement but not the retirement (it may be alive behind a partition)',
    ],
  },
  {
    workflow: 'region failover',
    step: 'approval',
    fault: 'the topology changed while the failover waited for approval',
    endState: 'refused (the approved plan is not the current one); nothing promoted',
    test: [
      'test/workflows/region-failover.test.ts',
      'refuses an approval given for a topology that changed while the person read it',
    ],
  },
  {
    workflow: 'region failover',
    step: 'switchover catch-up',
    fault: "the replica does not replay the retired writer's last write in time",
    endState: 'the writer is opened again, nothing promoted, DNS and topology unchanged; paged',
    test: [
      'test/workflows/region-failover.test.ts',
      'abandons a switchover whose replica does not catch up: the writer is opened again, nothing promoted',
    ],
  },
  {
    workflow: 'region failover',
    step: 'adoption preflight',
    fault:
      'dr failover --adopt names an instance dr restore did not make, a topology member, or comes with planned or force',
    endState: 'refused, naming why; nothing changed, the writer keeps serving',
    test: [
      'test/workflows/region-failover.test.ts',
      'refuses, changing nothing, an instance dr restore did not make, a topology member, and a switchover or force',
    ],
  },
  {
    workflow: 'region failover',
    step: 'adoption open',
    fault:
      'the master secret rotated since the restore point: only its previous version opens the restored instance',
    endState: 'it takes the current password before it is opened; the previous one no longer opens it',
    test: [
      'test/workflows/region-failover.test.ts',
      'data damaged on the writer and its replica: retires the writer, gives the restored instance the current password, records it as the writer and points both records at it',
    ],
  },
  {
    workflow: 'region failover',
    step: 'adoption measure',
    fault:
      'neither version of the secret opens the restored instance (a restore point older than two rotations)',
    endState: 'refused before anything changed, saying how to set its password',
    test: [
      'test/lambdas/failover-adopt.test.ts',
      'refuses a restored instance neither version of the secret opens, saying what to do',
    ],
  },
  {
    workflow: 'region failover',
    step: 'switchover preflight',
    fault: 'the writer does not answer',
    endState: 'refused before anything changed (that is a failover)',
    test: [
      'test/workflows/region-failover.test.ts',
      'refuses a switchover when the writer does not answer (that is a failover)',
    ],
  },
  {
    workflow: 'region failover',
    step: 'retired-writer guard',
    fault: 'one retired writer cannot be tried (its secret deleted)',
    endState: 'the others are retired all the same; the run fails naming it, and the alarm pages after three',
    test: [
      'test/lambdas/failover.test.ts',
      'guards every retired writer even when one cannot be tried, then fails the run naming it',
    ],
  },
  {
    workflow: 'failover drill',
    step: 'preflight',
    fault: 'the writer has no replica (after a failover or a cutover, before re-protect)',
    endState: 'refused at once, touching nothing: "DR is degraded ... Re-protect it first"',
    test: [
      DRILL_PREFLIGHT,
      'refuses after a failover, before re-protect: DR is degraded, nothing to fail over to (and nothing misleading about DNS)',
    ],
  },
  {
    workflow: 'failover drill',
    step: 'preflight',
    fault: 'a new writer the topology sync has not confirmed (SECONDARY still answers the writer)',
    endState: 'refused, touching nothing, until confirmed; then it drills the new roles',
    test: [
      DRILL_PREFLIGHT,
      'refuses after a re-protect until the topology sync confirms the probes watch the new writer, then drills it',
    ],
  },
  {
    workflow: 'region failover',
    step: 'measure',
    fault: 'started again after an execution that promoted the replica, then stopped',
    endState:
      'finishes: the writer retired again, then opened, recorded, DNS pointed; a switchover is refused ("finish it as a failover")',
    test: [
      'test/workflows/region-failover.test.ts',
      'resumes a failover that stopped after the promotion: started again, it retires the writer again, then opens, records and points DNS at the promoted replica',
    ],
  },
  {
    workflow: 'DR rebuild',
    step: 'resume the drill',
    fault: 'the failback completes while the weekly drill is disabled (by a failover, or by a person)',
    endState: "the failover's pause (tagged) is resumed and its tag removed; a person's (untagged) stays",
    test: [
      'test/workflows/dr-rebuild.test.ts',
      'completing a failback (a writer at home gets its replica) resumes the weekly drill a region failover paused, and only that one',
    ],
  },
  {
    workflow: 'DR rebuild',
    step: 'resume the drill',
    fault: 'EnableRule fails',
    endState: 'still rebuilt; on-call paged with the two commands to run',
    test: [
      'test/workflows/dr-rebuild.test.ts',
      'pages, and still ends rebuilt, when the drill it should resume cannot be enabled',
    ],
  },
  {
    workflow: 'topology sync',
    step: 'confirm the writer',
    fault: 'a probe stale, being updated or in a lost region; the writer unhealthy; no Route 53 status',
    endState: 'SECONDARY keeps answering the writer; nothing written; the next minute tries again',
    test: [SYNC, 'keeps SECONDARY on the writer while %s'],
  },
  {
    workflow: 'topology sync',
    step: 'records',
    fault: 'a role change lands while it runs, before a write',
    endState: 'that write is left; the next run follows the new roles',
    test: [
      SYNC,
      'writes nothing when a role change lands while it runs (the next run follows the new topology)',
    ],
  },
  {
    workflow: 'topology sync',
    step: 'records',
    fault: 'a role change lands between its check and its write',
    endState: 'the set it wrote is written again at once for the new roles',
    test: [
      SYNC,
      'puts right at once a set it wrote just as a role change landed (a cutover recorded between its check and its write)',
    ],
  },
  {
    workflow: 'topology sync',
    step: 'confirm the writer',
    fault: "a deploy writes the first deploy's target back into a primary probe",
    endState: 'the confirmation is withdrawn: SECONDARY answers the writer until the probes settle again',
    test: [
      SYNC,
      "withdraws the confirmation when a deploy wrote the first deploy's target back into a primary probe: SECONDARY answers the writer until the probes settle again",
    ],
  },
  {
    workflow: 'topology sync',
    step: 'records',
    fault: 'SECONDARY left on a stale target (a repoint that failed)',
    endState: "put back on the rule's target within a minute, with the parameter a deploy reads",
    test: [
      SYNC,
      'puts back a SECONDARY a failed repoint left on a stale target, and the parameter a deploy reads',
    ],
  },
];

/** The table in docs/reliability.md. */
export function renderMatrix(rows: readonly FaultRow[] = FAULT_MATRIX): string {
  const lines = [
    '| Workflow | Step | Fault | End state | Test |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.workflow} | ${r.step} | ${r.fault} | ${r.endState} | \`${r.test[0].replace(/^test\//, '')}\` |`,
    ),
  ];
  return lines.join('\n');
}

if (require.main === module) process.stdout.write(`${renderMatrix()}\n`);
