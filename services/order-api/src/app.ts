import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { indexCatalog } from '@orderflow/menu';
import {
  counter,
  createLogger,
  createPool,
  loadCatalogFile,
  startServiceOps,
  watchCatalog,
  type Logger,
} from '@orderflow/platform';
import { EventStoreGateway } from './adapters/event-store';
import { buildHttp } from './adapters/http/server';
import { PgReadModel } from './adapters/read-model';
import { createAuthenticator } from './authenticate';
import type { Config } from './config';

export interface OrderApiApp {
  httpPort: number;
  opsPort: number;
  stop(): Promise<void>;
}

/**
 * Starts the order API: the ops server, the query database pool, the event store client and the
 * HTTP server. It does not wait for its dependencies: until the database and the event store
 * answer, `/readyz` says unready and requests that need them answer 503.
 */
export async function start(
  config: Config,
  logger: Logger = createLogger('order-api', config.LOG_LEVEL),
): Promise<OrderApiApp> {
  // The menus orders are priced from: the catalog file, replaced live by the runtime config's
  // restaurant.catalog (docs/flow.md). A bad file stops the start naming the field.
  const fileCatalog = await loadCatalogFile(config.CATALOG_FILE);
  let menu = indexCatalog(fileCatalog);
  logger.info(
    { restaurants: fileCatalog.restaurants.length, source: config.CATALOG_FILE },
    'catalog loaded',
  );
  const catalogWatch = watchCatalog({
    fileCatalog,
    catalogFile: config.CATALOG_FILE,
    runtimeConfigFile: config.RUNTIME_CONFIG_FILE,
    logger,
    onChange: ({ catalog, source }) => {
      menu = indexCatalog(catalog);
      logger.info({ restaurants: catalog.restaurants.length, source }, 'catalog replaced');
    },
  });
  const authenticate = createAuthenticator(config, logger);
  const { registry, readiness, ops } = await startServiceOps('order-api', config, logger);
  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX);
  const readModel = new PgReadModel(pool);
  const events = new EventStoreGateway(config.EVENTSTORE_ADDRESS, config.EVENTSTORE_TIMEOUT_MS);
  readiness.add('database', () => readModel.ping()).add('eventstore', () => events.check());
  const ordersCreated = counter(registry, {
    name: 'orderflow_orders_created_total',
    help: 'Orders accepted (order-created appended); idempotent replays are not counted.',
  });
  const ports = { events, readModel, menu: () => menu, newId: randomUUID, ordersCreated, logger };
  const { app: http, drain } = await buildHttp({
    ports,
    authenticate,
    registry,
    logger,
    limits: httpLimits(config),
  });
  await http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  const httpPort = (http.server.address() as AddressInfo).port;
  readiness.started();
  logger.info(listening(config, httpPort), 'order API listening');
  return {
    httpPort,
    opsPort: ops.port,
    async stop() {
      // Readiness goes false first; for SHUTDOWN_DRAIN_MS every answer carries Connection: close
      // (clients move to other replicas), then the listener closes, in-flight requests finish and
      // idle connections are closed. On Kubernetes a preStop wait comes before all this.
      readiness.markStopping();
      drain();
      catalogWatch.close();
      if (config.SHUTDOWN_DRAIN_MS > 0) {
        logger.info({ drainMs: config.SHUTDOWN_DRAIN_MS }, 'draining connections');
        await new Promise((r) => setTimeout(r, config.SHUTDOWN_DRAIN_MS));
      }
      await http.close();
      events.close();
      await pool.end();
      await ops.close();
    },
  };
}

const httpLimits = (config: Config) => ({
  bodyLimitBytes: config.BODY_LIMIT_BYTES,
  maxHeaderBytes: config.HTTP_MAX_HEADER_BYTES,
  requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
  trustProxyHops: config.HTTP_TRUST_PROXY_HOPS,
  rateLimitMax: config.RATE_LIMIT_MAX,
  rateLimitWindowMs: config.RATE_LIMIT_WINDOW_MS,
  keepAliveTimeoutMs: config.KEEP_ALIVE_TIMEOUT_MS,
});

const listening = (config: Config, port: number) => ({
  port,
  host: config.HTTP_HOST,
  eventstore: config.EVENTSTORE_ADDRESS,
  authMode: config.AUTH_MODE,
  rateLimit:
    config.RATE_LIMIT_MAX > 0 ? `${config.RATE_LIMIT_MAX}/${config.RATE_LIMIT_WINDOW_MS}ms` : 'off',
});
