import { join } from 'node:path';
import { consumers } from '@orderflow/contracts';
import {
  counter,
  createLogger,
  migrateDatabase,
  startConsumerService,
  type Envelope,
  type Logger,
  type MessageOutcome,
  type Registry,
} from '@orderflow/platform';
import { toVersionedEvent } from './application/parse-message';
import { projectEvent } from './application/project-event';
import { endToEndLatency } from './adapters/order-latency-metric';
import { PgOrders } from './adapters/pg-orders';
import type { Config } from './config';

export { GAP_MAX_DELIVER, GAP_RETRY_DELAY_MS } from './application/project-event';
export const migrationsDir = join(__dirname, '..', 'migrations');
/** The one durable consumer every replica shares: JetStream's form of a queue group. */
export const CONSUMER = consumers.orderQuery;
export const runMigrations = (config: Config, logger: Logger): Promise<void> =>
  migrateDatabase(config.DATABASE_URL, migrationsDir, logger);

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
  const service = await startConsumerService({
    name: 'order-query-worker',
    consumer: CONSUMER,
    config,
    logger,
    migrationsDir,
    setup: ({ pool, registry }) => {
      const orders = new PgOrders(pool);
      const projected = counter(registry, {
        name: 'orderflow_query_projected_total',
        help: 'Events projected into the orders read model, by event type and result (applied, duplicate, gap).',
        labelNames: ['event_type', 'result'] as const,
      });
      // Right after an apply, the row this replica wrote is in memory: no read for the latency.
      const observeApplied = endToEndLatency(registry, {
        get: async (orderId) => orders.remembered(orderId) ?? orders.get(orderId),
      });
      const ports = { orders, projected, observeApplied };
      return {
        orders,
        handle: (e: Envelope) => projectEvent(ports, e),
        validate: (e: Envelope) => void toVersionedEvent(e),
      };
    },
  });
  const { orders, handle } = service.parts;
  return {
    opsPort: service.opsPort,
    orders,
    registry: service.registry,
    handle,
    stop: () => service.stop(),
  };
}
