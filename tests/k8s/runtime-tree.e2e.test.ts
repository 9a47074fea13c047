import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, freshDatabase, startNats, waitFor, type NatsServer } from '@orderflow/testkit';
import { ROOT } from './helpers';

/**
 * The image's runtime stage without a Docker engine: scripts/build-runtime-tree.sh builds the same
 * /app tree (production dependencies via `npm ci --omit=dev`, compiled dist/, config/), and the
 * event store runs from it as the chart runs it: `node services/eventstore/dist/main.js`, first
 * with `migrate`, then serving /healthz on the ops port.
 */

const hasEventstore = existsSync(join(ROOT, 'services', 'eventstore', 'src', 'main.ts'));
const maybe = hasEventstore ? describe : describe.skip;

maybe('the runtime tree of the image', () => {
  let tree = '';
  let nats: NatsServer | undefined;
  let child: ChildProcess | undefined;
  let databaseUrl = '';

  beforeAll(async () => {
    tree = mkdtempSync(join(tmpdir(), 'orderflow-runtime-'));
    const r = spawnSync(join(ROOT, 'scripts', 'build-runtime-tree.sh'), [tree], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`build-runtime-tree.sh failed:\n${r.stderr}`);
    nats = await startNats();
    databaseUrl = await freshDatabase('runtime_tree');
  }, 300_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await nats?.stop();
    if (tree) rmSync(tree, { recursive: true, force: true });
  });

  test('when the tree is built, then it holds production dependencies only and every compiled service', () => {
    expect(existsSync(join(tree, 'node_modules', 'pg'))).toBe(true);
    for (const dev of ['typescript', 'jest', 'eslint', '@swc/core', 'kubernetes-models'])
      expect([dev, existsSync(join(tree, 'node_modules', dev))]).toEqual([dev, false]);
    const built = readdirSync(join(ROOT, 'services')).filter((s) =>
      existsSync(join(ROOT, 'services', s, 'dist', 'main.js')),
    );
    for (const s of built)
      expect(existsSync(join(tree, 'services', s, 'dist', 'main.js'))).toBe(true);
    const withSql = readdirSync(join(ROOT, 'services')).filter((s) =>
      existsSync(join(ROOT, 'services', s, 'migrations')),
    );
    for (const s of withSql) expect(existsSync(join(tree, 'services', s, 'migrations'))).toBe(true);
    if (existsSync(join(ROOT, 'config'))) expect(existsSync(join(tree, 'config'))).toBe(true);
  });

  test('when the event store runs from the tree, then migrate exits 0 and the service answers /healthz', async () => {
    const opsPort = await freePort();
    const env = {
      PATH: process.env['PATH'] ?? '',
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      NATS_URL: nats?.url ?? '',
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: String(await freePort()),
      OPS_HOST: '127.0.0.1',
      OPS_PORT: String(opsPort),
      LOG_LEVEL: 'warn',
    };
    const migrate = spawnSync('node', ['services/eventstore/dist/main.js', 'migrate'], {
      cwd: tree,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({
      status: migrate.status,
      output: migrate.status === 0 ? '' : migrate.stderr + migrate.stdout,
    }).toEqual({ status: 0, output: '' });

    child = spawn('node', ['services/eventstore/dist/main.js'], {
      cwd: tree,
      env: { ...env, MIGRATE_ON_START: 'false' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = await waitFor(
      'the event store /healthz',
      async () => {
        if (child?.exitCode !== null)
          throw new Error(`event store exited ${String(child?.exitCode)}: ${stderr}`);
        const res = await fetch(`http://127.0.0.1:${opsPort}/healthz`);
        return res.status;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(status).toBe(200);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) =>
      child?.once('exit', (c) => resolve(c)),
    );
    expect(code).toBe(0);
  }, 120_000);
});
