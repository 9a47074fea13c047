import { randomUUID } from 'node:crypto';
import { createLogger } from '@orderflow/platform';
import type { EventStoreClient, RecordedEvent } from '@orderflow/proto';
import { waitFor } from '@orderflow/testkit';
import { startServiceWithStore, type ServiceWithStore } from '../../eventstore/test/harness';
import { start, type PaymentApp } from '../src/app';
import { configSchema } from '../src/config';

export type PaymentUnderTest = ServiceWithStore<PaymentApp>;

/** nats-server, the real event store and the payment service, all in-process on free ports. */
export const startPayment = (overrides: Record<string, string> = {}): Promise<PaymentUnderTest> =>
  startServiceWithStore(
    'payment',
    (env) => start(configSchema.parse(env), createLogger('payment', 'silent')),
    { env: overrides, storeEnv: { RELAY_INTERVAL_MS: '200', RELAY_GRACE_MS: '500' } },
  );

export const order = (customerId: string, amount: number, orderId: string = randomUUID()) => ({
  orderId,
  customerId,
  restaurantId: 'trattoria',
  items: [{ code: 'margherita', name: 'Margherita', unitPrice: amount, quantity: 1 }],
  amount,
});

export { toEnvelope } from '../../eventstore/test/harness';

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
