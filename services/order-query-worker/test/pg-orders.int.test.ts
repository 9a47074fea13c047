import { randomUUID } from 'node:crypto';
import type { OrderEvent } from '@orderflow/events';
import { createPool, migrate, type Pool } from '@orderflow/platform';
import { freshDatabase } from '@orderflow/testkit';
import { PgOrders } from '../src/adapters/pg-orders';
import { migrationsDir } from '../src/app';
import type { VersionedEvent } from '../src/domain/projection';

// Two replicas of the read model's writer on one real PostgreSQL: each remembers the rows it
// wrote, and a memory gone stale (the other replica moved the row) must never win.
let pool: Pool;

beforeAll(async () => {
  pool = createPool(await freshDatabase('pgorders'), 4);
  await migrate(pool, migrationsDir);
});

afterAll(async () => {
  await pool.end();
});

const story = (orderId: string) => {
  const ev = (version: number, event: OrderEvent): VersionedEvent => ({
    version,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, version)).toISOString(),
    event,
  });
  return {
    created: ev(0, {
      type: 'order-created',
      data: {
        orderId,
        customerId: 'c1',
        restaurantId: 'trattoria',
        items: [{ code: 'margherita', name: 'Margherita', unitPrice: 1250, quantity: 2 }],
        amount: 2500,
      },
    }),
    debited: ev(1, {
      type: 'order-payment-debited',
      data: { orderId, customerId: 'c1', amount: 2500, paymentId: randomUUID() },
    }),
    approved: ev(2, { type: 'order-approved', data: { orderId, restaurantId: 'trattoria' } }),
  };
};

test('when replicas take turns on an order, then a stale memory is read past and every event lands once, in order', async () => {
  const a = new PgOrders(pool);
  const b = new PgOrders(pool);
  const orderId = randomUUID();
  const s = story(orderId);
  expect(await a.apply(orderId, s.created)).toBe('applied');
  expect(await b.apply(orderId, s.debited)).toBe('applied'); // b reads the row a wrote
  expect(await a.apply(orderId, s.debited)).toBe('duplicate'); // a remembers version 0: stale
  expect(await a.apply(orderId, s.created)).toBe('duplicate');
  expect(await a.apply(orderId, s.approved)).toBe('applied');
  expect(await b.apply(orderId, s.approved)).toBe('duplicate'); // b remembers version 1: stale
  const row = await a.get(orderId);
  expect(row).toMatchObject({ status: 'Approved', version: 2 });
  expect(a.remembered(orderId)).toEqual(row);
});

test('when an order first event is applied twice by two replicas, then one inserts and the other answers duplicate', async () => {
  const a = new PgOrders(pool);
  const b = new PgOrders(pool);
  const orderId = randomUUID();
  const { created } = story(orderId);
  const results = await Promise.all([a.apply(orderId, created), b.apply(orderId, created)]);
  expect(results.sort()).toEqual(['applied', 'duplicate']);
});

test('when a replica remembers more orders than its capacity, then the oldest is forgotten and read again when needed', async () => {
  const a = new PgOrders(pool, 1);
  const [first, second] = [randomUUID(), randomUUID()];
  await a.apply(first, story(first).created);
  await a.apply(second, story(second).created);
  expect(a.remembered(first)).toBeUndefined();
  expect(await a.apply(first, story(first).debited)).toBe('applied');
  expect(await a.get(first)).toMatchObject({ status: 'Paid', version: 1 });
});
