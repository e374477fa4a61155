import { writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { htmlReport, terminalReport } from '../lib/rehearsal/report';
import { runRehearsal } from '../lib/rehearsal/run';

const program = new Command('rehearsal')
  .description(
    'The whole DR system on this machine: real PostgreSQL servers, the real workflows and handlers, AWS simulated in-process.',
  )
  .option('--json <file>', 'write the figures as JSON')
  .option('--html <file>', 'HTML report with the request timeline', 'rehearsal-report.html')
  .option('--work-dir <folder>', 'keep logs and captured metrics here (default: a temp folder, removed)')
  .option('--keep-servers', 'leave the PostgreSQL servers running for inspection (their ports are printed)')
  .option('--port-base <port>', 'listen on base (primary), +1 (replica), +2 (green); default: free ports')
  .option(
    '--migrations <folder>',
    'Prisma migrations folder',
    join(__dirname, '..', 'examples', 'prisma', 'migrations'),
  )
  .option('--ttl <seconds>', 'TTL of the simulated records', '2')
  .option('--route53-delay <ms>', 'simulated delay before Route 53 acts on a health-check change', '1500')
  .option('--s3-delay <ms>', 'simulated S3 replication delay', '800');

async function main(): Promise<number> {
  program.parse();
  const o = program.opts<{
    json?: string;
    html: string;
    workDir?: string;
    keepServers?: boolean;
    migrations: string;
    ttl: string;
    route53Delay: string;
    s3Delay: string;
    portBase?: string;
  }>();
  // Bound now: while the handlers run, the rehearsal captures stdout (their logs and metrics) into files.
  const write = process.stdout.write.bind(process.stdout);
  const print = (line: string) => write(`${line}\n`);
  const result = await runRehearsal({
    ...(o.workDir === undefined ? {} : { workDir: resolve(o.workDir) }),
    migrationsDir: o.migrations,
    keepServers: o.keepServers === true,
    progress: print,
    recordTtlSeconds: Number(o.ttl),
    route53SwitchDelayMs: Number(o.route53Delay),
    s3ReplicationDelayMs: Number(o.s3Delay),
    ...(o.portBase === undefined ? {} : { portBase: Number(o.portBase) }),
  });
  if (o.keepServers === true) {
    print(
      `  Servers left running; connection details (throwaway passwords) in ${join(result.workDir, 'servers.json')}:`,
    );
    for (const server of result.servers)
      print(`    ${server.name}: 127.0.0.1:${server.port} in ${server.folder}`);
    print('  Stop one with: kill -INT $(head -1 <folder>/data/postmaster.pid), then remove its folder.');
  }
  for (const line of terminalReport(result)) print(line);
  writeFileSync(o.html, htmlReport(result));
  print(`  HTML report: ${resolve(o.html)}`);
  if (o.json !== undefined) {
    writeFileSync(o.json, `${JSON.stringify(result, null, 2)}\n`);
    print(`  JSON figures: ${resolve(o.json)}`);
  }
  return result.ok ? 0 : 1;
}

// Ctrl-C (SIGINT), a closed terminal (SIGHUP) or `kill` (SIGTERM): exit through the normal path, whose exit
// handlers stop every server and remove its folder, with the shell's code for death by that signal. The
// listener stays: a second signal (npm run forwards Ctrl-C to the script, which the terminal signalled too)
// must not find the default action, which would kill the process in the middle of those handlers.
for (const signal of ['SIGINT', 'SIGHUP', 'SIGTERM'] as const) {
  process.on(signal, () => {
    try {
      process.stderr.write(`\n${signal}: stopping servers\n`);
    } catch {
      // A hung-up terminal may refuse the line; the servers must stop all the same.
    }
    process.exit(128 + constants.signals[signal]);
  });
}
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `rehearsal failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
