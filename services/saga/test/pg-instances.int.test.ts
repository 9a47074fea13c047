import { randomUUID } from 'node:crypto';
import { createPool, migrate, type Pool } from '@orderflow/platform';
import { freshDatabase } from '@orderflow/testkit';
import { SagaInstances } from '../src/adapters/pg-instances';
import { migrationsDir } from '../src/app';

// saga_instances against a real PostgreSQL: one statement per record, safe when handlers race.
let pool: Pool;
let instances: SagaInstances;

beforeAll(async () => {
  pool = createPool(await freshDatabase('sagainstances'), 8);
  await migrate(pool, migrationsDir);
  instances = new SagaInstances(pool);
});

afterAll(async () => {
  await pool.end();
});

const row = async (orderId: string) =>
  (
    await pool.query<{ state: string; deadline: Date | null; last_version: string }>(
      'SELECT state, deadline, last_version FROM saga_instances WHERE order_id = $1',
      [orderId],
    )
  ).rows[0];

test('when an order is recorded, then moved on, then an older write arrives, then the older write is dropped and reports the newer status', async () => {
  const orderId = randomUUID();
  const d1 = new Date(Date.now() + 60_000);
  expect(await instances.record(orderId, 'AwaitingPayment', d1, 0)).toEqual({
    previous: undefined,
    applied: true,
  });
  const d2 = new Date(Date.now() + 120_000);
  expect(await instances.record(orderId, 'AwaitingRestaurant', d2, 1)).toEqual({
    previous: 'AwaitingPayment',
    applied: true,
  });
  expect(await instances.record(orderId, 'AwaitingPayment', d1, 0)).toEqual({
    previous: 'AwaitingRestaurant',
    applied: false,
  });
  const r = await row(orderId);
  expect(r?.state).toBe('AwaitingRestaurant');
  expect(r?.deadline?.getTime()).toBe(d2.getTime());
  expect(Number(r?.last_version)).toBe(1);
});

test('when the status stays the same, then the deadline set on entering it stays', async () => {
  const orderId = randomUUID();
  const first = new Date(Date.now() + 60_000);
  await instances.record(orderId, 'AwaitingPayment', first, 0);
  await instances.record(orderId, 'AwaitingPayment', new Date(Date.now() + 999_000), 0);
  expect((await row(orderId))?.deadline?.getTime()).toBe(first.getTime());
  await instances.record(orderId, 'Approved', null, 2);
  expect((await row(orderId))?.deadline).toBeNull();
});

test('when ten handlers of a new order race, then exactly one creates the row and the newest version wins', async () => {
  const orderId = randomUUID();
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, v) =>
      instances.record(orderId, v === 9 ? 'Approved' : 'AwaitingRestaurant', null, v),
    ),
  );
  expect(results.filter((r) => r.previous === undefined)).toHaveLength(1);
  const r = await row(orderId);
  expect(Number(r?.last_version)).toBe(9);
  expect(r?.state).toBe('Approved');
});
