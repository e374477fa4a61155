import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { join } from 'node:path';
import { Client } from 'pg';
import { handler as connectivity } from '../../lambdas/connectivity-check/handler';
import { handler as cutover, unfenceHandler as unfence } from '../../lambdas/cutover/handler';
import { handler as dnsFlip } from '../../lambdas/dns-flip/handler';
import { handler as drReplica } from '../../lambdas/dr-replica/handler';
import { handler as drillDatabase } from '../../lambdas/drill/steps/database-handler';
import { handler as drillHealthCheck } from '../../lambdas/drill/steps/health-check-handler';
import { handler as observeDns } from '../../lambdas/drill/steps/observe-dns-handler';
import { handler as drillPreflight } from '../../lambdas/drill/steps/preflight-handler';
import { handler as s3Probe } from '../../lambdas/drill/steps/s3-probe-handler';
import { applyHandler, planHandler } from '../../lambdas/migrations/handlers';
import { handler as smokeTest } from '../../lambdas/smoke-test/handler';
import { handler as verify } from '../../lambdas/verify/handler';
import { handler as validateInput } from '../../lambdas/workflow-input/handler';
import { handler as failoverControl } from '../../lambdas/failover/control-handler';
import { handler as failoverDatabase } from '../../lambdas/failover/database-handler';
import { HOSTILE, HOSTILE_PASSWORD, HOSTILE_URL, OVERSIZED } from '../support/bad-values';
import { exampleDrillInput } from '../support/drill-input';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Target {
  readonly name: string;
  readonly handler: (event: unknown) => Promise<unknown>;
  readonly valid: Record<string, Json>;
  /** Free-text leaves where a hostile string is a legitimate value (it is only compared, never executed). */
  readonly freeText?: readonly string[];
}

const ref = { secretId: 'pg-dr/blue', host: 'blue.example.internal', port: 5432, database: 'app' };
const drill = exampleDrillInput() as unknown as Record<string, Json>;
const blueGreen: Record<string, Json> = {
  dryRun: false,
  blue: { secretId: 'pg-dr/blue' },
  green: { secretId: 'pg-dr/green' },
  blueEndpoint: 'blue.example.internal',
  greenEndpoint: 'green.example.internal',
  greenInstanceIdentifier: 'pg-dr-green',
  dns: {
    hostedZoneId: 'Z0EXAMPLE12345',
    recordName: 'db.provability-fabric.org',
    setIdentifier: 'db.provability-fabric.org-primary',
    secondarySetIdentifier: 'db.provability-fabric.org-secondary',
  },
  smokeTestUrl: 'https://api.provability-fabric.org/health',
  subscription: 'dr_blue_green',
  catchUpTimeoutMs: 30000,
};

const member: Record<string, Json> = {
  region: 'us-west-2',
  instanceIdentifier: 'pg-dr-primary',
  endpoint: 'primary.example.internal',
  port: 5432,
  secretId: 'pg-dr/postgres-master',
};

const TARGETS: Target[] = [
  {
    name: 'region failover plan',
    handler: failoverControl,
    valid: {
      mode: 'plan',
      secretId: 'pg-dr/postgres-master',
      request: { approved: false, force: false },
      exclusiveWith: ['arn:aws:states:us-east-1:111122223333:stateMachine:pg-dr-failover-drill'],
      ownExecutionArn: 'arn:aws:states:us-east-1:111122223333:execution:pg-dr-region-failover:f-1',
    },
    // The execution's own ARN is only compared with the running ones.
    freeText: ['ownExecutionArn'],
  },
  {
    name: 'region failover promotion',
    handler: failoverControl,
    valid: {
      mode: 'promote',
      instanceIdentifier: 'pg-dr-replica',
      region: 'us-east-1',
      backupRetentionPeriod: 7,
    },
  },
  {
    name: 'region failover measurement',
    handler: failoverDatabase,
    valid: {
      mode: 'measure',
      writer: member,
      replica: {
        ...member,
        region: 'us-east-1',
        instanceIdentifier: 'pg-dr-replica',
        endpoint: 'replica.example.internal',
      },
      limits: { maxBytesBehind: 16777216, maxSecondsSinceLastReplay: 3600 },
      force: false,
    },
  },
  { name: 'region failover retirement', handler: failoverDatabase, valid: { mode: 'retire', member } },
  { name: 'blue-green workflow input', handler: validateInput, valid: blueGreen },
  // Set identifiers are Route 53's free-form labels, sent only as a request field.
  {
    name: 'drill workflow input',
    handler: drillPreflight,
    valid: { drill, executionArn: 'arn:x' },
    freeText: ['drill.healthChecks.watch.0.label', 'executionArn'],
  },
  {
    name: 'connectivity check',
    handler: connectivity,
    valid: { label: 'blue', database: ref, expect: 'writable', timeoutMs: 5000 },
  },
  {
    name: 'migration plan',
    handler: planHandler,
    valid: { database: ref, schema: 'public', lockTimeoutMs: 10000 },
  },
  {
    name: 'migrate',
    handler: applyHandler,
    valid: { database: ref, schema: 'public', lockTimeoutMs: 10000 },
  },
  {
    name: 'verify',
    handler: verify,
    valid: {
      green: ref,
      blue: ref,
      schema: 'public',
      requiredTables: [{ table: 'account', columns: ['id', 'email'] }],
    },
  },
  {
    name: 'smoke test',
    handler: smokeTest,
    valid: {
      url: 'https://api.provability-fabric.org/health',
      expectStatus: 200,
      bodyContains: 'ok',
      attempts: 3,
    },
    freeText: ['bodyContains'],
  },
  {
    name: 'DNS flip',
    handler: dnsFlip,
    valid: {
      mode: 'flip',
      hostedZoneId: 'Z0EXAMPLE12345',
      recordName: 'db.provability-fabric.org',
      setIdentifier: 'db.provability-fabric.org-primary',
      target: 'green.example.internal',
      pollIntervalMs: 1000,
    },
  },
  {
    name: 'cutover',
    handler: cutover,
    valid: { mode: 'fence', blue: ref, green: ref, subscription: 'dr_blue_green', catchUpTimeoutMs: 30000 },
  },
  {
    name: 'unfence (abort only)',
    handler: unfence,
    valid: { mode: 'abort', blue: ref, green: ref, subscription: 'dr_blue_green', catchUpTimeoutMs: 30000 },
  },
  {
    name: 'DR rebuild',
    handler: drReplica,
    valid: { mode: 'advance', sourceInstanceIdentifier: 'green', replicaInstanceIdentifier: 'green-dr' },
  },
  {
    name: 'drill database step',
    handler: drillDatabase,
    valid: {
      mode: 'through-record',
      recordName: 'db.provability-fabric.org',
      expect: 'replica',
      primary: ref,
      replica: ref,
      since: Date.now(),
      maxWaitSeconds: 90,
      pollMs: 200,
    },
  },
  {
    name: 'drill health check',
    handler: drillHealthCheck,
    valid: { mode: 'restore', healthCheckId: '11111111-1111-4111-8111-111111111111' },
  },
  {
    name: 'drill DNS observation',
    handler: observeDns,
    valid: {
      mode: 'failover',
      hostedZoneId: 'Z0EXAMPLE12345',
      recordName: 'db.provability-fabric.org',
      expected: 'replica.example.internal',
      previous: 'blue.example.internal',
      since: Date.now(),
      maxWaitSeconds: 90,
      pollMs: 200,
      watch: [{ healthCheckId: '22222222-2222-4222-8222-222222222222', label: 'primary database' }],
    },
    freeText: ['watch.0.label'],
  },
  {
    name: 'drill S3 probe',
    handler: s3Probe,
    valid: {
      sourceBucket: 'pg-dr-backups-111122223333-us-west-2',
      sourceRegion: 'us-west-2',
      replicaBucket: 'pg-dr-backups-111122223333-us-east-1',
      replicaRegion: 'us-east-1',
      timeoutSeconds: 60,
      pollMs: 200,
    },
  },
];

/** How long an InvalidInput message may be, whatever the event holds. */
const MAX_MESSAGE_CHARS = 2000;

interface Mutation {
  readonly path: string;
  readonly kind: string;
  readonly event: Json;
}

const clone = (v: Json): Json => JSON.parse(JSON.stringify(v)) as Json;

function setAt(root: Json, path: (string | number)[], value: Json): Json {
  const copy = clone(root);
  let node = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  const last = path.at(-1) ?? '';
  node[last] = value;
  return copy;
}

/** Every hostile variant of every field, and an unknown key in every object. */
function mutations(target: Target): Mutation[] {
  const out: Mutation[] = [];
  const walk = (value: Json, path: (string | number)[]) => {
    const dotted = path.join('.');
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      out.push({ path: dotted, kind: 'unknown key', event: setAt(target.valid, [...path, 'sneaky'], 1) });
      // The name of an unknown key is the caller's text too: a pasted URL, a password, 100 000 characters.
      for (const key of [...HOSTILE, OVERSIZED])
        out.push({
          path: dotted,
          kind: `unknown key named ${JSON.stringify(key.slice(0, 40))}`,
          event: setAt(target.valid, [...path, key], 1),
        });
      for (const [key, child] of Object.entries(value)) walk(child, [...path, key]);
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((child, i) => {
        walk(child, [...path, i]);
      });
      out.push({ path: dotted, kind: 'not a list', event: setAt(target.valid, path, 'x') });
      return;
    }
    out.push({ path: dotted, kind: 'null', event: setAt(target.valid, path, null) });
    if (typeof value === 'string') {
      out.push({ path: dotted, kind: 'wrong type', event: setAt(target.valid, path, 12345) });
      out.push({ path: dotted, kind: 'oversized', event: setAt(target.valid, path, OVERSIZED) });
      if (!(target.freeText ?? []).includes(dotted))
        for (const hostile of HOSTILE)
          out.push({
            path: dotted,
            kind: `hostile ${JSON.stringify(hostile)}`,
            event: setAt(target.valid, path, hostile),
          });
    } else if (typeof value === 'number') {
      out.push({ path: dotted, kind: 'wrong type', event: setAt(target.valid, path, '5') });
      out.push({ path: dotted, kind: 'oversized', event: setAt(target.valid, path, 1e15) });
      out.push({ path: dotted, kind: 'negative', event: setAt(target.valid, path, -1) });
    } else if (typeof value === 'boolean') {
      out.push({ path: dotted, kind: 'wrong type', event: setAt(target.valid, path, 'true') });
    }
  };
  walk(target.valid, []);
  out.push({ path: '', kind: 'not an object', event: 'event' });
  const manyKeys = Object.fromEntries(Array.from({ length: 500 }, (_v, i) => [`${HOSTILE_URL}?n=${i}`, i]));
  out.push({ path: '', kind: 'unknown keys named', event: { ...target.valid, ...manyKeys } });
  return out;
}

/** Secret names are looked up, never executed: a path-like name is harmless (and a valid Secrets Manager name). */
const harmless = (m: Mutation) =>
  /secretId$/.test(m.path) && m.kind === `hostile ${JSON.stringify('../../etc/passwd')}`;

describe('bad input: every field of every workflow and step input', () => {
  // Nothing may reach AWS, a database or the network: each would fail loudly here, and is counted.
  const refuse = (): never => {
    throw new Error('bad input must be rejected before any I/O');
  };
  const sends = [Route53Client, S3Client, SFNClient, SecretsManagerClient, RDSClient].map((c) =>
    jest.spyOn(c.prototype, 'send').mockImplementation(refuse),
  );
  const connects = jest.spyOn(Client.prototype, 'connect').mockImplementation(refuse);
  const fetches = jest.spyOn(globalThis, 'fetch').mockImplementation(refuse);
  beforeAll(() => {
    process.env.MIGRATIONS_DIR = join(__dirname, '..', '..', 'examples', 'prisma', 'migrations');
  });
  let tried = 0;

  afterAll(() => {
    // The count docs/reliability.md quotes.
    process.stderr.write(`bad-input cases tried: ${tried}\n`);
    expect(tried).toBeGreaterThan(600);
  });

  it.each(TARGETS.map((t) => [t.name, t] as const))(
    '%s: rejected early, naming the field, touching nothing',
    async (_n, target) => {
      // The valid event passes validation: it fails only later, at the refused I/O.
      const validOutcome = await target.handler(target.valid).then(
        () => 'succeeded',
        (e: unknown) => (e as { name?: string }).name ?? 'error',
      );
      expect(validOutcome).not.toBe('InvalidInput');
      for (const spy of [...sends, connects, fetches]) spy.mockClear();
      const accepted: string[] = [];
      for (const m of mutations(target).filter((x) => !harmless(x))) {
        tried += 1;
        let error: { name?: string; message?: string } | undefined;
        try {
          await target.handler(m.event);
        } catch (e) {
          error = e as { name?: string; message?: string };
        }
        if (error?.name !== 'InvalidInput') {
          accepted.push(`${m.path} (${m.kind}): ${error?.name ?? 'accepted'}`);
          continue;
        }
        const field = m.kind.startsWith('unknown key')
          ? m.kind === 'unknown key'
            ? 'sneaky'
            : 'unknown field'
          : m.path === ''
            ? 'event'
            : m.path;
        const message = error.message ?? '';
        if (!message.includes(field))
          accepted.push(`${m.path} (${m.kind}): message does not name it: ${message.slice(0, 300)}`);
        // Whatever was sent, the message is bounded and never echoes a password-bearing URL.
        if (message.length > MAX_MESSAGE_CHARS)
          accepted.push(`${m.path} (${m.kind}): ${message.length} characters: ${message.slice(0, 300)}`);
        expect(message).not.toContain(HOSTILE_PASSWORD);
      }
      expect(accepted).toEqual([]);
      for (const spy of [...sends, connects, fetches]) expect(spy).not.toHaveBeenCalled();
    },
  );
});
