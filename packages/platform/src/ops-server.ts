import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Readiness } from './readiness';

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `/healthz` (the event loop answers), `/readyz` (every readiness check passes),
 * `/startupz` (start-up finished: migrations ran, first connections made) and `/metrics`.
 */
export async function startOpsServer(opts: {
  host: string;
  port: number;
  logger: Logger;
  registry: Registry;
  readiness: Readiness;
}): Promise<OpsServer> {
  const { registry, readiness, logger } = opts;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const send = (status: number, body: string, type = 'application/json'): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, '{"error":"method not allowed"}');
    switch (path) {
      case '/healthz':
      case '/livez':
        return send(200, '{"status":"ok"}');
      case '/startupz':
        return readiness.isStarted ? send(200, '{"status":"started"}') : send(503, '{"status":"starting"}');
      case '/readyz':
        readiness
          .report()
          .then((r) => send(r.ready ? 200 : 503, JSON.stringify({ status: r.ready ? 'ready' : 'unready', checks: r.checks })))
          .catch((err: unknown) => send(503, JSON.stringify({ status: 'unready', error: String(err) })));
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
  logger.info({ port, host: opts.host }, 'ops server listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
