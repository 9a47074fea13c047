import { join } from 'node:path';
import { consumers, type RuntimeConfig } from '@orderflow/contracts';
import { eventTypes } from '@orderflow/events';
import {
  createLogger,
  migrateDatabase,
  startConsumerService,
  validateOrderEnvelope,
  type Logger,
} from '@orderflow/platform';
import { advanceOnEvent } from './application/advance-on-event';
import { KnownHistories } from './application/known-histories';
import { startTimeoutScanner, type TimeoutScanner } from './application/scan-timeouts';
import { instanceGauges, sagaMetrics, txRetriesCounter } from './adapters/metrics';
import { SagaInstances } from './adapters/pg-instances';
import type { Config } from './config';
import type { Timeouts } from './domain/workflow';

export const migrationsDir = join(__dirname, '..', 'migrations');
export const CONSUMER = consumers.saga;
/** How long a claimed deadline belongs to the replica that claimed it. */
export const TIMEOUT_LEASE_MS = 15_000;
export const runMigrations = (config: Config, logger: Logger): Promise<void> =>
  migrateDatabase(config.DATABASE_URL, migrationsDir, logger);

export interface SagaApp {
  opsPort: number;
  scanner: TimeoutScanner;
  /** The timeouts in force (environment, overridden by the runtime config). */
  timeouts(): Timeouts;
  stop(): Promise<void>;
}

const timeoutsOf = (config: Config, cfg: RuntimeConfig = {}): Timeouts => ({
  paymentTimeoutMs: cfg.saga?.paymentTimeoutMs ?? config.PAYMENT_TIMEOUT_MS,
  restaurantTimeoutMs: cfg.saga?.restaurantTimeoutMs ?? config.RESTAURANT_TIMEOUT_MS,
});

/** Starts the saga: consumer `saga` and the timeout scanner move every order on (application/). */
export async function start(
  config: Config,
  logger: Logger = createLogger('saga', config.LOG_LEVEL),
  clock: () => Date = () => new Date(),
): Promise<SagaApp> {
  let timeouts = timeoutsOf(config);
  const service = await startConsumerService({
    name: 'saga',
    consumer: CONSUMER,
    config,
    logger,
    migrationsDir,
    setup: ({ pool, registry, eventSourcing }) => {
      const txRetries = txRetriesCounter(registry);
      const instances = new SagaInstances(pool, () => txRetries.inc());
      instanceGauges(registry, instances);
      const known = new KnownHistories();
      const metrics = sagaMetrics(registry);
      const ports = {
        eventSourcing,
        instances,
        known,
        timeouts: () => timeouts,
        clock,
        metrics,
        logger,
      };
      const scanner = startTimeoutScanner({
        instances,
        ports,
        intervalMs: config.TIMEOUT_SCAN_INTERVAL_MS,
        leaseMs: TIMEOUT_LEASE_MS,
        logger,
      });
      return {
        scanner,
        handle: (e: Parameters<typeof advanceOnEvent>[1]) => advanceOnEvent(ports, e),
        eventTypes,
        validate: validateOrderEnvelope,
        onRuntimeConfig: (cfg: RuntimeConfig) => {
          timeouts = timeoutsOf(config, cfg);
          logger.info(timeouts, 'saga timeouts in force for deadlines set from now on');
        },
        beforeConsumerStop: () => scanner.stop(),
      };
    },
  });
  return {
    opsPort: service.opsPort,
    scanner: service.parts.scanner,
    timeouts: () => timeouts,
    stop: () => service.stop(),
  };
}
