import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  TestDNSAnswerCommand,
  type ResourceRecordSet,
  type Route53Client,
  type RRType,
} from '@aws-sdk/client-route-53';
import { normalizeName } from '../shared/dns-name';
import { sleep as defaultSleep } from '../shared/sleep';
import { RoutableError } from '../shared/routable-error';

/**
 * The fields of a record set the flip handles: a plain or failover record. The flip reads these, writes them
 * back with a new value, and returns them as `previous`; a rollback writes back exactly these and no other.
 */
export const RECORD_FIELDS = [
  'Name',
  'Type',
  'SetIdentifier',
  'Failover',
  'TTL',
  'ResourceRecords',
  'HealthCheckId',
] as const;
export type RecordField = (typeof RECORD_FIELDS)[number];

/** A record set as the flip found it (only RECORD_FIELDS), so a rollback can restore it field for field. */
export type RecordSnapshot = Pick<ResourceRecordSet, RecordField>;

const isRecordField = (field: string): field is RecordField =>
  (RECORD_FIELDS as readonly string[]).includes(field);

/** The record's fields outside RECORD_FIELDS that are set (Weight, AliasTarget, GeoLocation, ...). */
export function unsupportedFields(record: object): string[] {
  return Object.entries(record)
    .filter(([field, value]) => value !== undefined && !isRecordField(field))
    .map(([field]) => field);
}

/** Only the RECORD_FIELDS of a record set. */
function snapshotOf(record: ResourceRecordSet): RecordSnapshot {
  return Object.fromEntries(
    Object.entries(record).filter(([field, value]) => value !== undefined && isRecordField(field)),
  ) as RecordSnapshot;
}

export interface FlipTiming {
  /** Interval between GetChange polls. */
  readonly pollIntervalMs: number;
  /** Give up waiting for INSYNC after this long. */
  readonly maxWaitMs: number;
  /** Retries of a throttled or not-yet-ready call (Throttling, PriorRequestNotComplete, 5xx). */
  readonly maxRetries: number;
  readonly retryBaseMs: number;
}

export interface FlipRequest {
  readonly hostedZoneId: string;
  readonly recordName: string;
  readonly recordType: RRType;
  /** Which set to change when the name has several (failover PRIMARY/SECONDARY, weighted, ...). */
  readonly setIdentifier?: string;
  /** The new value (e.g. green's endpoint). */
  readonly target: string;
  /** The change batch's comment (Route 53 keeps it with the change); default: the blue-green cutover's. */
  readonly comment?: string;
  /**
   * How the change is confirmed: `answer` (the default; a SECONDARY set by its stored value) asks Route 53
   * what it answers, which fails while the record's health check is unhealthy; `stored` reads the set back.
   */
  readonly confirmBy?: 'answer' | 'stored';
}

export interface FlipResult {
  readonly changed: boolean;
  readonly changeId: string | null;
  /** What the record was: pass it back in rollback mode to restore it. */
  readonly previous: RecordSnapshot;
  readonly current: RecordSnapshot;
  readonly insyncAfterMs: number;
  /** What Route 53 answers for the name now (TestDNSAnswer, no resolver caches). */
  readonly answer: readonly string[];
}

export class DnsFlipError extends RoutableError<
  | 'RecordNotFound'
  | 'RecordAmbiguous'
  | 'RecordUnsupported'
  | 'DnsChangeNotInSync'
  | 'DnsAnswerMismatch'
  | 'Route53Unavailable'
> {}

export interface FlipDependencies {
  readonly route53: Pick<Route53Client, 'send'>;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

const RETRYABLE = new Set([
  'Throttling',
  'ThrottlingException',
  'PriorRequestNotComplete',
  'ServiceUnavailable',
  'InternalFailure',
]);

function isRetryable(error: unknown): boolean {
  const { name, $metadata } = (error ?? {}) as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (name !== undefined && RETRYABLE.has(name)) || ($metadata?.httpStatusCode ?? 0) >= 500;
}

async function withRetries<T>(
  call: () => Promise<T>,
  what: string,
  timing: FlipTiming,
  sleep: (ms: number) => Promise<void>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isRetryable(error)) throw error;
      if (attempt >= timing.maxRetries) {
        const name = (error as { name?: string }).name ?? 'error';
        throw new DnsFlipError(
          'Route53Unavailable',
          `${what}: still ${name} after ${timing.maxRetries + 1} attempts`,
        );
      }
      await sleep(Math.min(5_000, timing.retryBaseMs * 2 ** attempt));
    }
  }
}

async function findRecord(
  deps: FlipDependencies,
  timing: FlipTiming,
  zone: string,
  name: string,
  type: RRType,
  setIdentifier: string | undefined,
): Promise<RecordSnapshot> {
  const sleep = deps.sleep ?? defaultSleep;
  const wanted = normalizeName(name);
  const listed = await withRetries(
    () =>
      deps.route53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zone,
          StartRecordName: wanted,
          StartRecordType: type,
          MaxItems: 100,
        }),
      ),
    'ListResourceRecordSets',
    timing,
    sleep,
  );
  const sets = (listed.ResourceRecordSets ?? []).filter(
    (set) => set.Name !== undefined && normalizeName(set.Name) === wanted && set.Type === type,
  );
  const matching =
    setIdentifier === undefined ? sets : sets.filter((set) => set.SetIdentifier === setIdentifier);
  if (matching.length === 0) {
    throw new DnsFlipError(
      'RecordNotFound',
      `no ${type} record ${wanted}${setIdentifier === undefined ? '' : ` with set identifier ${setIdentifier}`} in zone ${zone}`,
    );
  }
  const [only, ...others] = matching;
  if (only === undefined || others.length > 0) {
    const ids = matching.map((s) => s.SetIdentifier ?? '(none)').join(', ');
    throw new DnsFlipError(
      'RecordAmbiguous',
      `${wanted} has ${matching.length} ${type} sets (${ids}): give setIdentifier`,
    );
  }
  if (only.AliasTarget !== undefined) {
    throw new DnsFlipError(
      'RecordAmbiguous',
      `${wanted} is an alias record; only plain records can be flipped`,
    );
  }
  // A weighted, latency, geolocation, multivalue or traffic-policy record carries routing the flip would have
  // to write back, and a rollback restore: only plain and failover records are flipped.
  const unsupported = unsupportedFields(only);
  if (unsupported.length > 0) {
    throw new DnsFlipError(
      'RecordUnsupported',
      `${wanted} has ${unsupported.join(', ')}; only plain and failover records can be flipped`,
    );
  }
  return snapshotOf(only);
}

/**
 * Checks the change took: asks Route 53 what it answers for the name now (no resolver caches). A SECONDARY
 * failover set is not answered while the PRIMARY is healthy, so it is confirmed by reading the stored set, as
 * is any set when `confirmBy` is `stored`.
 */
async function confirmAnswer(
  deps: FlipDependencies,
  timing: FlipTiming,
  zone: string,
  record: RecordSnapshot,
  confirmBy: FlipRequest['confirmBy'] = 'answer',
): Promise<string[]> {
  if (record.Failover === 'SECONDARY' || confirmBy === 'stored') {
    const stored = await findRecord(
      deps,
      timing,
      zone,
      record.Name ?? '',
      record.Type ?? 'CNAME',
      record.SetIdentifier,
    );
    const values = valuesOf(stored);
    if (values.join(',') !== valuesOf(record).join(',')) {
      throw new DnsFlipError(
        'DnsAnswerMismatch',
        `the ${record.SetIdentifier ?? 'record'} set of ${record.Name ?? ''} holds ${values.join(', ')}, expected ${valuesOf(record).join(', ')}`,
      );
    }
    return values;
  }
  const tested = await withRetries(
    () =>
      deps.route53.send(
        new TestDNSAnswerCommand({
          HostedZoneId: zone,
          RecordName: record.Name ?? '',
          RecordType: record.Type ?? 'CNAME',
        }),
      ),
    'TestDNSAnswer',
    timing,
    deps.sleep ?? defaultSleep,
  );
  const answer = (tested.RecordData ?? []).map(normalizeName);
  const expected = valuesOf(record);
  if (!expected.every((value) => answer.includes(value))) {
    throw new DnsFlipError(
      'DnsAnswerMismatch',
      `Route 53 answers ${record.Name ?? ''} with ${answer.join(', ') || 'nothing'} (${tested.ResponseCode ?? 'no code'}), ` +
        `expected ${expected.join(', ')}; is the record's health check unhealthy?`,
    );
  }
  return answer;
}

const valuesOf = (set: RecordSnapshot) =>
  (set.ResourceRecords ?? []).map((r) => normalizeName(r.Value ?? ''));

async function upsertAndConfirm(
  deps: FlipDependencies,
  timing: FlipTiming,
  zone: string,
  desired: RecordSnapshot,
  comment: string,
  confirmBy?: FlipRequest['confirmBy'],
): Promise<{ changeId: string; insyncAfterMs: number; answer: string[] }> {
  const sleep = deps.sleep ?? defaultSleep;
  const now = deps.now ?? Date.now;
  const started = now();
  const change = await withRetries(
    () =>
      deps.route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zone,
          ChangeBatch: { Comment: comment, Changes: [{ Action: 'UPSERT', ResourceRecordSet: desired }] },
        }),
      ),
    'ChangeResourceRecordSets',
    timing,
    sleep,
  );
  const changeId = change.ChangeInfo?.Id ?? '';
  let status = change.ChangeInfo?.Status;
  while (status !== 'INSYNC') {
    if (now() - started >= timing.maxWaitMs) {
      throw new DnsFlipError(
        'DnsChangeNotInSync',
        `change ${changeId} is still ${status ?? 'unknown'} after ${Math.round((now() - started) / 1000)} s (limit ${timing.maxWaitMs / 1000} s)`,
      );
    }
    await sleep(timing.pollIntervalMs);
    const polled = await withRetries(
      () => deps.route53.send(new GetChangeCommand({ Id: changeId })),
      'GetChange',
      timing,
      sleep,
    );
    status = polled.ChangeInfo?.Status;
  }
  const insyncAfterMs = now() - started;
  const answer = await confirmAnswer(deps, timing, zone, desired, confirmBy);
  return { changeId, insyncAfterMs, answer };
}

/**
 * Points the record at a new target: UPSERT keeping every other field (TTL, failover role, set identifier,
 * health check), wait until the change is INSYNC (bounded), confirm with TestDNSAnswer. Returns the previous
 * record for rollback. Idempotent: a record already pointing at the target is only confirmed.
 */
export async function flipRecord(
  deps: FlipDependencies,
  timing: FlipTiming,
  request: FlipRequest,
): Promise<FlipResult> {
  const previous = await findRecord(
    deps,
    timing,
    request.hostedZoneId,
    request.recordName,
    request.recordType,
    request.setIdentifier,
  );
  const desired: RecordSnapshot = { ...previous, ResourceRecords: [{ Value: request.target }] };
  const alreadyThere =
    valuesOf(previous).length === 1 && valuesOf(previous)[0] === normalizeName(request.target);
  if (alreadyThere) {
    const answer = await confirmAnswer(deps, timing, request.hostedZoneId, previous, request.confirmBy);
    return { changed: false, changeId: null, previous, current: previous, insyncAfterMs: 0, answer };
  }
  const { changeId, insyncAfterMs, answer } = await upsertAndConfirm(
    deps,
    timing,
    request.hostedZoneId,
    desired,
    request.comment ?? `pg-dr blue-green cutover to ${request.target}`,
    request.confirmBy,
  );
  return { changed: true, changeId, previous, current: desired, insyncAfterMs, answer };
}

/**
 * Restores a record to a snapshot taken by flipRecord, with the same INSYNC wait and answer check. Only what a
 * flip writes is written back: a snapshot with any other field is refused before any call.
 */
export async function rollbackRecord(
  deps: FlipDependencies,
  timing: FlipTiming,
  hostedZoneId: string,
  previous: RecordSnapshot,
): Promise<Omit<FlipResult, 'previous'>> {
  const unsupported = unsupportedFields(previous);
  if (unsupported.length > 0) {
    throw new DnsFlipError(
      'RecordUnsupported',
      `the snapshot to restore has ${unsupported.join(', ')}: a flip never writes those`,
    );
  }
  const { changeId, insyncAfterMs, answer } = await upsertAndConfirm(
    deps,
    timing,
    hostedZoneId,
    previous,
    'pg-dr blue-green rollback',
  );
  return { changed: true, changeId, current: previous, insyncAfterMs, answer };
}
