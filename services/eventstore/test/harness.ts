import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventStoreClient, createLogger, type Envelope } from '@orderflow/platform';
import type { EventStoreClient, RecordedEvent } from '@orderflow/proto';
import { freshDatabase, startNats, type NatsServer } from '@orderflow/testkit';
import { start, type EventStoreApp } from '../src/app';
import { configSchema, type Config } from '../src/config';

export interface StoreUnderTest {
  app: EventStoreApp;
  nats: NatsServer;
  databaseUrl: string;
  config: Config;
  stop(): Promise<void>;
}

/**
 * The real event store in-process on port 0 with its own fresh database, publishing to `natsUrl`.
 * Other services' tests use it to run against the real thing.
 */
export async function startEventStoreOn(
  natsUrl: string,
  overrides: Record<string, string> = {},
): Promise<EventStoreApp> {
  return start(
    configSchema.parse({
      DATABASE_URL: await freshDatabase('eventstore'),
      NATS_URL: natsUrl,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      OPS_HOST: '127.0.0.1',
      OPS_PORT: '0',
      LOG_LEVEL: 'silent',
      ...overrides,
    }),
    createLogger('eventstore', 'silent'),
  );
}

/** The real event store in-process on port 0, with its own database and nats-server. */
export async function startStore(overrides: Record<string, string> = {}): Promise<StoreUnderTest> {
  const nats = await startNats();
  const databaseUrl = await freshDatabase('eventstore');
  const config = configSchema.parse({
    DATABASE_URL: databaseUrl,
    NATS_URL: nats.url,
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    OPS_HOST: '127.0.0.1',
    OPS_PORT: '0',
    LOG_LEVEL: 'silent',
    ...overrides,
  });
  const app = await start(config, createLogger('eventstore', 'silent'));
  return {
    app,
    nats,
    databaseUrl,
    config,
    async stop() {
      await app.stop();
      await nats.stop();
    },
  };
}

export interface ServiceWithStore<A> {
  app: A;
  store: EventStoreApp;
  /** An event store client for the test itself. */
  client: EventStoreClient;
  nats: NatsServer;
  databaseUrl: string;
  /** The runtime-config file the service watches (absent until a test writes it). */
  runtimeFile: string;
  stop(): Promise<void>;
}

/**
 * A consuming service in-process on free ports against nats-server and the real event store, with
 * its own fresh database and runtime-config file: the set-up the payment, restaurant and saga
 * tests share. `start` gets the environment (the common variables, then `env`).
 */
export async function startServiceWithStore<A extends { stop(): Promise<void> }>(
  service: string,
  start: (env: Record<string, string>) => Promise<A>,
  opts: { env?: Record<string, string>; storeEnv?: Record<string, string> } = {},
): Promise<ServiceWithStore<A>> {
  const nats = await startNats();
  const store = await startEventStoreOn(nats.url, opts.storeEnv);
  const dir = mkdtempSync(join(tmpdir(), `orderflow-${service}-`));
  const runtimeFile = join(dir, 'runtime.json');
  const databaseUrl = await freshDatabase(service);
  const app = await start({
    DATABASE_URL: databaseUrl,
    NATS_URL: nats.url,
    EVENTSTORE_ADDRESS: `127.0.0.1:${store.grpcPort}`,
    OPS_HOST: '127.0.0.1',
    OPS_PORT: '0',
    LOG_LEVEL: 'silent',
    CONSUMER_CONCURRENCY: '4',
    RUNTIME_CONFIG_FILE: runtimeFile,
    ...opts.env,
  });
  const es = createEventStoreClient(`127.0.0.1:${store.grpcPort}`);
  return {
    app,
    store,
    client: es.client,
    nats,
    databaseUrl,
    runtimeFile,
    async stop() {
      es.close();
      await app.stop();
      await store.stop();
      await nats.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const newEvent = (
  eventType = 'thing-happened',
  data: unknown = { n: 1 },
  metadata: Record<string, string> = {},
) => ({
  eventId: randomUUID(),
  eventType,
  data: JSON.stringify(data),
  metadata,
});

/** A stored event as the bus carries it (a consumer's input). */
export const toEnvelope = (e: RecordedEvent): Envelope => ({
  eventId: e.eventId,
  eventType: e.eventType,
  streamId: e.streamId,
  version: e.version,
  data: JSON.parse(e.data) as unknown,
  metadata: e.metadata,
  createdAt: e.createdAt,
});

/** Every event of an order's stream. */
export async function readOrderStream(
  client: EventStoreClient,
  orderId: string,
): Promise<RecordedEvent[]> {
  return (await client.readStream({ streamId: `order-${orderId}`, fromVersion: 0, maxCount: 0 }))
    .events;
}
