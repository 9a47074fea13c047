import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  endPool,
  counter,
  createLogger,
  createPool,
  startServiceOps,
  type Logger,
  type Registry,
} from '@orderflow/platform';
import { EventStoreGateway } from './adapters/event-store';
import { buildHttp, httpLimitsOf, listeningOf, type RegisteredRoute } from './adapters/http/server';
import { LiveStreams } from './adapters/http/live';
import { followMenu } from './adapters/menu';
import { NatsOrderChanges } from './adapters/order-changes';
import { PgReadModel } from './adapters/read-model';
import type { OrderApiPorts } from './application/ports';
import { createAuthenticator } from './authenticate';
import type { Config } from './config';

/** The ports of the use cases (application/ports.ts). */
function orderPorts(deps: {
  registry: Registry;
  menu: Awaited<ReturnType<typeof followMenu>>;
  events: EventStoreGateway;
  readModel: PgReadModel;
  logger: Logger;
}): OrderApiPorts {
  const ordersCreated = counter(deps.registry, {
    name: 'orderflow_orders_created_total',
    help: 'Orders accepted (order-created appended); idempotent replays are not counted.',
  });
  const { events, readModel, logger } = deps;
  const { menu, catalog } = deps.menu;
  return { events, readModel, menu, catalog, newId: randomUUID, ordersCreated, logger };
}

/** The live order feed: the NATS announcements and the SSE streams that follow them. */
function liveFeed(
  config: Config,
  deps: { events: EventStoreGateway; readModel: PgReadModel; logger: Logger; registry: Registry },
) {
  const changes = new NatsOrderChanges(config.NATS_URL, deps.logger, deps.registry);
  const live = new LiveStreams(
    { events: deps.events, readModel: deps.readModel, changes, logger: deps.logger },
    { maxStreams: config.SSE_MAX_STREAMS, heartbeatMs: config.SSE_HEARTBEAT_MS },
    deps.registry,
    deps.logger,
  );
  return { changes, live };
}

export interface OrderApiApp {
  httpPort: number;
  opsPort: number;
  /** Every route the HTTP server registered (the OpenAPI document's test compares them). */
  routes: readonly RegisteredRoute[];
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
  const menu = await followMenu(config, logger);
  const authenticate = createAuthenticator(config, logger);
  const { registry, readiness, ops } = await startServiceOps('order-api', config, logger);
  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX);
  const readModel = new PgReadModel(pool);
  const events = new EventStoreGateway(config.EVENTSTORE_ADDRESS, config.EVENTSTORE_TIMEOUT_MS);
  readiness.add('database', () => readModel.ping()).add('eventstore', () => events.check());
  const ports = orderPorts({ registry, menu, events, readModel, logger });
  const { changes, live } = liveFeed(config, { events, readModel, logger, registry });
  const built = await buildHttp({
    ports,
    authenticate,
    registry,
    logger,
    limits: httpLimitsOf(config),
    live,
    auth: { mode: config.AUTH_MODE, issuer: config.AUTH_ISSUER },
  });
  const { app: http, drain, routes } = built;
  await http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  const httpPort = (http.server.address() as AddressInfo).port;
  readiness.started();
  logger.info(listeningOf(config, httpPort), 'order API listening');
  return {
    httpPort,
    opsPort: ops.port,
    routes,
    async stop() {
      // Readiness goes false first; for SHUTDOWN_DRAIN_MS every answer carries Connection: close
      // (clients move to other replicas), then the listener closes, in-flight requests finish and
      // idle connections are closed. On Kubernetes a preStop wait comes before all this.
      readiness.markStopping();
      drain();
      menu.close();
      if (config.SHUTDOWN_DRAIN_MS > 0) {
        logger.info({ drainMs: config.SHUTDOWN_DRAIN_MS }, 'draining connections');
        await new Promise((r) => setTimeout(r, config.SHUTDOWN_DRAIN_MS));
      }
      // Live streams never finish by themselves: end them, clients resume elsewhere (Last-Event-ID).
      live.close();
      await http.close();
      logger.info('HTTP server closed: in-flight requests finished');
      await changes.close();
      events.close();
      await endPool(pool, logger);
      await ops.close();
    },
  };
}
