import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { gauge } from './metrics';
import type { Readiness, ReadinessReport } from './readiness';

/** How often the ops server runs the readiness checks by itself, so `orderflow_ready` stays current without probes. */
export const READY_SELF_CHECK_MS = 5_000;

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `/healthz` (the event loop answers), `/readyz` (every readiness check passes),
 * `/startupz` (start-up finished: migrations ran, first connections made) and `/metrics`.
 * The gauge `orderflow_ready` (1 ready, 0 not) follows every `/readyz` answer and a self-check
 * every 5 s, so an alert can fire on an unready pod that no probe asks about (or that answers no probe).
 */
export async function startOpsServer(opts: {
  host: string;
  port: number;
  logger: Logger;
  registry: Registry;
  readiness: Readiness;
}): Promise<OpsServer> {
  const { registry, readiness, logger } = opts;
  const ready = gauge(registry, {
    name: 'orderflow_ready',
    help: 'Readiness of the service: 1 when every readiness check passes, 0 otherwise (updated on /readyz and every 5 s).',
  });
  ready.set(0);
  const report = async (): Promise<ReadinessReport> => {
    const r = await readiness.report();
    ready.set(r.ready ? 1 : 0);
    return r;
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const send = (status: number, body: string, type = 'application/json'): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(405, '{"error":"method not allowed"}');
    switch (path) {
      case '/healthz':
      case '/livez':
        return send(200, '{"status":"ok"}');
      case '/startupz':
        return readiness.isStarted
          ? send(200, '{"status":"started"}')
          : send(503, '{"status":"starting"}');
      case '/readyz':
        report()
          .then((r) =>
            send(
              r.ready ? 200 : 503,
              JSON.stringify({ status: r.ready ? 'ready' : 'unready', checks: r.checks }),
            ),
          )
          .catch((err: unknown) => {
            ready.set(0);
            send(503, JSON.stringify({ status: 'unready', error: String(err) }));
          });
        return;
      case '/metrics':
        registry
          .metrics()
          .then((text) => send(200, text, registry.contentType))
          .catch((err: unknown) => {
            logger.error({ err }, 'metrics collection failed');
            send(500, '# metrics collection failed\n', 'text/plain');
          });
        return;
      default:
        return send(404, '{"error":"not found"}');
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let checking: Promise<unknown> | undefined;
  const selfCheck = setInterval(() => {
    checking ??= report()
      .catch(() => ready.set(0))
      .finally(() => (checking = undefined));
  }, READY_SELF_CHECK_MS);
  selfCheck.unref();
  logger.info({ port, host: opts.host }, 'ops server listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(selfCheck);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
