import { join } from 'node:path';
import {
  connectNats,
  createLogger,
  createPool,
  databaseCheck,
  drainNats,
  endPool,
  ensureStreams,
  jsManager,
  migrate,
  migrationsCommand,
  natsCheck,
  startServiceOps,
  type Logger,
} from '@orderflow/platform';
import { eventStoreOn } from './adapters/store';
import type { Publisher } from './adapters/publisher';
import type { Config } from './config';
import type { RecordedEvent } from './domain/append';
import { startGrpcServer } from './grpc/server';

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

export const runMigrations = migrationsCommand(migrationsDir);

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

  const afterCommit = seams.afterCommit;
  const { store, publisher } = eventStoreOn({ pool, nc, config, registry, logger, afterCommit });
  const { GRPC_HOST: host, GRPC_PORT: port } = config;
  const grpc = await startGrpcServer({ store, registry, readiness, logger, host, port });
  readiness.add('database', databaseCheck(pool)).add('nats', natsCheck(nc, jsm));
  publisher.startRelay();
  readiness.started();
  await grpc.startHealth();
  logger.info('event store started');

  return {
    grpcPort: grpc.port,
    opsPort: ops.port,
    publisher,
    async stop() {
      readiness.markStopping();
      await grpc.stop();
      await publisher.stop();
      await drainNats(nc);
      await endPool(pool, logger);
      await ops.close();
    },
  };
}
