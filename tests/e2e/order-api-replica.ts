import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chaosApiCatalog, type CatalogFile } from '@orderflow/chaos';
import { Supervised, type RunningSystem } from '@orderflow/runner';
import { freePort, waitFor } from '@orderflow/testkit';

/**
 * One more order-api process beside the one `startSystem` runs, on the same query database, event
 * store and NATS: a second replica, as a Deployment with two pods has. `env` overrides (an
 * AUTH_MODE, a CATALOG_FILE); its log goes to `logFile`.
 */
export async function startOrderApiReplica(
  root: string,
  system: RunningSystem,
  opts: { logFile: string; env?: Record<string, string> },
): Promise<{ url: string; ops: string; stop: () => Promise<void> }> {
  const [httpPort, opsPort] = [await freePort(), await freePort()];
  const grpc = system.endpoints.services['eventstore']?.grpc;
  if (!grpc) throw new Error('the system runs no event store');
  const p = new Supervised({
    name: 'order-api-2',
    service: 'order-api',
    command: process.execPath,
    args: [join(root, 'services', 'order-api', 'dist', 'main.js')],
    cwd: root,
    logFile: opts.logFile,
    env: {
      LOG_LEVEL: 'warn',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      OPS_HOST: '127.0.0.1',
      OPS_PORT: String(opsPort),
      DATABASE_URL: system.databaseUrl('order-api'),
      EVENTSTORE_ADDRESS: grpc,
      NATS_URL: system.endpoints.nats,
      CATALOG_FILE: join(root, 'config', 'catalog.json'),
      AUTH_MODE: 'none',
      RATE_LIMIT_MAX: '0',
      ...opts.env,
    },
  });
  p.start();
  const ops = `http://127.0.0.1:${opsPort}`;
  await waitFor('the second order API to be ready', async () => (await fetch(`${ops}/readyz`)).ok, {
    timeoutMs: 60_000,
    intervalMs: 200,
  }).catch(async (err: unknown) => {
    await p.stop();
    throw err;
  });
  return { url: `http://127.0.0.1:${httpPort}`, ops, stop: () => p.stop() };
}

/** Holds a service's processes still (SIGSTOP) while `during` runs, then lets them go (SIGCONT). */
export async function paused<T>(
  system: RunningSystem,
  service: string,
  during: () => Promise<T>,
): Promise<T> {
  const processes = system.processes.filter((p) => p.spec.service === service);
  for (const p of processes) p.kill('SIGSTOP');
  try {
    return await during();
  } finally {
    for (const p of processes) p.kill('SIGCONT');
  }
}

/**
 * The order API's menu with what the restaurant no longer sells (`chaosApiCatalog`: a
 * nowhere-bistro, a repriced tiramisu), written to `dir`: such orders are taken, rejected,
 * refunded and cancelled. Returns the file.
 */
export function writeStaleApiCatalog(root: string, dir: string): string {
  const catalog = JSON.parse(
    readFileSync(join(root, 'config', 'catalog.json'), 'utf8'),
  ) as CatalogFile;
  const file = join(dir, 'api-catalog.json');
  writeFileSync(file, JSON.stringify(chaosApiCatalog(catalog)));
  return file;
}
