import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { orderStreamId } from '@orderflow/events';
import { createEventStoreClient, createLogger, type Envelope } from '@orderflow/platform';
import type { EventStoreClient, RecordedEvent } from '@orderflow/proto';
import { freshDatabase, startNats, waitFor, type NatsServer } from '@orderflow/testkit';
import type { EventStoreApp } from '../../eventstore/src/app';
import { startEventStoreOn } from '../../eventstore/test/harness';
import { start, type RestaurantApp } from '../src/app';
import { configSchema } from '../src/config';

export const repoCatalog = resolve(__dirname, '..', '..', '..', 'config', 'catalog.json');

export interface RestaurantUnderTest {
  app: RestaurantApp;
  store: EventStoreApp;
  client: EventStoreClient;
  nats: NatsServer;
  databaseUrl: string;
  runtimeFile: string;
  stop(): Promise<void>;
}

/** nats-server, the real event store and the restaurant service (with the repository's catalog) in-process. */
export async function startRestaurant(): Promise<RestaurantUnderTest> {
  const nats = await startNats();
  const store = await startEventStoreOn(nats.url);
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-restaurant-'));
  const runtimeFile = join(dir, 'runtime.json');
  const databaseUrl = await freshDatabase('restaurant');
  const app = await start(
    configSchema.parse({
      DATABASE_URL: databaseUrl,
      NATS_URL: nats.url,
      EVENTSTORE_ADDRESS: `127.0.0.1:${store.grpcPort}`,
      OPS_HOST: '127.0.0.1',
      OPS_PORT: '0',
      CATALOG_FILE: repoCatalog,
      RUNTIME_CONFIG_FILE: runtimeFile,
      CONSUMER_CONCURRENCY: '4',
    }),
    createLogger('restaurant', 'silent'),
  );
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

/** Appends order-created and order-payment-debited (and any further events) as the order API and payment would. */
export async function paidOrder(
  client: EventStoreClient,
  restaurantId: string,
  codes: string[],
  more: (orderId: string) => { eventType: string; data: unknown }[] = () => [],
): Promise<string> {
  const orderId = randomUUID();
  const items = codes.map((code) => ({ code, name: code, unitPrice: 100, quantity: 1 }));
  const events = [
    {
      eventType: 'order-created',
      data: { orderId, customerId: 'c1', restaurantId, items, amount: 100 * codes.length },
    },
    {
      eventType: 'order-payment-debited',
      data: { orderId, customerId: 'c1', amount: 100 * codes.length, paymentId: randomUUID() },
    },
    ...more(orderId),
  ];
  await client.appendToStream({
    streamId: orderStreamId(orderId),
    expectedVersion: -1,
    events: events.map((e) => ({
      eventId: randomUUID(),
      eventType: e.eventType,
      data: JSON.stringify(e.data),
      metadata: { correlation_id: orderId },
    })),
  });
  return orderId;
}

export async function readStream(
  client: EventStoreClient,
  orderId: string,
): Promise<RecordedEvent[]> {
  return (
    await client.readStream({ streamId: orderStreamId(orderId), fromVersion: 0, maxCount: 0 })
  ).events;
}

export async function waitForEvent(
  client: EventStoreClient,
  orderId: string,
  eventType: string,
): Promise<RecordedEvent[]> {
  return waitFor(`${eventType} of ${orderId}`, async () => {
    const events = await readStream(client, orderId);
    return events.some((e) => e.eventType === eventType) ? events : undefined;
  });
}

export const toEnvelope = (e: RecordedEvent): Envelope => ({
  eventId: e.eventId,
  eventType: e.eventType,
  streamId: e.streamId,
  version: e.version,
  data: JSON.parse(e.data) as unknown,
  metadata: e.metadata,
  createdAt: e.createdAt,
});
