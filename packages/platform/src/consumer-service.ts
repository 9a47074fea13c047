import type { ConsumerName, RuntimeConfig } from '@orderflow/contracts';
import { eventTypes as catalogueEventTypes } from '@orderflow/events';
import type { EventStoreClient } from '@orderflow/proto';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { EventSourcing } from './application';
import { grpcEventStreams } from './grpc-event-streams';
import { baseConfigShape, databaseConfigShape, env, natsConfigShape } from './config';
import { consumerConfigShape, startEventConsumer, type EventConsumerConfig } from './consumer';
import type { Handle } from './consumer/process-message';
import type { NatsConnection } from './nats';
import type { Envelope } from './envelope';
import { createEventStoreClient } from './grpc';
import { createPool, databaseCheck, endPool, migrate } from './postgres';
import type { Readiness } from './readiness';
import { watchRuntimeConfig } from './runtime-config';
import { startServiceOps, type ServiceOps } from './service-ops';

/** The environment every consumer service shares (docs/conventions.md). */
export const consumerServiceConfigShape = (concurrency: number) => ({
  ...baseConfigShape,
  ...databaseConfigShape,
  ...natsConfigShape,
  /** The event store's gRPC address (host:port). */
  EVENTSTORE_ADDRESS: env.address('127.0.0.1:50051'),
  ...consumerConfigShape(concurrency),
  /** The operator's runtime tunables (docs/conventions.md): `consumers.<name>.maxDeliver` and the service's own. */
  RUNTIME_CONFIG_FILE: env.optionalPath(),
});

export interface ConsumerServiceConfig extends EventConsumerConfig {
  LOG_LEVEL: string;
  OPS_HOST: string;
  OPS_PORT: number;
  DATABASE_URL: string;
  DATABASE_POOL_MAX: number;
  MIGRATE_ON_START: boolean;
  EVENTSTORE_ADDRESS: string;
  RUNTIME_CONFIG_FILE?: string | undefined;
}

/** What a service's set-up gets: everything but its own adapters and use cases. */
export interface ConsumerServiceContext<C> {
  config: C;
  logger: Logger;
  registry: Registry;
  readiness: Readiness;
  pool: Pool;
  /** Where its use cases read and append order streams (signed with the service's name). */
  eventSourcing: EventSourcing;
  eventStore: EventStoreClient;
}

/**
 * What a service adds to the start-up: its message handler and what it needs around it. One
 * handler per message for now; a batch handler would be one more optional member here.
 */
export interface ConsumerServiceParts {
  handle: Handle;
  /** Catalogue check of every message (PoisonMessageError when it can never be handled). */
  validate?: (event: Envelope) => void;
  /** Event types it knows (metric labels); the whole catalogue by default. */
  eventTypes?: readonly string[];
  /** The subject its durable consumer filters on (all order events by default). */
  filterSubject?: string;
  /** Its own runtime tunables; maxDeliver is applied by the start-up. */
  onRuntimeConfig?: (cfg: RuntimeConfig) => void;
  /** Stopped before the consumer (work that feeds the same use cases, e.g. a scanner). */
  beforeConsumerStop?: () => Promise<void> | void;
  /** Awaited after the consumer stopped, before the pool closes (work the handlers started). */
  afterConsumerStop?: () => Promise<void> | void;
}

export interface ConsumerServiceOptions<C extends ConsumerServiceConfig> {
  /** The service: metrics label, NATS connection name, producer of what it appends. */
  name: string;
  consumer: ConsumerName;
  config: C;
  logger: Logger;
  migrationsDir: string;
}

/** A service's own part of the start-up: builds its adapters and use cases, returns its handler. */
export type ConsumerServiceSetup<C, P> = (ctx: ConsumerServiceContext<C>) => Promise<P> | P;

export interface ConsumerService<P> {
  opsPort: number;
  registry: Registry;
  pool: Pool;
  parts: P;
  /** The service's NATS connection (the consumer's), for what it publishes besides appends. */
  nc: NatsConnection;
  stop(): Promise<void>;
}

/** Deliveries before a failing message is dead-lettered: the runtime config's, else the environment's. */
function maxDeliverFollower(consumer: ConsumerName, fallback: number) {
  let maxDeliver = fallback;
  return {
    get: () => maxDeliver,
    apply: (cfg: RuntimeConfig) => {
      maxDeliver = cfg.consumers?.[consumer]?.maxDeliver ?? fallback;
    },
  };
}

interface Resources {
  ops: ServiceOps;
  pool: Pool;
  store: ReturnType<typeof createEventStoreClient>;
}

async function openResources<C extends ConsumerServiceConfig>(
  opts: ConsumerServiceOptions<C>,
): Promise<Resources> {
  const { config, logger } = opts;
  const ops = await startServiceOps(opts.name, config, logger);
  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX);
  const store = createEventStoreClient(config.EVENTSTORE_ADDRESS);
  try {
    if (config.MIGRATE_ON_START) await migrate(pool, opts.migrationsDir, logger);
  } catch (err: unknown) {
    await closeResources({ ops, pool, store }, logger);
    throw err;
  }
  return { ops, pool, store };
}

async function closeResources(r: Resources, logger?: Logger): Promise<void> {
  r.store.close();
  await endPool(r.pool, logger);
  await r.ops.ops.close();
}

/**
 * The start-up every consumer service shares (payment, restaurant, saga, order-query-worker): ops
 * server first (probes answer while it starts), pool and migrations, the event store client, the
 * service's own set-up, the runtime config, then the durable consumer. Stop runs it backwards:
 * unready, runtime config, `beforeConsumerStop`, consumer and NATS, `afterConsumerStop`, event
 * store client, pool, ops server.
 */
export async function startConsumerService<
  C extends ConsumerServiceConfig,
  P extends ConsumerServiceParts,
>(opts: ConsumerServiceOptions<C>, setup: ConsumerServiceSetup<C, P>): Promise<ConsumerService<P>> {
  const { config, logger, name } = opts;
  const r = await openResources(opts);
  const { registry, readiness } = r.ops;
  let parts: P;
  try {
    parts = await setup({
      config,
      logger,
      registry,
      readiness,
      pool: r.pool,
      eventSourcing: { streams: grpcEventStreams(r.store.client), producer: name },
      eventStore: r.store.client,
    });
  } catch (err: unknown) {
    await closeResources(r, logger);
    throw err;
  }
  const maxDeliver = maxDeliverFollower(opts.consumer, config.CONSUMER_MAX_DELIVER);
  const runtime = watchRuntimeConfig(config.RUNTIME_CONFIG_FILE, logger, (cfg) => {
    maxDeliver.apply(cfg);
    parts.onRuntimeConfig?.(cfg);
  });
  const bus = await startEventConsumer({
    config,
    service: name,
    durable: opts.consumer,
    filterSubject: parts.filterSubject,
    readiness,
    maxDeliver: maxDeliver.get,
    eventTypes: parts.eventTypes ?? catalogueEventTypes,
    validate: parts.validate,
    handle: parts.handle,
    logger,
    registry,
  });
  readiness.add('database', databaseCheck(r.pool));
  readiness.started();
  logger.info({ consumer: opts.consumer }, `${name} started`);
  return {
    opsPort: r.ops.ops.port,
    registry,
    pool: r.pool,
    parts,
    nc: bus.nc,
    async stop() {
      readiness.markStopping();
      runtime.close();
      await parts.beforeConsumerStop?.();
      await bus.stop();
      await parts.afterConsumerStop?.();
      await closeResources(r, logger);
    },
  };
}
