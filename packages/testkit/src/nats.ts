import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports';

export interface NatsServer {
  port: number;
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stops without removing the data folder. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function natsServerBinary(): string {
  for (const p of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'])
    if (existsSync(p)) return p;
  throw new Error('nats-server not found; run scripts/install-system-deps.sh');
}

const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/**
 * Starts `nats-server -js` on a free 127.0.0.1 port with its own store folder. `config` is
 * nats.conf text (for example an `authorization` block from natsAuthorizationConf), written to
 * the store folder and loaded with `-c`; the flags still set the address, port and store.
 */
export async function startNats(
  opts: { port?: number; dataDir?: string; config?: string } = {},
): Promise<NatsServer> {
  const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'orderflow-nats-'));
  const port = opts.port ?? (await freePort());
  const configArgs: string[] = [];
  if (opts.config !== undefined) {
    const file = join(dir, 'orderflow-nats.conf');
    writeFileSync(file, opts.config, { mode: 0o600 });
    configArgs.push('-c', file);
  }
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn(
      natsServerBinary(),
      [
        ...configArgs,
        '-js',
        '-a',
        '127.0.0.1',
        '-p',
        String(port),
        '-sd',
        dir,
        '-l',
        join(dir, 'nats.log'),
      ],
      {
        stdio: 'ignore',
      },
    );
    await waitFor('nats-server to listen', () => portOpen(port), { timeoutMs: 20_000 });
  };
  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  };
  await start();
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    start,
    kill,
    restart: async () => {
      await kill();
      await start();
    },
    stop: async () => {
      await kill();
      if (!opts.dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
