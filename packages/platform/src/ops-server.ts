import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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

type Send = (status: number, body: string, type?: string) => void;

/** `/readyz`: runs the checks and answers with each one's result. */
function answerReady(report: () => Promise<ReadinessReport>, send: Send, onError: () => void) {
  report()
    .then((r) =>
      send(
        r.ready ? 200 : 503,
        JSON.stringify({ status: r.ready ? 'ready' : 'unready', checks: r.checks }),
      ),
    )
    .catch((err: unknown) => {
      onError();
      send(503, JSON.stringify({ status: 'unready', error: String(err) }));
    });
}

/** `/metrics`: the registry in the Prometheus text format. */
function answerMetrics(registry: Registry, logger: Logger, send: Send) {
  registry
    .metrics()
    .then((text) => send(200, text, registry.contentType))
    .catch((err: unknown) => {
      logger.error({ err }, 'metrics collection failed');
      send(500, '# metrics collection failed\n', 'text/plain');
    });
}

interface Routes {
  registry: Registry;
  readiness: Readiness;
  logger: Logger;
  report: () => Promise<ReadinessReport>;
  unready: () => void;
}

function route(r: Routes, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const send: Send = (status, body, type = 'application/json') => {
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
      return r.readiness.isStarted
        ? send(200, '{"status":"started"}')
        : send(503, '{"status":"starting"}');
    case '/readyz':
      return answerReady(r.report, send, r.unready);
    case '/metrics':
      return answerMetrics(r.registry, r.logger, send);
    default:
      return send(404, '{"error":"not found"}');
  }
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
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
  const routes: Routes = { registry, readiness, logger, report, unready: () => ready.set(0) };
  const server: Server = createServer((req, res) => route(routes, req, res));
  server.keepAliveTimeout = 65_000;
  const port = await listen(server, opts.port, opts.host);
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
