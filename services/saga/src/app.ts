import { join } from 'node:path';
import {
  Readiness,
  counter,
  createEventStoreClient,
  createLogger,
  createMetricsRegistry,
  createPool,
  migrate,
  startOpsServer,
  watchRuntimeConfig,
  type Logger,
  migrateDatabase,
  databaseCheck,
  startEventConsumer,
  validateOrderEnvelope,
} from '@orderflow/platform';
import { OrderStreams } from './adapters/order-stream';
import { SagaInstances } from './adapters/pg-instances';
import type { Config } from './config';
import type { Timeouts } from './domain/workflow';
import { Saga, sagaEventTypes } from './saga';
import { startTimeoutScanner, type TimeoutScanner } from './scanner';

export const migrationsDir = join(__dirname, '..', 'migrations');
export const CONSUMER = 'saga';
/** How long a claimed deadline belongs to the replica that claimed it. */
export const TIMEOUT_LEASE_MS = 15_000;

export interface SagaApp {
  opsPort: number;
  scanner: TimeoutScanner;
  /** The timeouts in force (environment, overridden by the runtime config). */
  timeouts(): Timeouts;
  stop(): Promise<void>;
}

export const runMigrations = (config: Config, logger: Logger): Promise<void> =>
  migrateDatabase(config.DATABASE_URL, migrationsDir, logger);

/** Starts the saga: migrations, the `saga` consumer, the timeout scanner, the ops server. */
export async function start(
  config: Config,
  logger: Logger = createLogger('saga', config.LOG_LEVEL),
  clock: () => Date = () => new Date(),
): Promise<SagaApp> {
  const registry = createMetricsRegistry('saga');
  const readiness = new Readiness();
  const ops = await startOpsServer({
    host: config.OPS_HOST,
    port: config.OPS_PORT,
    logger,
    registry,
    readiness,
  });

  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX);
  if (config.MIGRATE_ON_START) await migrate(pool, migrationsDir, logger);
  const store = createEventStoreClient(config.EVENTSTORE_ADDRESS);

  let timeouts: Timeouts = {
    paymentTimeoutMs: config.PAYMENT_TIMEOUT_MS,
    restaurantTimeoutMs: config.RESTAURANT_TIMEOUT_MS,
  };
  // Deliveries before a failing message is dead-lettered: the operator's runtime config may change it.
  let maxDeliver = config.CONSUMER_MAX_DELIVER;
  const runtime = watchRuntimeConfig(config.RUNTIME_CONFIG_FILE, logger, (cfg) => {
    maxDeliver = cfg.consumers?.[CONSUMER]?.maxDeliver ?? config.CONSUMER_MAX_DELIVER;
    timeouts = {
      paymentTimeoutMs: cfg.saga?.paymentTimeoutMs ?? config.PAYMENT_TIMEOUT_MS,
      restaurantTimeoutMs: cfg.saga?.restaurantTimeoutMs ?? config.RESTAURANT_TIMEOUT_MS,
    };
    logger.info(timeouts, 'saga timeouts in force for deadlines set from now on');
  });

  const txRetries = counter(registry, {
    name: 'orderflow_saga_tx_retries_total',
    help: 'Transactions run again after SQLSTATE 40001 (serialization failure).',
  });
  const instances = new SagaInstances(pool, () => txRetries.inc());
  const saga = new Saga({
    streams: new OrderStreams(store.client),
    instances,
    timeouts: () => timeouts,
    clock,
    logger,
    registry,
  });

  const bus = await startEventConsumer({
    config,
    service: 'saga',
    durable: CONSUMER,
    readiness,
    maxDeliver: () => maxDeliver,
    eventTypes: sagaEventTypes,
    validate: validateOrderEnvelope,
    handle: (e) => saga.handleEvent(e),
    logger,
    registry,
  });
  const scanner = startTimeoutScanner({
    instances,
    saga,
    intervalMs: config.TIMEOUT_SCAN_INTERVAL_MS,
    leaseMs: TIMEOUT_LEASE_MS,
    logger,
  });

  readiness.add('database', databaseCheck(pool));
  readiness.started();
  logger.info({ timeouts }, 'saga started');

  return {
    opsPort: ops.port,
    scanner,
    timeouts: () => timeouts,
    async stop() {
      readiness.markStopping();
      runtime.close();
      await scanner.stop();
      await bus.stop();
      store.close();
      await pool.end();
      await ops.close();
    },
  };
}
