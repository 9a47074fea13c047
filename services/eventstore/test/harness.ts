import { randomUUID } from 'node:crypto';
import { createLogger } from '@orderflow/platform';
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
