import type { NatsConnection } from '@nats-io/transport-node';
import { counter, type Logger, type Pool, type Registry } from '@orderflow/platform';
import type { Config } from '../config';
import type { RecordedEvent } from '../domain/append';
import { fallbackReporter } from './fallbacks';
import { PgEventStore } from './pg-event-store';
import { Publisher } from './publisher';

/** The store on its pool, publishing what it commits through the publisher. */
export function eventStoreOn(opts: {
  pool: Pool;
  nc: NatsConnection;
  config: Config;
  registry: Registry;
  logger: Logger;
  afterCommit?: ((events: RecordedEvent[]) => void) | undefined;
}): { store: PgEventStore; publisher: Publisher } {
  const { pool, config, registry, logger } = opts;
  const publisher = new Publisher(
    opts.nc,
    pool,
    {
      relayIntervalMs: config.RELAY_INTERVAL_MS,
      relayGraceMs: config.RELAY_GRACE_MS,
      relayBatchSize: config.RELAY_BATCH_SIZE,
      maxInFlight: config.PUBLISH_MAX_IN_FLIGHT,
    },
    logger,
    registry,
  );
  const retries = counter(registry, {
    name: 'orderflow_eventstore_tx_retries_total',
    help: 'Transactions run again after SQLSTATE 40001 (serialization failure).',
  });
  const store = new PgEventStore(
    pool,
    {
      onRetry: () => retries.inc(),
      afterCommit: (events) => {
        opts.afterCommit?.(events);
        publisher.publishCommitted(events);
      },
      onFallback: fallbackReporter(registry, logger),
    },
    { maxBatch: config.APPEND_BATCH_MAX, maxConcurrentBatches: config.APPEND_BATCH_CONCURRENCY },
  );
  return { store, publisher };
}
