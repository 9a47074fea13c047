import { join } from 'node:path';
import { consumers, subjects } from '@orderflow/contracts';
import {
  createLogger,
  loadCatalogFile,
  migrationsCommand,
  startConsumerService,
  validateOrderEnvelope,
  type Envelope,
  type Logger,
  type MessageOutcome,
} from '@orderflow/platform';
import { followCatalog } from './application/follow-catalog';
import { restaurantHandler } from './application/handle-message';
import { restaurantMetrics } from './adapters/metrics';
import { PgRestaurants } from './adapters/pg-restaurants';
import type { Config } from './config';

export const migrationsDir = join(__dirname, '..', 'migrations');
export const runMigrations = migrationsCommand(migrationsDir);
export const CONSUMER = consumers.restaurant;
export const validateEvent = validateOrderEnvelope;

export interface RestaurantApp {
  opsPort: number;
  restaurants: PgRestaurants;
  /** The message handler, exposed so tests can deliver one envelope more than once. */
  handle(event: Envelope): Promise<MessageOutcome>;
  /** Resolves when catalog changes from the runtime config have been written. */
  catalogSettled(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the restaurant service: consumer `restaurant` decides paid orders (application/). */
export async function start(
  config: Config,
  logger: Logger = createLogger('restaurant', config.LOG_LEVEL),
): Promise<RestaurantApp> {
  // A bad catalog file stops the start with a message naming the field.
  const fileCatalog = await loadCatalogFile(config.CATALOG_FILE);
  const service = await startConsumerService(
    { name: 'restaurant', consumer: CONSUMER, config, logger, migrationsDir },
    async ({ pool, registry, eventSourcing }) => {
      const restaurants = new PgRestaurants(pool);
      const catalogFile = config.CATALOG_FILE;
      const catalog = await followCatalog({ restaurants, fileCatalog, catalogFile, logger });
      const metrics = restaurantMetrics(registry);
      return {
        restaurants,
        catalogSettled: catalog.settled,
        validate: validateEvent,
        handle: restaurantHandler({ restaurants, eventSourcing, metrics, logger }),
        filterSubject: subjects.event('order-payment-debited'),
        onRuntimeConfig: catalog.onRuntimeConfig,
        afterConsumerStop: catalog.settled,
      };
    },
  );
  const { restaurants, handle, catalogSettled } = service.parts;
  const stop = () => service.stop();
  return { opsPort: service.opsPort, restaurants, handle, catalogSettled, stop };
}
