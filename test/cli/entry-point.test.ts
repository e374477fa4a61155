import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAwsWire, wireEnv, type WireRequest, type WireResponse } from '../support/aws-wire';
import { EXAMPLE_DRILL_ARN, EXAMPLE_INVERT_CHECK, exampleDrillInput } from '../support/drill-input';

const ROOT = join(__dirname, '..', '..');

/** Runs `bin/dr.js` as a user would, in its own process; bounded. */
function dr(
  argv: string[],
  env: NodeJS.ProcessEnv,
  cwd = ROOT,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'dr.js'), ...argv], { cwd, env });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dr ${argv.join(' ')} did not finish in 45 s:\n${out}\n${err}`));
    }, 45_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

const xml = (body: string): WireResponse => ({ contentType: 'text/xml', body });
const json = (value: unknown, version = '1.1'): WireResponse => ({
  contentType: `application/x-amz-json-${version}`,
  body: JSON.stringify(value),
});
const R53 = 'https://route53.amazonaws.com/doc/2013-04-01/';

/** Answers the calls `dr drill restore` and `dr status` make, as the services do on the wire. */
function respond(state: { inverted: boolean }) {
  return (r: WireRequest): WireResponse | undefined => {
    if (r.target === 'AWSEvents.ListTargetsByRule')
      return json({
        Targets: [{ Id: 'drill', Arn: EXAMPLE_DRILL_ARN, Input: JSON.stringify(exampleDrillInput()) }],
      });
    if (r.target === 'AWSEvents.DescribeRule')
      return json({ Name: 'custom-rule', State: 'ENABLED', ScheduleExpression: 'cron(0 2 ? * SUN *)' });
    if (r.target === 'AWSStepFunctions.ListExecutions') return json({ executions: [] }, '1.0');
    if (r.target === 'AmazonSSM.GetParameter')
      return json({
        Parameter: {
          Name: '/pg-dr/topology/document',
          Type: 'String',
          Version: 1,
          Value: JSON.stringify({
            generation: 1,
            writer: {
              region: 'eu-west-2',
              instanceIdentifier: 'pg-dr-primary',
              endpoint: 'primary.example.org',
            },
            replica: {
              region: 'eu-west-1',
              instanceIdentifier: 'pg-dr-replica',
              endpoint: 'replica.example.org',
            },
            retired: [],
            changedBy: 'first deploy',
          }),
        },
      });
    if (r.body.includes('Action=DescribeStacks'))
      return xml(
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
          `<StackName>custom-stack</StackName><CreationTime>2026-11-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>` +
          `<Outputs><member><OutputKey>FailoverDrillStateMachineArn</OutputKey><OutputValue>${EXAMPLE_DRILL_ARN}</OutputValue></member></Outputs>` +
          `</member></Stacks></DescribeStacksResult></DescribeStacksResponse>`,
      );
    const check = `/2013-04-01/healthcheck/${EXAMPLE_INVERT_CHECK}`;
    const config = (version: number) =>
      `<HealthCheck><Id>${EXAMPLE_INVERT_CHECK}</Id><CallerReference>cdk</CallerReference><HealthCheckConfig><Type>CALCULATED</Type>` +
      `<Inverted>${String(state.inverted)}</Inverted><HealthThreshold>1</HealthThreshold></HealthCheckConfig>` +
      `<HealthCheckVersion>${version}</HealthCheckVersion></HealthCheck>`;
    if (r.method === 'GET' && r.path === check)
      return xml(`<GetHealthCheckResponse xmlns="${R53}">${config(3)}</GetHealthCheckResponse>`);
    if (r.method === 'POST' && r.path === check) {
      state.inverted = !r.body.includes('<Inverted>false</Inverted>');
      return xml(`<UpdateHealthCheckResponse xmlns="${R53}">${config(4)}</UpdateHealthCheckResponse>`);
    }
    return undefined;
  };
}

describe('dr, run through its real entry point (bin/dr.js) against a loopback AWS endpoint', () => {
  it('dr drill restore uses its own --region, --schedule-rule and --stack (the URGENT page tells on-call to run it)', async () => {
    const state = { inverted: true };
    const wire = await startAwsWire(respond(state));
    try {
      const run = await dr(
        [
          'drill',
          'restore',
          '--region',
          'us-west-2',
          '--schedule-rule',
          'custom-rule',
          '--stack',
          'custom-stack',
        ],
        wireEnv(wire.url),
      );
      expect({ code: run.code, err: run.err }).toEqual({ code: 0, err: '' });
      expect(run.out).toContain(`Health check ${EXAMPLE_INVERT_CHECK} restored`);
      const events = wire.requests.filter((r) => r.signedService === 'events');
      expect(events.map((r) => [r.target, r.signedRegion, JSON.parse(r.body) as unknown])).toEqual([
        ['AWSEvents.ListTargetsByRule', 'us-west-2', { Rule: 'custom-rule' }],
      ]);
      // Route 53's API is global and signed for us-east-1 whatever the orchestration region.
      const route53 = wire.requests.filter((r) => r.signedService === 'route53');
      expect(route53.map((r) => [r.method, r.signedRegion])).toEqual([
        ['GET', 'us-east-1'],
        ['POST', 'us-east-1'],
      ]);
      expect(state.inverted).toBe(false);
    } finally {
      await wire.close();
    }
  });

  it('dr status uses its own --region, --stack and --schedule-rule', async () => {
    const wire = await startAwsWire(respond({ inverted: false }));
    try {
      const run = await dr(
        ['status', '--region', 'eu-west-1', '--stack', 'custom-stack', '--schedule-rule', 'custom-rule'],
        wireEnv(wire.url),
      );
      expect({ code: run.code, err: run.err }).toEqual({ code: 0, err: '' });
      expect(run.out).toContain('No drills yet.');
      expect(run.out).toContain('  writer   pg-dr-primary in eu-west-2 (primary.example.org)');
      // The orchestration services in the orchestration region; the topology beside the failover records, in us-east-1.
      expect(
        new Set(wire.requests.filter((r) => r.signedService !== 'ssm').map((r) => r.signedRegion)),
      ).toEqual(new Set(['eu-west-1']));
      expect(wire.requests.filter((r) => r.signedService === 'ssm').map((r) => r.signedRegion)).toEqual([
        'us-east-1',
      ]);
      expect(wire.requests.find((r) => r.signedService === 'cloudformation')?.body).toContain(
        'StackName=custom-stack',
      );
      expect(
        wire.requests.filter((r) => r.signedService === 'events').map((r) => JSON.parse(r.body) as unknown),
      ).toEqual(expect.arrayContaining([{ Rule: 'custom-rule' }, { Name: 'custom-rule' }]));
    } finally {
      await wire.close();
    }
  });

  it('dr drill asks before it moves production DNS: refuses with no one to ask unless --yes, and then runs', async () => {
    const started: string[] = [];
    const production = (r: WireRequest): WireResponse | undefined => {
      if (r.target === 'AWSEvents.ListTargetsByRule') {
        const input = exampleDrillInput();
        return json({
          Targets: [
            {
              Id: 'drill',
              Arn: EXAMPLE_DRILL_ARN,
              Input: JSON.stringify({ ...input, dns: { ...input.dns, production: true } }),
            },
          ],
        });
      }
      const execution = `${EXAMPLE_DRILL_ARN.replace(':stateMachine:', ':execution:')}:manual`;
      if (r.target === 'AWSStepFunctions.StartExecution') {
        started.push(r.body);
        return json({ executionArn: execution, startDate: 1_796_000_000 }, '1.0');
      }
      if (r.target === 'AWSStepFunctions.GetExecutionHistory') return json({ events: [] }, '1.0');
      if (r.target === 'AWSStepFunctions.DescribeExecution')
        return json(
          {
            executionArn: execution,
            stateMachineArn: EXAMPLE_DRILL_ARN,
            status: 'SUCCEEDED',
            startDate: 1_796_000_000,
            stopDate: 1_796_000_100,
            output: JSON.stringify({ report: { outcome: 'succeeded', summary: 'every budget met' } }),
          },
          '1.0',
        );
      return respond({ inverted: false })(r);
    };
    const wire = await startAwsWire(production);
    try {
      const argv = ['drill', '--region', 'us-east-1', '--state-machine-arn', EXAMPLE_DRILL_ARN];
      // Run from a script (no terminal): nothing starts without --yes.
      const refused = await dr(argv, wireEnv(wire.url));
      expect(refused.code).toBe(2);
      expect(refused.err).toContain(
        'this drill fails production DNS (db.provability-fabric.org) over to the read-only replica: pass --yes',
      );
      expect(started).toEqual([]);
      const ran = await dr([...argv, '--yes', '--poll-interval', '50'], wireEnv(wire.url));
      expect({ code: ran.code, err: ran.err }).toEqual({ code: 0, err: '' });
      expect(started).toHaveLength(1);
    } finally {
      await wire.close();
    }
  });

  it('dr --profile takes the region and credentials of that profile for every call', async () => {
    const home = mkdtempSync(join(tmpdir(), 'dr-profile-'));
    const wire = await startAwsWire(respond({ inverted: false }));
    try {
      writeFileSync(join(home, 'config'), '[profile drill-ops]\nregion = eu-west-2\n');
      writeFileSync(
        join(home, 'credentials'),
        '[drill-ops]\naws_access_key_id = AKIAPROFILETEST\naws_secret_access_key = profile-test-secret\n',
      );
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: home,
        AWS_ENDPOINT_URL: wire.url,
        AWS_CONFIG_FILE: join(home, 'config'),
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
      };
      const run = await dr(
        ['--profile', 'drill-ops', 'status', '--stack', 'custom-stack', '--schedule-rule', 'custom-rule'],
        env,
      );
      expect({ code: run.code, err: run.err }).toEqual({ code: 0, err: '' });
      // No --region, no AWS_REGION: the profile's region, and its keys signed every request.
      const orchestration = wire.requests.filter((r) => r.signedService !== 'ssm');
      expect(new Set(orchestration.map((r) => r.signedRegion))).toEqual(new Set(['eu-west-2']));
      expect(new Set(wire.requests.map((r) => r.accessKeyId))).toEqual(new Set(['AKIAPROFILETEST']));
      // A profile name a shell would expand is a usage error, before any call.
      const before = wire.requests.length;
      const bad = await dr(['--profile', 'ops;rm', 'status'], env);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('must be an AWS profile name');
      expect(wire.requests).toHaveLength(before);
    } finally {
      await wire.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("takes the stack, rule, prefix and region from the app's config, flags first, --config before or after the command", async () => {
    const app = mkdtempSync(join(tmpdir(), 'dr-config-'));
    const wire = await startAwsWire(respond({ inverted: false }));
    try {
      mkdirSync(join(app, 'migrations'));
      const cdkJson = {
        app: 'npx tsx bin/app.ts',
        context: {
          dr: {
            account: '111122223333',
            hostedZoneId: 'Z0EXAMPLE12345',
            onCall: { email: 'oncall@example.org' },
            migrationsDirectory: 'migrations',
            resourcePrefix: 'orders-dr',
            primaryRegion: 'eu-west-2',
            secondaryRegion: 'eu-west-1',
            hostedZoneName: 'example.org',
            recordName: 'db.example.org',
          },
        },
      };
      writeFileSync(join(app, 'cdk.json'), JSON.stringify(cdkJson));
      // From the app's folder, no flag: everything from its cdk.json, the region too (the config's stacks are
      // there, whatever region the shell has).
      const run = await dr(['status'], wireEnv(wire.url, { AWS_REGION: 'ap-south-1' }), app);
      expect({ code: run.code, err: run.err }).toEqual({ code: 0, err: '' });
      const body = (service: string) =>
        wire.requests.filter((r) => r.signedService === service).map((r) => r.body);
      expect(body('cloudformation').join()).toContain('StackName=orders-dr-orchestration');
      expect(body('events').map((b) => JSON.parse(b) as unknown)).toEqual(
        expect.arrayContaining([{ Rule: 'orders-dr-weekly-failover-drill' }]),
      );
      expect(body('ssm').join()).toContain('/orders-dr/topology/document');
      expect(
        new Set(wire.requests.filter((r) => r.signedService !== 'ssm').map((r) => r.signedRegion)),
      ).toEqual(new Set(['eu-west-1']));

      // Flags win; --config names the file from anywhere, before or after the command.
      const before = wire.requests.length;
      const flagged = await dr(
        ['--config', join(app, 'cdk.json'), 'status', '--stack', 'custom-stack', '--region', 'us-west-2'],
        wireEnv(wire.url),
      );
      expect({ code: flagged.code, err: flagged.err }).toEqual({ code: 0, err: '' });
      const later = wire.requests.slice(before);
      expect(later.find((r) => r.signedService === 'cloudformation')?.body).toContain(
        'StackName=custom-stack',
      );
      expect(later.find((r) => r.signedService === 'events')?.body).toContain(
        'orders-dr-weekly-failover-drill',
      );
      expect(new Set(later.filter((r) => r.signedService !== 'ssm').map((r) => r.signedRegion))).toEqual(
        new Set(['us-west-2']),
      );
      const after = await dr(['status', '--config', join(app, 'cdk.json')], wireEnv(wire.url));
      expect({ code: after.code, err: after.err }).toEqual({ code: 0, err: '' });

      // A config that is there but wrong is a usage error, before any call: a guess could name another deployment.
      const calls = wire.requests.length;
      writeFileSync(join(app, 'cdk.json'), JSON.stringify({ context: { dr: { account: 'nope' } } }));
      const broken = await dr(['status'], wireEnv(wire.url), app);
      expect(broken.code).toBe(2);
      expect(broken.err).toContain('dr: --config: cdk.json: Invalid DR configuration');
      expect(broken.err).toContain('dr.account must be a 12-digit AWS account id');
      const missing = await dr(['status', '--config', join(app, 'nothing.json')], wireEnv(wire.url));
      expect(missing.code).toBe(2);
      expect(missing.err).toContain('--config: cannot read');
      expect(wire.requests).toHaveLength(calls);
    } finally {
      await wire.close();
      rmSync(app, { recursive: true, force: true });
    }
  });

  it('dr <command> --profile works after the command as before it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'dr-profile-after-'));
    const wire = await startAwsWire(respond({ inverted: false }));
    try {
      writeFileSync(join(home, 'config'), '[profile ops]\nregion = ap-southeast-2\n');
      writeFileSync(
        join(home, 'credentials'),
        '[ops]\naws_access_key_id = AKIAAFTERTEST\naws_secret_access_key = s\n',
      );
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: home,
        AWS_ENDPOINT_URL: wire.url,
        AWS_CONFIG_FILE: join(home, 'config'),
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
      };
      const run = await dr(['status', '--stack', 'custom-stack', '--profile', 'ops'], env, home);
      expect({ code: run.code, err: run.err }).toEqual({ code: 0, err: '' });
      expect(new Set(wire.requests.map((r) => r.accessKeyId))).toEqual(new Set(['AKIAAFTERTEST']));
      expect(
        new Set(wire.requests.filter((r) => r.signedService !== 'ssm').map((r) => r.signedRegion)),
      ).toEqual(new Set(['ap-southeast-2']));
      const bad = await dr(['hold', '--profile', '$(whoami)'], env, home);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('must be an AWS profile name');
    } finally {
      await wire.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('ends every argument error with exit 2, naming the option, before any AWS call', async () => {
    const wire = await startAwsWire(respond({ inverted: false }));
    try {
      const cases: [string[], string][] = [
        [['status', '--region', 'moon-1'], '--region'],
        [['drill', '--poll-interval', '-5'], '--poll-interval'],
        [['hold', '--stack'], "option '--stack <name>' argument missing"],
        [['failover', '--stack', 'a b'], '--stack'],
        [['reprotect', '--resource-prefix', 'X'], '--resource-prefix'],
        [['status', '--limit', 'ten'], '--limit'],
        [['migrate', '--region', 'us-east-1'], "required option '--blue-db-secret <arn|name>' not specified"],
        [['status', '--no-such-flag'], "unknown option '--no-such-flag'"],
      ];
      const runs = await Promise.all(cases.map(([argv]) => dr(argv, wireEnv(wire.url))));
      runs.forEach((run, i) => {
        const [argv, says] = cases[i] ?? [[], ''];
        expect({ argv, code: run.code, names: run.err.includes(says) }).toEqual({
          argv,
          code: 2,
          names: true,
        });
      });
      expect(wire.requests).toEqual([]);
    } finally {
      await wire.close();
    }
  });

  it('dr --version prints the version and exits 0', async () => {
    const run = await dr(['--version'], { PATH: process.env.PATH ?? '' });
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect({ code: run.code, out: run.out, err: run.err }).toEqual({
      code: 0,
      out: `${version}\n`,
      err: '',
    });
  });

  it('says which part of AWS is not set up, and how to set it, with an exit code of its own (3)', async () => {
    // A shell with no AWS set up: no region, no credentials, no config files, no instance role to find.
    const home = mkdtempSync(join(tmpdir(), 'dr-no-aws-'));
    const bare = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    try {
      // Run outside the app's folder: its cdk.json would give the orchestration region.
      const noRegion = await dr(['status'], bare, home);
      expect(noRegion.code).toBe(3);
      expect(noRegion.err).toContain('dr: no AWS region: pass --region <region>');
      // Only what dr says: not the SDK's notice about the Node versions of its future releases.
      expect(noRegion.err).not.toMatch(/NodeVersionSupportWarning|AWS SDK for JavaScript/);
      const noCredentials = await dr(['status', '--region', 'eu-west-1'], bare, home);
      expect(noCredentials.code).toBe(3);
      expect(noCredentials.err).toContain('dr: no AWS credentials: set AWS_PROFILE');
      // The machine-readable form says the same, with its own code.
      const json = await dr(['status', '--json'], bare, home);
      expect(JSON.parse(json.out)).toMatchObject({ ok: false, error: { code: 'aws-setup' } });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('never prints a URL password that the argument parser refuses (unknown command, unknown option, extra argument)', async () => {
    const url = 'postgresql://app:Entry-Pw-3@db.example.org/app?token=Entry-Tok-4';
    const runs = await Promise.all(
      [
        [url],
        ['migrations', url],
        ['migrations', 'plan', `--database-ur=${url}`],
        ['migrations', 'plan', '--dir', 'examples/prisma/migrations', url],
      ].map((argv) => dr(argv, { PATH: process.env.PATH ?? '' })),
    );
    for (const run of runs) {
      expect(run.code).toBe(2);
      const said = run.err + run.out;
      expect(said).toMatch(/unknown command|unknown option|too many arguments/);
      expect(said).not.toContain('Entry-Pw-3');
      expect(said).not.toContain('Entry-Tok-4');
    }
    expect(runs[0]?.err ?? '').toContain("unknown command 'postgresql://***@db.example.org/app?token=***'");
    expect(runs[2]?.err ?? '').toContain("unknown option '--database-ur=***'");
  });

  it('never echoes a bare word that is not one of its own (a password typed where a command goes)', async () => {
    const runs = await Promise.all(
      [['Hunter2-pw'], ['migrations', 'Hunter2-pw'], ['migrations', 'plan', 'Hunter2-pw'], ['drils']].map(
        (argv) => dr(argv, { PATH: process.env.PATH ?? '' }),
      ),
    );
    for (const run of runs.slice(0, 3)) {
      expect(run.code).toBe(2);
      expect(run.err + run.out).not.toContain('Hunter2');
    }
    expect(runs[0]?.err ?? '').toContain('unknown command <argument 1>');
    expect(runs[1]?.err ?? '').toContain('unknown command <argument 2>');
    // A typo of one of dr's own words is shown, with commander's suggestion.
    expect(runs[3]?.err ?? '').toContain("unknown command 'drils'");
    expect(runs[3]?.err ?? '').toContain('Did you mean drill?');
  });
});
