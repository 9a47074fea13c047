import { join } from 'node:path';
import {
  InvalidEventError,
  eventTypes,
  orderStreamId,
  parseEvent,
  parseStoredEvent,
  type EventOf,
} from '@orderflow/events';
import {
  ClientError,
  Readiness,
  RetryLaterError,
  Status,
  counter,
  createEventStoreClient,
  createLogger,
  createMetricsRegistry,
  createPool,
  migrate,
  startOpsServer,
  subjects,
  loadCatalogFile,
  watchCatalog,
  type Envelope,
  type Logger,
  type Outcome,
  migrateDatabase,
  databaseCheck,
  validateOrderEnvelope,
  startEventConsumer,
} from '@orderflow/platform';
import { PRODUCER, appendOne, metadataCausedBy } from './adapters/event-store';
import { PgRestaurants } from './adapters/pg-restaurants';
import type { Config } from './config';
import { assess, decide, decisionEvent, decisionEventId, type StreamEvent } from './domain/decide';

export const migrationsDir = join(__dirname, '..', 'migrations');
export const CONSUMER = 'restaurant';
/** Reads and appends before a stream that keeps moving is handed back to JetStream for later. */
const MAX_CONFLICTS = 5;

export interface RestaurantApp {
  opsPort: number;
  restaurants: PgRestaurants;
  /** The message handler, exposed so tests can deliver one envelope more than once. */
  handle(event: Envelope): Promise<Outcome>;
  /** Resolves when catalog changes from the runtime config have been written. */
  catalogSettled(): Promise<void>;
  stop(): Promise<void>;
}

export const runMigrations = (config: Config, logger: Logger): Promise<void> =>
  migrateDatabase(config.DATABASE_URL, migrationsDir, logger);

export const validateEvent = validateOrderEnvelope;

/** Starts the restaurant service: migrations, catalog, event store client, consumer `restaurant`, ops server. */
export async function start(
  config: Config,
  logger: Logger = createLogger(PRODUCER, config.LOG_LEVEL),
): Promise<RestaurantApp> {
  // A bad catalog file stops the start with a message naming the field.
  const fileCatalog = await loadCatalogFile(config.CATALOG_FILE);

  const registry = createMetricsRegistry(PRODUCER);
  const readiness = new Readiness();
  const ops = await startOpsServer({
    host: config.OPS_HOST,
    port: config.OPS_PORT,
    logger,
    registry,
    readiness,
  });
  const decisions = counter(registry, {
    name: 'orderflow_restaurant_decisions_total',
    help: 'Decisions appended, by decision.',
    labelNames: ['decision'] as const,
  });
  const conflicts = counter(registry, {
    name: 'orderflow_restaurant_version_conflicts_total',
    help: 'Decision appends refused because the order stream moved since it was read.',
  });
  const skipped = counter(registry, {
    name: 'orderflow_restaurant_skipped_total',
    help: 'Orders not decided because the saga had already requested a refund or cancelled them.',
  });

  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX);
  if (config.MIGRATE_ON_START) await migrate(pool, migrationsDir, logger);
  const repo = new PgRestaurants(pool);
  await repo.replaceCatalog(fileCatalog);
  logger.info(
    { restaurants: fileCatalog.restaurants.length, source: config.CATALOG_FILE },
    'catalog loaded',
  );

  // Catalog writes from the runtime config run one after another; a bad one keeps the previous catalog.
  let catalogChain: Promise<void> = Promise.resolve();
  // Deliveries before a failing message is dead-lettered: the operator's runtime config may change it.
  let maxDeliver = config.CONSUMER_MAX_DELIVER;
  const runtime = watchCatalog({
    fileCatalog,
    catalogFile: config.CATALOG_FILE,
    runtimeConfigFile: config.RUNTIME_CONFIG_FILE,
    logger,
    onRuntime: (cfg) => {
      maxDeliver = cfg.consumers?.[CONSUMER]?.maxDeliver ?? config.CONSUMER_MAX_DELIVER;
    },
    onChange: ({ catalog, source }) => {
      catalogChain = catalogChain.then(async () => {
        try {
          await repo.replaceCatalog(catalog);
          logger.info({ restaurants: catalog.restaurants.length, source }, 'catalog replaced');
        } catch (err: unknown) {
          logger.error(
            { err: err instanceof Error ? err.message : String(err) },
            'catalog could not be written; keeping the previous one',
          );
        }
      });
    },
  });

  const eventStore = createEventStoreClient(config.EVENTSTORE_ADDRESS);

  const readOrder = async (
    streamId: string,
  ): Promise<{ events: StreamEvent[]; lastVersion: number }> => {
    const r = await eventStore.client.readStream({ streamId, fromVersion: 0, maxCount: 0 });
    const events: StreamEvent[] = [];
    for (const e of r.events) {
      try {
        events.push({
          eventId: e.eventId,
          event: parseStoredEvent(e.eventType, e.data, e.metadata),
        });
      } catch (err: unknown) {
        // An event this build cannot read says nothing about the decision.
        if (!(err instanceof InvalidEventError)) throw err;
      }
    }
    return { events, lastVersion: r.lastVersion };
  };

  const onPaymentDebited = async (
    cause: Envelope,
    data: EventOf<'order-payment-debited'>['data'],
  ): Promise<Outcome> => {
    const { orderId } = data;
    const streamId = orderStreamId(orderId);
    for (let attempt = 1; attempt <= MAX_CONFLICTS; attempt++) {
      const { events, lastVersion } = await readOrder(streamId);
      const a = assess(orderId, events);
      switch (a.kind) {
        case 'already-decided':
          await repo.record(orderId, a.restaurantId, a.decision);
          return 'duplicate';
        case 'too-late':
          await repo.record(orderId, a.restaurantId, {
            decision: 'skipped',
            reason: `${a.because} before a decision`,
          });
          skipped.inc();
          logger.info(
            { orderId, because: a.because },
            'order not decided: the saga gave up on it first',
          );
          return 'ignored';
        case 'no-order':
          throw new RetryLaterError(`${streamId} has no order-created`);
        case 'decide': {
          const d = decide(a.order, await repo.restaurant(a.order.restaurantId));
          let duplicate: boolean;
          try {
            ({ duplicate } = await appendOne(
              eventStore.client,
              streamId,
              lastVersion,
              decisionEventId(orderId),
              decisionEvent(a.order, d),
              metadataCausedBy(cause),
            ));
          } catch (err: unknown) {
            // The stream moved since we read it: read again (the saga may have cancelled meanwhile).
            if (err instanceof ClientError && err.code === Status.FAILED_PRECONDITION) {
              conflicts.inc();
              continue;
            }
            throw err;
          }
          await repo.record(orderId, a.order.restaurantId, d);
          if (!duplicate) decisions.inc({ decision: d.decision });
          logger.info(
            { orderId, restaurantId: a.order.restaurantId, decision: d.decision, duplicate },
            'order decided',
          );
          return duplicate ? 'duplicate' : 'handled';
        }
        default: {
          const never: never = a;
          throw new Error(`unknown assessment ${JSON.stringify(never)}`);
        }
      }
    }
    throw new RetryLaterError(`${streamId} kept moving during ${MAX_CONFLICTS} attempts`, 500);
  };

  const handle = async (envelope: Envelope): Promise<Outcome> => {
    const event = parseEvent(envelope.eventType, envelope.data, envelope.metadata);
    switch (event.type) {
      case 'order-payment-debited':
        return onPaymentDebited(envelope, event.data);
      case 'order-created':
      case 'order-payment-declined':
      case 'order-approved':
      case 'order-rejected':
      case 'order-refund-requested':
      case 'order-payment-refunded':
      case 'order-cancelled':
        return 'ignored';
      default: {
        const never: never = event;
        throw new Error(`unhandled event ${JSON.stringify(never)}`);
      }
    }
  };

  const bus = await startEventConsumer({
    config,
    service: PRODUCER,
    durable: CONSUMER,
    filterSubject: subjects.event('order-payment-debited'),
    readiness,
    maxDeliver: () => maxDeliver,
    eventTypes,
    validate: validateEvent,
    handle,
    logger,
    registry,
  });

  readiness.add('database', databaseCheck(pool));
  readiness.started();
  logger.info('restaurant service started');

  return {
    opsPort: ops.port,
    restaurants: repo,
    handle,
    catalogSettled: () => catalogChain,
    async stop() {
      readiness.markStopping();
      runtime.close();
      await bus.stop();
      await catalogChain;
      eventStore.close();
      await pool.end();
      await ops.close();
    },
  };
}
