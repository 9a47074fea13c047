import { join } from 'node:path';
import { consumers } from '@orderflow/contracts';
import {
  createLogger,
  migrationsCommand,
  startConsumerService,
  type Envelope,
  type Logger,
  type MessageOutcome,
  type Registry,
} from '@orderflow/platform';
import { toVersionedEvent } from './application/parse-message';
import { projectEvent } from './application/project-event';
import { projectionAdapters } from './adapters/projection-adapters';
import type { PgOrders } from './adapters/pg-orders';
import type { Config } from './config';

export { GAP_MAX_DELIVER, GAP_RETRY_DELAY_MS } from './application/project-event';
export const migrationsDir = join(__dirname, '..', 'migrations');
export const runMigrations = migrationsCommand(migrationsDir);
/** The one durable consumer every replica shares: JetStream's form of a queue group. */
export const CONSUMER = consumers.orderQuery;

export interface QueryWorkerApp {
  opsPort: number;
  orders: PgOrders;
  registry: Registry;
  handle(event: Envelope): Promise<MessageOutcome>;
  stop(): Promise<void>;
}

/** Starts one query-worker replica: the shared consumer `order-query` projects every event. */
export async function start(
  config: Config,
  logger: Logger = createLogger('order-query-worker', config.LOG_LEVEL),
): Promise<QueryWorkerApp> {
  const name = 'order-query-worker';
  const service = await startConsumerService(
    { name, consumer: CONSUMER, config, logger, migrationsDir },
    ({ pool, registry }) => {
      const ports = projectionAdapters(pool, registry);
      const handle = (e: Envelope) => projectEvent(ports, e);
      const validate = (e: Envelope) => void toVersionedEvent(e);
      return { orders: ports.orders, feed: ports.feed, handle, validate };
    },
  );
  const { opsPort, registry, parts } = service;
  parts.feed.bind(service.nc);
  return {
    opsPort,
    orders: parts.orders,
    registry,
    handle: parts.handle,
    stop: () => service.stop(),
  };
}
