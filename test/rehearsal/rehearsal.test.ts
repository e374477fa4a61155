import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { htmlReport, terminalReport } from '../../lib/rehearsal/report';
import { serverPasswords } from '../../lib/local-postgres/server';
import { runRehearsal, type RehearsalResult } from '../../lib/rehearsal/run';
import { chromiumPath, renderInChromium } from '../support/browser';

const EXAMPLES = join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');

/** Resolves true when something accepts a TCP connection on the port. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });

describe('npm run rehearsal, in CI mode', () => {
  let result: RehearsalResult | undefined;

  it('runs both workflows end to end within every budget, loses no write, and stops every server', async () => {
    const progress: string[] = [];
    const workDir = mkdtempSync(join(tmpdir(), 'pg-dr-rehearsal-test-'));
    result = await runRehearsal({
      workDir,
      migrationsDir: EXAMPLES,
      keepServers: false,
      progress: (line) => progress.push(line),
      recordTtlSeconds: 1,
      // Route 53 acts later than cached answers expire, so the application sees the replica during the drill.
      route53SwitchDelayMs: 1500,
      s3ReplicationDelayMs: 300,
    });
    expect(result.workflows).toEqual({
      'failover drill': { status: 'SUCCEEDED' },
      'green provisioning': { status: 'SUCCEEDED' },
      'blue-green migration': { status: 'SUCCEEDED' },
      rollback: { status: 'SUCCEEDED' },
      'roll forward': { status: 'SUCCEEDED' },
      'blue retirement': { status: 'SUCCEEDED' },
      'region failover': { status: 'SUCCEEDED' },
      'retired-writer guard': { status: 'SUCCEEDED' },
      're-protect': { status: 'SUCCEEDED' },
      'failback switchover': { status: 'SUCCEEDED' },
    });
    // Every step's AWS calls were authorized against its role from the synthesized app, and none was denied.
    expect(result.awsCalls.authorized).toBeGreaterThan(20);
    expect(result.awsCalls.denied).toBe(0);
    expect(result.cutover.lostWrites).toBe(0);
    expect(result.cutover.ackedWrites).toBeGreaterThan(50);
    // Provisioned green, cut over, rolled back under load: nothing acknowledged was lost either way.
    expect(result.rollback.lostWrites).toBe(0);
    expect(result.rollback.ackedWrites).toBeGreaterThan(50);
    for (const budget of result.budgets) expect(budget).toMatchObject({ met: true });
    // dr migrate finish after the roll forward: the way back ended on the real servers, the primary kept.
    expect(progress.filter((line) => /\bEndWayBack$|\bNotifyKept$/.test(line.trim()))).toHaveLength(2);
    expect(result.budgets.map((b) => b.name)).toEqual([
      'Cutover: acknowledged writes lost',
      'Rollback: acknowledged writes lost',
      'Cutover: longest write pause',
      'Drill: DNS failover',
      'Drill: service disruption',
      'Drill: DNS failback',
      'Drill: S3 replication',
      'Drill: database replication (data-loss window)',
      'Region failover: RTO',
      'Region failover: acknowledged writes lost (RPO)',
      'Returned primary: writes accepted',
      'Switchover: acknowledged writes lost',
      'Switchover: longest write pause',
      'Backup restore: checks failed',
      'Backup restore: time',
    ]);
    // Restore from a dump: taken while the application wrote, restored into a fresh server, every check passed.
    expect(result.backupRestore.checksFailed).toBe(0);
    expect(result.backupRestore).not.toHaveProperty('notRun');
    expect(result.backupRestore.writesDuringDump).toBeGreaterThan(0);
    expect(result.backupRestore.restoreSeconds).toBeGreaterThan(0);
    // The failback switchover (back to the home region's new replica) loses nothing.
    expect(result.switchover.lostWrites).toBe(0);
    expect(result.switchover.ackedWrites).toBeGreaterThan(20);
    // Region loss: measured on real servers; after each role change a redeploy leaves the record on the
    // current writer and touches no instance.
    expect(result.regionLoss.rtoSeconds).toBeGreaterThan(0);
    expect(result.regionLoss.ackedWrites).toBeGreaterThan(20);
    expect(result.regionLoss.returnedWritesAccepted).toBe(0);
    expect(result.regionLoss.redeploys).toEqual([
      {
        after: 'the region failover',
        answer: ['pg-dr-replica.us-east-1.rds.test'],
        writer: 'pg-dr-replica.us-east-1.rds.test',
        instancesTouched: 0,
      },
      {
        after: 're-protect',
        answer: ['pg-dr-replica.us-east-1.rds.test'],
        writer: 'pg-dr-replica.us-east-1.rds.test',
        instancesTouched: 0,
      },
      {
        after: 'the failback',
        answer: ['pg-dr-replica-g2.us-west-2.rds.test'],
        writer: 'pg-dr-replica-g2.us-west-2.rds.test',
        instancesTouched: 0,
      },
    ]);
    expect(result.ok).toBe(true);
    // The simulated Route 53 acts 1.5 s after the inversion: the drill measures at least that.
    expect(result.drillReport?.figures.dnsFailoverSeconds).toBeGreaterThanOrEqual(1.5);
    // Honest about the drill's cost: what the DR application sent to the read replica, it could read, not write.
    const onReplica = result.drSamplesOnReplica;
    expect(onReplica.filter((s) => s.op === 'write' && s.ok)).toEqual([]);
    expect(onReplica.filter((s) => s.op === 'read' && !s.ok)).toEqual([]);
    expect(result.drillReport?.figures.writeOutageSeconds).toBeGreaterThan(0);
    expect(
      result.timeline.filter((t) => t.app === 'migration').reduce((n, t) => n + t.ok, 0),
    ).toBeGreaterThan(100);
    // Every step published its metrics, and the drill its figures.
    expect(result.metricsCaptured).toBeGreaterThan(30);

    // No password of any server in the Lambda logs, the metrics, the execution histories or the figures.
    const files = readdirSync(workDir);
    expect(files.sort()).toEqual(['cloudwatch-metrics.jsonl', 'executions.jsonl', 'lambda-logs.jsonl']);
    const everything = [
      ...files.map((f) => readFileSync(join(workDir, f), 'utf8')),
      JSON.stringify(result),
      progress.join('\n'),
    ].join('\n');
    expect(readFileSync(join(workDir, 'executions.jsonl'), 'utf8')).toContain('PreflightDatabases');
    expect(serverPasswords().length).toBeGreaterThanOrEqual(3); // the replica shares the primary's
    for (const password of serverPasswords()) expect(everything.includes(password)).toBe(false);
    rmSync(workDir, { recursive: true, force: true });

    expect(result.serversStopped).toBe(true);
    // Primary, replica, green; the region loss's three; the backup restore's two (PostgreSQL 15).
    expect(result.servers).toHaveLength(8);
    for (const server of result.servers) expect(await listening(server.port)).toBe(false);

    const html = htmlReport(result);
    expect(html).toContain('every budget met');
    expect(html.match(/<rect class="ok"/g)?.length ?? 0).toBeGreaterThan(10);
    expect(terminalReport(result).join('\n')).toContain('Every budget met.');
    // About a minute on an idle machine; the rehearsal bounds every step itself, this only catches a hang.
  }, 240_000);

  // .ci/run installs Debian's chromium; elsewhere the browser check runs only where chromium is installed.
  const chromium = chromiumPath();
  const inBrowser = chromium !== undefined || process.env.CI === 'true' ? it : it.skip;
  inBrowser(
    'renders the HTML report in headless chromium: every timeline has data, no console message',
    async () => {
      if (result === undefined) throw new Error('the rehearsal did not run');
      if (chromium === undefined)
        throw new Error('CI needs chromium (apt-get install chromium), or CHROMIUM_BIN');
      const dir = mkdtempSync(join(tmpdir(), 'pg-dr-report-'));
      try {
        const file = join(dir, 'report.html');
        writeFileSync(file, htmlReport(result));
        const { dom, consoleMessages } = await renderInChromium(chromium, file);
        expect(consoleMessages).toEqual([]);
        expect(dom).toContain('<h1>pg-dr rehearsal: every budget met</h1>');
        for (const app of ['migration', 'dr', 'region', 'switchover']) {
          const svg =
            new RegExp(`<svg class="timeline" data-app="${app}"[^>]*>(.*?)</svg>`, 's').exec(dom)?.[1] ?? '';
          expect(svg.match(/<rect class="ok"/g)?.length ?? 0).toBeGreaterThan(5);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
