import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventStoreClient, createLogger, type Envelope } from '@orderflow/platform';
import type { EventStoreClient, RecordedEvent } from '@orderflow/proto';
import { freshDatabase, startNats, waitFor, type NatsServer } from '@orderflow/testkit';
import type { EventStoreApp } from '../../eventstore/src/app';
import { startEventStoreOn } from '../../eventstore/test/harness';
import { start, type PaymentApp } from '../src/app';
import { configSchema } from '../src/config';

export interface PaymentUnderTest {
  app: PaymentApp;
  store: EventStoreApp;
  client: EventStoreClient;
  nats: NatsServer;
  databaseUrl: string;
  runtimeFile: string;
  stop(): Promise<void>;
}

/** nats-server, the real event store and the payment service, all in-process on free ports. */
export async function startPayment(
  overrides: Record<string, string> = {},
): Promise<PaymentUnderTest> {
  const nats = await startNats();
  const store = await startEventStoreOn(nats.url, {
    RELAY_INTERVAL_MS: '200',
    RELAY_GRACE_MS: '500',
  });
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-payment-'));
  const runtimeFile = join(dir, 'runtime.json');
  const databaseUrl = await freshDatabase('payment');
  const app = await start(
    configSchema.parse({
      DATABASE_URL: databaseUrl,
      NATS_URL: nats.url,
      EVENTSTORE_ADDRESS: `127.0.0.1:${store.grpcPort}`,
      OPS_HOST: '127.0.0.1',
      OPS_PORT: '0',
      CONSUMER_CONCURRENCY: '4',
      RUNTIME_CONFIG_FILE: runtimeFile,
      ...overrides,
    }),
    createLogger('payment', 'silent'),
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

export const order = (customerId: string, amount: number, orderId: string = randomUUID()) => ({
  orderId,
  customerId,
  restaurantId: 'trattoria',
  items: [{ code: 'margherita', name: 'Margherita', unitPrice: amount, quantity: 1 }],
  amount,
});

export const toEnvelope = (e: RecordedEvent): Envelope => ({
  eventId: e.eventId,
  eventType: e.eventType,
  streamId: e.streamId,
  version: e.version,
  data: JSON.parse(e.data) as unknown,
  metadata: e.metadata,
  createdAt: e.createdAt,
});

export async function readStream(
  client: EventStoreClient,
  streamId: string,
): Promise<RecordedEvent[]> {
  return (await client.readStream({ streamId, fromVersion: 0, maxCount: 0 })).events;
}

/** Waits until the stream holds an event of that type and returns the whole stream. */
export async function waitForEvent(
  client: EventStoreClient,
  streamId: string,
  eventType: string,
  timeoutMs = 15_000,
): Promise<RecordedEvent[]> {
  return waitFor(
    `${eventType} on ${streamId}`,
    async () => {
      const events = await readStream(client, streamId);
      return events.some((e) => e.eventType === eventType) ? events : undefined;
    },
    { timeoutMs },
  );
}
