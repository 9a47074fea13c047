import { join } from 'node:path';
import {
  PoisonMessageError,
  Readiness,
  connectNats,
  counter,
  createEventStoreClient,
  createLogger,
  createMetricsRegistry,
  createPool,
  ensureStreams,
  jsManager,
  migrate,
  startConsumer,
  startOpsServer,
  subjects,
  watchRuntimeConfig,
  type Logger,
  migrateDatabase,
  databaseCheck,
  natsCheck,
} from '@orderflow/platform';
import { InvalidEventError, parseEvent } from '@orderflow/events';
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
  const nc = await connectNats(config.NATS_URL, logger, 'saga');
  const jsm = await jsManager(nc);
  await ensureStreams(jsm, { name: config.NATS_STREAM });
  const store = createEventStoreClient(config.EVENTSTORE_ADDRESS);

  let timeouts: Timeouts = {
    paymentTimeoutMs: config.PAYMENT_TIMEOUT_MS,
    restaurantTimeoutMs: config.RESTAURANT_TIMEOUT_MS,
  };
  const runtime = watchRuntimeConfig(config.RUNTIME_CONFIG_FILE, logger, (cfg) => {
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

  const consumer = startConsumer({
    nc,
    jsm,
    stream: config.NATS_STREAM,
    settings: {
      durable: CONSUMER,
      filterSubject: subjects.allEvents,
      ackWaitMs: config.CONSUMER_ACK_WAIT_MS,
    },
    concurrency: config.CONSUMER_CONCURRENCY,
    maxDeliver: config.CONSUMER_MAX_DELIVER,
    eventTypes: sagaEventTypes,
    validate: (e) => {
      try {
        parseEvent(e.eventType, e.data, e.metadata);
      } catch (err: unknown) {
        if (err instanceof InvalidEventError) throw new PoisonMessageError(err.message);
        throw err;
      }
    },
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

  readiness
    .add('database', databaseCheck(pool))
    .add('nats', natsCheck(nc, jsm))
    .add('consumer', () => consumer.check());
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
      await consumer.stop();
      await nc.drain().catch(() => undefined);
      store.close();
      await pool.end();
      await ops.close();
    },
  };
}
