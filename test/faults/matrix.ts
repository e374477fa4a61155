/**
 * The fault matrix: each row a failure, where it strikes, the end state the system must reach, and the test
 * that proves it. README's Reliability table is rendered from this list (`npx tsx test/faults/matrix.ts`),
 * and test/faults/matrix.test.ts fails if a row's test is missing or the README table is stale.
 */
export interface FaultRow {
  readonly workflow: 'blue-green migration' | 'failover drill' | 'both';
  readonly step: string;
  readonly fault: string;
  readonly endState: string;
  /** Test file (from the repository root) and the exact test name. */
  readonly test: readonly [file: string, name: string];
}

const BG = 'test/workflows/blue-green-migration.test.ts';
const DRILL = 'test/workflows/failover-drill.test.ts';

export const FAULT_MATRIX: readonly FaultRow[] = [
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
    step: 'DR rebuild',
    fault: 'RDS refuses the new replica',
    endState: 'green serves; DR reported degraded; on-call notified',
    test: [BG, 'notifies and fails, with green serving, when the DR rebuild cannot start'],
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
    fault: 'bad input in every field (see the count above)',
    endState: 'rejected early naming the field; no AWS, database or network call',
    test: ['test/faults/bad-input.test.ts', '%s: rejected early, naming the field, touching nothing'],
  },
];

/** The README table. */
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
