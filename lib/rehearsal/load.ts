import { Client } from 'pg';
import { clientConfig, type ConnectionSettings } from '../../lambdas/shared/database';

export interface LoadSample {
  /** Epoch ms the request started. */
  readonly at: number;
  readonly op: 'write' | 'read';
  readonly ok: boolean;
  /** Which endpoint served it (what the record resolved to). */
  readonly host: string;
}

export interface LoadOptions {
  readonly name: string;
  readonly recordName: string;
  /** Resolves the record as an application does (with a TTL cache). */
  readonly resolve: (name: string) => Promise<string[]>;
  /** How to connect to each endpoint the record may name. */
  readonly endpoints: ReadonlyMap<string, ConnectionSettings>;
  readonly intervalMs: number;
  /** Per-request limit: a fenced or frozen database must not stall the load. */
  readonly timeoutMs: number;
}

const normalize = (name: string) => name.toLowerCase().replace(/\.$/, '');

/**
 * An application, as far as the database sees it: resolves the record, keeps one connection to the endpoint it
 * names, reconnects when the answer changes or a request fails, and alternates writes (an order row) and reads.
 * Every acknowledged write's id is kept, so lost writes can be counted afterwards.
 */
export class LoadGenerator {
  readonly samples: LoadSample[] = [];
  readonly ackedWrites: string[] = [];
  private client: { host: string; client: Client } | undefined;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: LoadOptions) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.disconnect();
  }

  private async disconnect(): Promise<void> {
    const current = this.client;
    this.client = undefined;
    await current?.client.end().catch(() => undefined);
  }

  private async connection(): Promise<{ host: string; client: Client }> {
    const answer = (await this.options.resolve(this.options.recordName)).map(normalize);
    const host = answer[0] ?? '';
    if (this.client?.host === host) return this.client;
    await this.disconnect();
    const settings = this.options.endpoints.get(host);
    if (settings === undefined) throw new Error(`${this.options.recordName} resolved to unknown ${host}`);
    const client = new Client(
      clientConfig(settings, {
        connectTimeoutMs: this.options.timeoutMs,
        statementTimeoutMs: this.options.timeoutMs,
        applicationName: `rehearsal-load-${this.options.name}`,
      }),
    );
    client.on('error', () => undefined);
    await client.connect();
    this.client = { host, client };
    return this.client;
  }

  private async run(): Promise<void> {
    let write = true;
    while (this.running) {
      const at = Date.now();
      const op = write ? 'write' : 'read';
      write = !write;
      let host = '';
      try {
        const connection = await this.connection();
        host = connection.host;
        if (op === 'write') {
          const { rows } = await connection.client.query<{ id: string }>(
            `INSERT INTO "order" (account_id, total_cents)
             SELECT id, 1 + floor(random() * 10000)::int FROM account ORDER BY random() LIMIT 1 RETURNING id::text`,
          );
          const id = rows[0]?.id;
          if (id === undefined) throw new Error('insert returned no id');
          this.ackedWrites.push(id);
        } else {
          await connection.client.query(
            'SELECT count(*) FROM "order" WHERE created_at > now() - interval \'1 minute\'',
          );
        }
        this.samples.push({ at, op, ok: true, host });
      } catch {
        this.samples.push({ at, op, ok: false, host });
        // Reconnect on the next request (the record may point elsewhere by then).
        await this.disconnect();
      }
      const wait = this.options.intervalMs - (Date.now() - at);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** The longest gap between consecutive successful writes inside [from, to]: the write pause clients saw. */
export function longestWritePause(samples: readonly LoadSample[], from: number, to: number): number {
  const writes = samples.filter((s) => s.op === 'write' && s.ok).map((s) => s.at);
  let longest = 0;
  for (let i = 1; i < writes.length; i++) {
    const previous = writes[i - 1] ?? 0;
    const current = writes[i] ?? 0;
    if (current >= from && previous <= to) longest = Math.max(longest, current - previous);
  }
  return longest;
}
