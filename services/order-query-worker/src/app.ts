import { join } from 'node:path';
import { eventTypes } from '@orderflow/events';
import {
  Readiness,
  RetryLaterError,
  counter,
  createLogger,
  createMetricsRegistry,
  createPool,
  migrate,
  startOpsServer,
  type Envelope,
  type Logger,
  type Outcome,
  type Registry,
  migrateDatabase,
  databaseCheck,
  startEventConsumer,
  watchRuntimeConfig,
} from '@orderflow/platform';
import { PgOrders } from './adapters/pg-orders';
import type { Config } from './config';
import { endToEndLatency } from './end-to-end';
import { toVersionedEvent } from './events';

export const migrationsDir = join(__dirname, '..', 'migrations');
/** The one durable consumer every replica shares: JetStream's form of a queue group. */
export const CONSUMER = 'order-query';
const SERVICE = 'order-query-worker';

/** A gap is retried every 250 ms, up to 200 deliveries (about a minute), before it is dead-lettered. */
export const GAP_RETRY_DELAY_MS = 250;
export const GAP_MAX_DELIVER = 200;

export interface QueryWorkerApp {
  opsPort: number;
  orders: PgOrders;
  registry: Registry;
  handle(event: Envelope): Promise<Outcome>;
  stop(): Promise<void>;
}

export const runMigrations = (config: Config, logger: Logger): Promise<void> =>
  migrateDatabase(config.DATABASE_URL, migrationsDir, logger);

/** Starts one query-worker replica: migrations, the shared durable consumer `order-query`, ops server. */
export async function start(
  config: Config,
  logger: Logger = createLogger(SERVICE, config.LOG_LEVEL),
): Promise<QueryWorkerApp> {
  const registry = createMetricsRegistry(SERVICE);
  const readiness = new Readiness();
  const ops = await startOpsServer({
    host: config.OPS_HOST,
    port: config.OPS_PORT,
    logger,
    registry,
    readiness,
  });
  const projected = counter(registry, {
    name: 'orderflow_query_projected_total',
    help: 'Events projected into the orders read model, by event type and result (applied, duplicate, gap).',
    labelNames: ['event_type', 'result'] as const,
  });

  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX);
  if (config.MIGRATE_ON_START) await migrate(pool, migrationsDir, logger);
  const orders = new PgOrders(pool);
  // Right after an apply, the row this replica wrote is in memory: no read for the latency.
  const observeEndToEnd = endToEndLatency(registry, {
    get: async (orderId) => orders.remembered(orderId) ?? orders.get(orderId),
  });

  const handle = async (envelope: Envelope): Promise<Outcome> => {
    const { orderId, event } = toVersionedEvent(envelope);
    const result = await orders.apply(orderId, event);
    projected.inc({ event_type: event.event.type, result });
    if (result === 'applied') await observeEndToEnd(orderId, envelope);
    switch (result) {
      case 'applied':
        return 'handled';
      case 'duplicate':
        return 'duplicate';
      case 'gap':
        throw new RetryLaterError(
          `gap: ${envelope.streamId} version ${envelope.version} is not next`,
          GAP_RETRY_DELAY_MS,
          GAP_MAX_DELIVER,
        );
      default: {
        const never: never = result;
        throw new Error(`unknown result ${String(never)}`);
      }
    }
  };

  // Deliveries before a failing message is dead-lettered: the operator's runtime config may change it.
  let maxDeliver = config.CONSUMER_MAX_DELIVER;
  const runtime = watchRuntimeConfig(config.RUNTIME_CONFIG_FILE, logger, (cfg) => {
    maxDeliver = cfg.consumers?.[CONSUMER]?.maxDeliver ?? config.CONSUMER_MAX_DELIVER;
  });
  const bus = await startEventConsumer({
    config,
    service: SERVICE,
    durable: CONSUMER,
    readiness,
    maxDeliver: () => maxDeliver,
    eventTypes,
    validate: (e) => void toVersionedEvent(e),
    handle,
    logger,
    registry,
  });

  readiness.add('database', databaseCheck(pool));
  readiness.started();
  logger.info('order query worker started');

  return {
    opsPort: ops.port,
    orders,
    registry,
    handle,
    async stop() {
      readiness.markStopping();
      runtime.close();
      await bus.stop();
      await pool.end();
      await ops.close();
    },
  };
}
