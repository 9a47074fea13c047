import { join } from 'node:path';
import { createServer } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import {
  connectNats,
  counter,
  createLogger,
  createPool,
  ensureStreams,
  jsManager,
  migrate,
  serverMiddleware,
  grpcServerMetrics,
  startServiceOps,
  type Logger,
  migrateDatabase,
  databaseCheck,
  natsCheck,
} from '@orderflow/platform';
import { EventStoreDefinition } from '@orderflow/proto';
import { ServerEventStoreDefinition } from './wire';
import { PgEventStore } from './adapters/pg-event-store';
import { fallbackReporter } from './adapters/fallbacks';
import { Publisher } from './adapters/publisher';
import type { RecordedEvent } from './domain/append';
import type { Config } from './config';
import { eventStoreService } from './grpc-service';

export const migrationsDir = join(__dirname, '..', 'migrations');

/** Test seams: a test may act between the commit and the publish (e.g. crash there). */
export interface EventStoreSeams {
  afterCommit?: (events: RecordedEvent[]) => void;
}

export interface EventStoreApp {
  grpcPort: number;
  opsPort: number;
  publisher: Publisher;
  stop(): Promise<void>;
}

export const runMigrations = (config: Config, logger: Logger): Promise<void> =>
  migrateDatabase(config.DATABASE_URL, migrationsDir, logger);

/** Starts the event store: migrations, JetStream stream, gRPC server, relay, ops server. */
export async function start(
  config: Config,
  logger: Logger = createLogger('eventstore', config.LOG_LEVEL),
  seams: EventStoreSeams = {},
): Promise<EventStoreApp> {
  const { registry, readiness, ops } = await startServiceOps('eventstore', config, logger);

  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX);
  if (config.MIGRATE_ON_START) await migrate(pool, migrationsDir, logger);
  const nc = await connectNats(config.NATS_URL, logger, 'eventstore', { noAsyncTraces: true });
  const jsm = await jsManager(nc);
  await ensureStreams(jsm, { name: config.NATS_STREAM, replicas: config.NATS_STREAM_REPLICAS });

  const publisher = new Publisher(
    nc,
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
        seams.afterCommit?.(events);
        publisher.publishCommitted(events);
      },
      onFallback: fallbackReporter(registry, logger),
    },
    { maxBatch: config.APPEND_BATCH_MAX, maxConcurrentBatches: config.APPEND_BATCH_CONCURRENCY },
  );

  const healthState = HealthState();
  const grpcMetrics = grpcServerMetrics(registry);
  const onUnexpected = (err: unknown, method: string): void =>
    logger.error({ err, method }, 'unexpected error in gRPC handler');
  const stopping = new AbortController();
  const server = createServer({ 'grpc.max_receive_message_length': 8 * 1024 * 1024 }).use(
    serverMiddleware(grpcMetrics, onUnexpected),
  );
  server.add(
    ServerEventStoreDefinition,
    eventStoreService(store, registry, { grpcMetrics, onUnexpected, stopping: stopping.signal }),
  );
  server.add(HealthDefinition, HealthServiceImpl(healthState));
  const grpcPort = await server.listen(`${config.GRPC_HOST}:${config.GRPC_PORT}`);
  logger.info({ port: grpcPort, host: config.GRPC_HOST }, 'gRPC server listening');

  readiness.add('database', databaseCheck(pool)).add('nats', natsCheck(nc, jsm));
  // The gRPC health service mirrors the readiness checks.
  const syncHealth = async (): Promise<void> => {
    const r = await readiness.report();
    healthState.setStatus(r.ready ? 'healthy' : 'unhealthy');
    healthState.setStatus(r.ready ? 'healthy' : 'unhealthy', EventStoreDefinition.fullName);
  };
  publisher.startRelay();
  readiness.started();
  await syncHealth();
  const healthTimer = setInterval(() => void syncHealth(), 2_000);
  healthTimer.unref();
  logger.info('event store started');

  return {
    grpcPort,
    opsPort: ops.port,
    publisher,
    async stop() {
      readiness.markStopping();
      clearInterval(healthTimer);
      healthState.setStatus('unhealthy');
      stopping.abort(); // AppendToStreams calls answer what they read and end, so shutdown can finish
      await server.shutdown();
      await publisher.stop();
      await nc.drain().catch(() => undefined);
      await pool.end();
      await ops.close();
    },
  };
}
