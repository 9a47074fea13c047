import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { orderStreamId } from '@orderflow/events';
import { createLogger } from '@orderflow/platform';
import type { EventStoreClient, RecordedEvent } from '@orderflow/proto';
import { waitFor } from '@orderflow/testkit';
import { startServiceWithStore, type ServiceWithStore } from '../../eventstore/test/harness';
import { start, type RestaurantApp } from '../src/app';
import { configSchema } from '../src/config';

export const repoCatalog = resolve(__dirname, '..', '..', '..', 'config', 'catalog.json');

export type RestaurantUnderTest = ServiceWithStore<RestaurantApp>;

/** nats-server, the real event store and the restaurant service (with the repository's catalog) in-process. */
export const startRestaurant = (): Promise<RestaurantUnderTest> =>
  startServiceWithStore(
    'restaurant',
    (env) => start(configSchema.parse(env), createLogger('restaurant', 'silent')),
    { env: { CATALOG_FILE: repoCatalog } },
  );

/** The repository catalog's prices, which the order API would have put in order-created. */
export const MENU_PRICES: Readonly<Record<string, number>> = {
  margherita: 1250,
  tiramisu: 650,
  burger: 1100,
};

/**
 * Appends order-created and order-payment-debited (and any further events) as the order API and
 * payment would, each item priced as in `prices` (the menu's prices by default; 100 for a code the
 * menu does not know).
 */
export async function paidOrder(
  client: EventStoreClient,
  restaurantId: string,
  codes: string[],
  more: (orderId: string) => { eventType: string; data: unknown }[] = () => [],
  prices: Readonly<Record<string, number>> = MENU_PRICES,
): Promise<string> {
  const orderId = randomUUID();
  const items = codes.map((code) => ({
    code,
    name: code,
    unitPrice: prices[code] ?? 100,
    quantity: 1,
  }));
  const amount = items.reduce((sum, i) => sum + i.unitPrice, 0);
  const events = [
    {
      eventType: 'order-created',
      data: { orderId, customerId: 'c1', restaurantId, items, amount },
    },
    {
      eventType: 'order-payment-debited',
      data: { orderId, customerId: 'c1', amount, paymentId: randomUUID() },
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

import { readOrderStream as readStream } from '../../eventstore/test/harness';

export { readStream };

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

export { toEnvelope } from '../../eventstore/test/harness';
