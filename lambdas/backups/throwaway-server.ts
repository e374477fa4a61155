/**
 * A throwaway PostgreSQL server for restoring a dump into: initdb into a folder, started on a Unix socket only
 * (no TCP listener: nothing outside the process's container can reach it), trusted local connections, no
 * fsync (it is thrown away). The dump restore test runs one inside its task, on the postgres image's own
 * initdb and pg_ctl; PostgreSQL refuses to run as root, so as root they run as an unprivileged account.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import type { ConnectionSettings } from '../shared/database';
import { redact } from '../shared/redact';
import { DumpError } from './dump';

export interface Account {
  readonly uid: number;
  readonly gid: number;
}

/**
 * The account PostgreSQL runs as: none (this one) unless this process is root; then `postgres` (the official
 * image's, uid 999), else `nobody`.
 */
export function serverAccount(): Account | undefined {
  if (userInfo().uid !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
      if (Number.isInteger(uid) && uid > 0) return { uid, gid };
    } catch {
      // try the next account
    }
  }
  throw new DumpError('DumpFailed', 'running as root and neither a "postgres" nor a "nobody" account exists');
}

export interface ThrowawayServer {
  /** The server's superuser over its socket, database `postgres`: create the target database with it. */
  readonly settings: ConnectionSettings;
  /** Stops it at once and removes its folder; safe to call twice. */
  stop(): Promise<void>;
}

/** Bounds: initdb and a start take seconds; a stop with -m immediate, less. */
const TOOL_TIMEOUT_MS = 180_000;

function run(tool: string, args: readonly string[], account: Account | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      tool,
      args,
      { timeout: TOOL_TIMEOUT_MS, ...(account === undefined ? {} : account), encoding: 'utf8' },
      (error, _stdout, stderr) => {
        if (error === null) {
          resolve();
          return;
        }
        const code = (error as NodeJS.ErrnoException).code;
        reject(
          code === 'ENOENT'
            ? new DumpError('PgToolMissing', `${tool} is not installed here`, { cause: error })
            : new DumpError(
                'DumpFailed',
                `${tool.split('/').at(-1) ?? tool} failed: ${redact(stderr.trim().split('\n').slice(-3).join(' ')) || error.message}`,
              ),
        );
      },
    );
  });
}

/**
 * Makes and starts a throwaway server in `folder` (created; removed again by stop). `binDir` holds initdb
 * and pg_ctl (the image's own: PATH when empty).
 */
export async function startThrowawayServer(options: {
  readonly folder: string;
  readonly binDir?: string;
  readonly account?: Account;
}): Promise<ThrowawayServer> {
  const tool = (name: string) => (options.binDir === undefined ? name : join(options.binDir, name));
  const { account } = options;
  const data = join(options.folder, 'data');
  const socket = join(options.folder, 'socket');
  if (account !== undefined) {
    // The account must reach its folder: let it through the folder above (search only, no listing).
    const parent = dirname(options.folder);
    chmodSync(parent, statSync(parent).mode | 0o011);
  }
  mkdirSync(data, { recursive: true, mode: 0o700 });
  mkdirSync(socket, { recursive: true, mode: 0o700 });
  if (account !== undefined)
    for (const path of [options.folder, data, socket]) chownSync(path, account.uid, account.gid);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      await run(tool('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], account);
    } catch {
      // Not running (a start that failed): the folder goes either way.
    }
    rmSync(options.folder, { recursive: true, force: true });
  };
  try {
    await run(
      tool('initdb'),
      ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
      account,
    );
    await run(
      tool('pg_ctl'),
      [
        '-D',
        data,
        '-w',
        '-t',
        '120',
        '-l',
        join(options.folder, 'server.log'),
        '-o',
        `-c listen_addresses= -c unix_socket_directories=${socket} -c fsync=off -c port=5432`,
        'start',
      ],
      account,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    settings: {
      host: socket,
      port: 5432,
      database: 'postgres',
      user: 'postgres',
      // Trusted over the socket: not a secret, and not checked.
      password: 'unused-trust',
      tls: false,
    },
    stop,
  };
}
