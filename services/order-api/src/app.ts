import type { AddressInfo } from 'node:net';
import {
  Readiness,
  createLogger,
  createMetricsRegistry,
  createPool,
  startOpsServer,
  type Logger,
} from '@orderflow/platform';
import { EventStoreGateway } from './adapters/event-store';
import { PgReadModel } from './adapters/read-model';
import type { Config } from './config';
import { buildHttp } from './http';

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
  const registry = createMetricsRegistry('order-api');
  const readiness = new Readiness();
  const ops = await startOpsServer({
    host: config.OPS_HOST,
    port: config.OPS_PORT,
    logger,
    registry,
    readiness,
  });

  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX);
  const readModel = new PgReadModel(pool);
  const eventStore = new EventStoreGateway(config.EVENTSTORE_ADDRESS, config.EVENTSTORE_TIMEOUT_MS);
  readiness.add('database', () => readModel.ping()).add('eventstore', () => eventStore.check());

  const { app: http, drain } = buildHttp({
    readModel,
    eventStore,
    registry,
    logger,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    keepAliveTimeoutMs: config.KEEP_ALIVE_TIMEOUT_MS,
  });
  await http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  const httpPort = (http.server.address() as AddressInfo).port;
  readiness.started();
  logger.info(
    { port: httpPort, host: config.HTTP_HOST, eventstore: config.EVENTSTORE_ADDRESS },
    'order API listening',
  );

  return {
    httpPort,
    opsPort: ops.port,
    async stop() {
      // Readiness goes false first; for SHUTDOWN_DRAIN_MS every answer carries Connection: close
      // (clients move to other replicas), then the listener closes, in-flight requests finish and
      // idle connections are closed. On Kubernetes a preStop wait comes before all this.
      readiness.markStopping();
      drain();
      if (config.SHUTDOWN_DRAIN_MS > 0) {
        logger.info({ drainMs: config.SHUTDOWN_DRAIN_MS }, 'draining connections');
        await new Promise((r) => setTimeout(r, config.SHUTDOWN_DRAIN_MS));
      }
      await http.close();
      eventStore.close();
      await pool.end();
      await ops.close();
    },
  };
}
