import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, waitFor } from './ports';

export interface PostgresServer {
  port: number;
  /** URL of the `postgres` database (admin). */
  url: string;
  urlFor(database: string): string;
  createDatabase(name: string): Promise<string>;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions)
    if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  throw new Error(
    'PostgreSQL server binaries not found under /usr/lib/postgresql; run scripts/install-system-deps.sh',
  );
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** Debian's initdb and pg_ctl refuse to run as root: run them as the postgres user then. */
function asDbUser(cmd: string, args: string[]): { cmd: string; args: string[] } {
  return isRoot()
    ? { cmd: 'runuser', args: ['-u', 'postgres', '--', cmd, ...args] }
    : { cmd, args };
}

function run(cmd: string, args: string[]): void {
  const c = asDbUser(cmd, args);
  execFileSync(c.cmd, c.args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Starts a throw-away PostgreSQL on a free 127.0.0.1 port with its own data folder. `durable:
 * false` (the default, for tests) turns fsync off; benchmarks keep it on.
 */
export async function startPostgres(
  opts: { durable?: boolean; port?: number; dataDir?: string } = {},
): Promise<PostgresServer> {
  const bin = binDir();
  const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'orderflow-pg-'));
  const data = join(dir, 'data');
  const sock = dir;
  if (isRoot()) {
    execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  }
  if (!existsSync(join(data, 'PG_VERSION'))) {
    run(join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
  }
  const port = opts.port ?? (await freePort());
  const settings = [
    `-p ${port}`,
    `-k ${sock}`,
    `-c listen_addresses=127.0.0.1`,
    `-c max_connections=400`,
    `-c shared_buffers=128MB`,
    ...(opts.durable
      ? []
      : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
  ].join(' ');
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const start = async (): Promise<void> => {
    run(join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      join(dir, 'postgres.log'),
      '-o',
      settings,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    await waitFor('postgres to accept connections', async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.end();
      return true;
    });
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    const c = asDbUser(join(bin, 'pg_ctl'), ['-D', data, '-m', mode, '-w', 'stop']);
    spawnSync(c.cmd, c.args, { stdio: 'ignore' });
    await Promise.resolve();
  };
  await start();
  const urlFor = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    url,
    urlFor,
    async createDatabase(name: string) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (exists.rowCount === 0) await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return urlFor(name);
    },
    stop: async (mode) => {
      await stop(mode);
      if (!opts.dataDir) rmSync(dir, { recursive: true, force: true });
    },
    start,
    async restart(mode = 'immediate') {
      await stop(mode);
      await start();
    },
  };
}

/** Kills a stray server that a crashed run left behind (used by the runner's clean-up). */
export function stopPostgresDir(dataDir: string): void {
  const bin = binDir();
  const c = asDbUser(join(bin, 'pg_ctl'), ['-D', join(dataDir, 'data'), '-m', 'immediate', 'stop']);
  spawn(c.cmd, c.args, { stdio: 'ignore' });
}
