import { createConnection } from 'node:net';
import { join } from 'node:path';
import { htmlReport, terminalReport } from '../../lib/rehearsal/report';
import { runRehearsal } from '../../lib/rehearsal/run';

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
  it('runs both workflows end to end within every budget, loses no write, and stops every server', async () => {
    const progress: string[] = [];
    const result = await runRehearsal({
      migrationsDir: EXAMPLES,
      keepServers: false,
      progress: (line) => progress.push(line),
      recordTtlSeconds: 1,
      route53SwitchDelayMs: 700,
      s3ReplicationDelayMs: 300,
    });
    expect(result.workflows).toEqual({
      'blue-green dry run': { status: 'SUCCEEDED' },
      'blue-green migration': { status: 'SUCCEEDED' },
      'failover drill': { status: 'SUCCEEDED' },
    });
    expect(result.cutover.lostWrites).toBe(0);
    expect(result.cutover.ackedWrites).toBeGreaterThan(50);
    for (const budget of result.budgets) expect(budget).toMatchObject({ met: true });
    expect(result.budgets.map((b) => b.name)).toEqual([
      'Cutover: acknowledged writes lost',
      'Cutover: longest write pause',
      'Drill: DNS failover',
      'Drill: service disruption',
      'Drill: DNS failback',
      'Drill: S3 replication',
      'Drill: database replication (data-loss window)',
    ]);
    expect(result.ok).toBe(true);
    // The simulated Route 53 acts 0.7 s after the inversion: the drill measures at least that.
    expect(result.drillReport?.figures.dnsFailoverSeconds).toBeGreaterThanOrEqual(0.7);
    // Honest about the drill's cost: writes through the DR record failed while it pointed at the replica.
    expect(result.timeline.some((t) => t.app === 'dr' && t.failed > 0)).toBe(true);
    expect(
      result.timeline.filter((t) => t.app === 'migration').reduce((n, t) => n + t.ok, 0),
    ).toBeGreaterThan(100);
    expect(result.durationSeconds).toBeLessThan(120);

    expect(result.serversStopped).toBe(true);
    expect(result.servers).toHaveLength(4);
    for (const server of result.servers) expect(await listening(server.port)).toBe(false);

    const html = htmlReport(result);
    expect(html).toContain('every budget met');
    expect(html.match(/<rect class="ok"/g)?.length ?? 0).toBeGreaterThan(10);
    expect(terminalReport(result).join('\n')).toContain('Every budget met.');
  });
});
