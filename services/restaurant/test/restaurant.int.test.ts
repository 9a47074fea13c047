import { writeFileSync } from 'node:fs';
import { waitFor } from '@orderflow/testkit';
import { decisionEventId } from '../src/domain/decide';
import {
  MENU_PRICES,
  paidOrder,
  readStream,
  startRestaurant,
  toEnvelope,
  waitForEvent,
  type RestaurantUnderTest,
} from './harness';

let sut: RestaurantUnderTest;

beforeAll(async () => {
  sut = await startRestaurant();
});

afterAll(async () => {
  await sut.stop();
});

test('when a paid order is for trattoria’s menu, then order-approved is appended once, also when the debit is delivered again', async () => {
  const orderId = await paidOrder(sut.client, 'trattoria', ['margherita', 'tiramisu']);
  const events = await waitForEvent(sut.client, orderId, 'order-approved');
  expect(events.map((e) => e.eventType)).toEqual([
    'order-created',
    'order-payment-debited',
    'order-approved',
  ]);
  const approved = events[2]!;
  expect(approved.eventId).toBe(decisionEventId(orderId));
  expect(approved.metadata).toMatchObject({
    correlation_id: orderId,
    causation_id: events[1]!.eventId,
    producer: 'restaurant',
  });
  expect(await sut.app.restaurants.decision(orderId)).toEqual({
    decision: 'approved',
    restaurantId: 'trattoria',
  });

  expect(await sut.app.handle(toEnvelope(events[1]!))).toBe('duplicate');
  expect(await readStream(sut.client, orderId)).toHaveLength(3);
});

test('when an item code is unknown, the restaurant is closed or unknown, or a price is not the menu’s, then order-rejected carries the reason', async () => {
  const cases = [
    {
      restaurantId: 'trattoria',
      codes: ['margherita', 'calzone'],
      reason: 'unknown item code calzone',
    },
    {
      restaurantId: 'closed-diner',
      codes: ['burger'],
      reason: 'restaurant closed-diner is closed',
    },
    { restaurantId: 'nowhere', codes: ['burger'], reason: 'unknown restaurant nowhere' },
    {
      restaurantId: 'trattoria',
      codes: ['tiramisu', 'margherita'],
      prices: { ...MENU_PRICES, margherita: 1 },
      reason: 'price of margherita changed from 1 to 1250',
    },
  ];
  for (const c of cases) {
    const orderId = await paidOrder(sut.client, c.restaurantId, c.codes, undefined, c.prices);
    const events = await waitForEvent(sut.client, orderId, 'order-rejected');
    expect(JSON.parse(events[2]!.data)).toEqual({
      orderId,
      restaurantId: c.restaurantId,
      reason: c.reason,
    });
    expect(await sut.app.restaurants.decision(orderId)).toMatchObject({
      decision: 'rejected',
      reason: c.reason,
    });
  }
});

test('when order-refund-requested is already in the stream, then no decision is appended', async () => {
  const orderId = await paidOrder(sut.client, 'trattoria', ['margherita'], (id) => [
    { eventType: 'order-refund-requested', data: { orderId: id, reason: 'restaurant-timeout' } },
  ]);
  await waitFor(
    'the order to be skipped',
    async () => (await sut.app.restaurants.decision(orderId))?.decision === 'skipped',
  );
  const events = await readStream(sut.client, orderId);
  expect(events.map((e) => e.eventType)).toEqual([
    'order-created',
    'order-payment-debited',
    'order-refund-requested',
  ]);
  expect(await sut.app.handle(toEnvelope(events[1]!))).toBe('ignored');
  expect(await readStream(sut.client, orderId)).toHaveLength(3);
});

test('when the runtime config carries restaurant.catalog, then it replaces the catalog file until it is removed', async () => {
  writeFileSync(
    sut.runtimeFile,
    JSON.stringify({
      restaurant: {
        catalog: { restaurants: [{ id: 'trattoria', name: 'Trattoria', open: false, menu: [] }] },
      },
    }),
  );
  await waitFor('the runtime catalog', async () => {
    await sut.app.catalogSettled();
    return (await sut.app.restaurants.restaurant('trattoria'))?.open === false;
  });
  expect(await sut.app.restaurants.restaurant('sushi-bar')).toBeUndefined();
  const orderId = await paidOrder(sut.client, 'trattoria', ['margherita']);
  const events = await waitForEvent(sut.client, orderId, 'order-rejected');
  expect(JSON.parse(events[2]!.data)).toMatchObject({ reason: 'restaurant trattoria is closed' });

  writeFileSync(sut.runtimeFile, '{}');
  await waitFor('the file catalog again', async () => {
    await sut.app.catalogSettled();
    return (await sut.app.restaurants.restaurant('trattoria'))?.open === true;
  });
  expect((await sut.app.restaurants.restaurant('sushi-bar'))?.menu.length).toBe(3);
});

test('when the saga requests refunds while the restaurant decides, then no approval ever follows a refund request', async () => {
  const orderIds = await Promise.all(
    Array.from({ length: 20 }, () => paidOrder(sut.client, 'trattoria', ['tiramisu'])),
  );
  // Race the saga's append (expected version 1, as it read the stream) against the restaurant's
  // decision, at staggered moments so that either may win.
  await Promise.allSettled(
    orderIds.map(async (orderId, i) => {
      await new Promise((r) => setTimeout(r, i * 10));
      return sut.client.appendToStream({
        streamId: `order-${orderId}`,
        expectedVersion: 1,
        events: [
          {
            eventId: decisionEventId(`refund-${orderId}`),
            eventType: 'order-refund-requested',
            data: JSON.stringify({ orderId, reason: 'restaurant-timeout' }),
            metadata: {},
          },
        ],
      });
    }),
  );
  for (const orderId of orderIds) {
    await waitFor(
      'a decision or a skip',
      async () => (await sut.app.restaurants.decision(orderId)) !== undefined,
    );
    const types = (await readStream(sut.client, orderId)).map((e) => e.eventType);
    expect(types.slice(0, 2)).toEqual(['order-created', 'order-payment-debited']);
    // Exactly one of them won version 2, and nothing follows it.
    expect([['order-approved'], ['order-refund-requested']]).toContainEqual(types.slice(2));
    const decision = await sut.app.restaurants.decision(orderId);
    expect(decision?.decision).toBe(types[2] === 'order-approved' ? 'approved' : 'skipped');
  }
});
