import { execFile } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { chaosApiCatalog, type CatalogFile } from '@orderflow/chaos';
import { Cluster, KUBE_VALUES, ROOT, render, type RenderOptions } from '@orderflow/kubelet';

/** The image `make image` builds; the chart's kube value set names it. */
export const IMAGE = 'localhost/orderflow:dev';
export const RELEASE = 'of';
export const NAMESPACE = 'orderflow';
export const LOG_DIR = join(ROOT, '.run', 'kube');

/** Runs a script of the repository, its output appended to a log file; rejects with the log's tail. */
export function script(args: string[], log: string): Promise<void> {
  mkdirSync(LOG_DIR, { recursive: true });
  const out = createWriteStream(join(LOG_DIR, log), { flags: 'a' });
  return new Promise((done, fail) => {
    const child = execFile(args[0]!, args.slice(1), { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 });
    let tail = '';
    const keep = (chunk: Buffer | string): void => {
      out.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('close', (code) => {
      out.end();
      if (code === 0) done();
      else fail(new Error(`${args.join(' ')} exited ${code}:\n${tail}`));
    });
  });
}

/** `make image` and the stand-in images (each skipped when present and, for the image, cached). */
export async function buildImages(): Promise<void> {
  await script(['scripts/containers/build-image.sh', '--tag', 'orderflow:dev'], 'image.log');
  await script(['scripts/containers/stand-ins.sh'], 'stand-ins.log');
}

/**
 * The order API's menu for the order flow tests: the restaurant's catalog plus dishes the
 * restaurant no longer sells (see tests/kube/fixtures/order-api-menu-values.yaml).
 */
export function orderApiMenu(): RenderOptions {
  const catalog = JSON.parse(
    readFileSync(join(ROOT, 'config', 'catalog.json'), 'utf8'),
  ) as CatalogFile;
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'order-api-menu', namespace: NAMESPACE },
    data: { 'catalog.json': JSON.stringify(chaosApiCatalog(catalog), null, 2) },
  };
  return {
    valuesFiles: [
      KUBE_VALUES,
      join(ROOT, 'tests', 'kube', 'fixtures', 'order-api-menu-values.yaml'),
    ],
    manifests: [stringify(configMap)],
  };
}

/** A cluster of the rendered chart (kube value set and fixtures unless told otherwise). */
export function cluster(name: string, opts: RenderOptions = {}): Cluster {
  const log = createWriteStream(join(LOG_DIR, `${name}.log`), { flags: 'w' });
  return Cluster.fromYaml(render({ release: RELEASE, namespace: NAMESPACE, ...opts }), {
    name,
    namespace: NAMESPACE,
    proxyImage: IMAGE,
    // The kubelet's crash-loop backoff (10 s doubling) at a tenth, so restarts fit a test run.
    backoffScale: 0.1,
    log: (line) => void log.write(`${new Date().toISOString()} ${line}\n`),
  });
}

export interface OrderView {
  orderId: string;
  status: string;
  amount: number;
  cancellationReason?: string;
  refunded?: boolean;
}

export const FINAL = new Set(['Approved', 'Cancelled']);

export async function placeOrder(api: string, body: unknown): Promise<OrderView> {
  const res = await fetch(`${api}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /api/orders answered ${res.status}: ${text}`);
  return JSON.parse(text) as OrderView;
}

export async function finalState(
  api: string,
  orderId: string,
  timeoutMs = 60_000,
): Promise<OrderView> {
  const until = Date.now() + timeoutMs;
  let last: OrderView | undefined;
  while (Date.now() < until) {
    try {
      const res = await fetch(`${api}/api/orders/${orderId}`, {
        signal: AbortSignal.timeout(5_000),
      });
      if (res.status === 200) {
        last = (await res.json()) as OrderView;
        if (FINAL.has(last.status)) return last;
      }
    } catch {
      // The Service may be between endpoints while a pod restarts: ask again.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `order ${orderId} not final after ${timeoutMs} ms (last: ${JSON.stringify(last)})`,
  );
}
