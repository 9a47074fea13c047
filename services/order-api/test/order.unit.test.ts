import type { OrderRecord } from '@orderflow/contracts';
import { eventSchemas } from '@orderflow/events';
import {
  orderCreatedPayload,
  orderIdentity,
  sameOrder,
  validateIdempotencyKey,
  validatePlaceOrder,
} from '../src/domain/order';
import { problemOf } from '../src/domain/problems';
import { decodeCursor, encodeCursor, toView, validateListQuery } from '../src/domain/query';

const item = { code: 'margherita', name: 'Margherita', unitPrice: 1250, quantity: 2 };
const body = (over: Record<string, unknown> = {}) => ({
  customerId: 'c1',
  restaurantId: 'trattoria',
  items: [item],
  ...over,
});
const fields = (b: unknown): string[] => {
  const r = validatePlaceOrder(b);
  return r.ok ? [] : r.errors.map((e) => e.field);
};

describe('validatePlaceOrder', () => {
  test('when the body is valid, then it keeps codes, quantities and expected prices and drops names', () => {
    const r = validatePlaceOrder(body({ items: [item, { code: 'tiramisu', quantity: 1 }] }));
    expect(r).toEqual({
      ok: true,
      value: {
        customerId: 'c1',
        restaurantId: 'trattoria',
        items: [
          { code: 'margherita', quantity: 2, unitPrice: 1250 },
          { code: 'tiramisu', quantity: 1, unitPrice: undefined },
        ],
      },
    });
  });

  test('when an order is priced, then its payload satisfies the order-created schema', () => {
    const payload = orderCreatedPayload('0b0f6f5e-6f0e-4f44-9c3e-6f5d3a4b2c1d', {
      customerId: 'c1',
      restaurantId: 'trattoria',
      items: [{ code: 'margherita', name: 'Pizza Margherita', unitPrice: 1250, quantity: 2 }],
      amount: 2500,
    });
    expect(eventSchemas['order-created'].safeParse(payload).success).toBe(true);
  });

  test('when customerId is left out, then the shape is still valid (the token names the customer)', () => {
    expect(fields({ restaurantId: 'trattoria', items: [item] })).toEqual([]);
  });

  test.each<[string, string[], unknown]>([
    ['the body is not an object', ['body'], 'hello'],
    ['customerId is blank', ['customerId'], body({ customerId: '   ' })],
    ['restaurantId is a number', ['restaurantId'], body({ restaurantId: 7 })],
    ['items has 51 entries', ['items'], body({ items: Array.from({ length: 51 }, () => item) })],
    [
      'the second item has quantity 0',
      ['items[1].quantity'],
      body({ items: [item, { ...item, quantity: 0 }] }),
    ],
    ['unitPrice is 12.5', ['items[0].unitPrice'], body({ items: [{ ...item, unitPrice: 12.5 }] })],
    ['there are two unknown keys', ['a', 'b'], body({ a: 1, b: 2 })],
    ['unknown keys are empty or not plain names', ['[""]', '["a b"]'], body({ '': 1, 'a b': 2 })],
    ['an item has no quantity', ['items[0].quantity'], body({ items: [{ code: 'margherita' }] })],
  ])('when %s, then the errors name %j', (_case, expected, input) => {
    expect(fields(input)).toEqual(expected);
  });

  test('when a field is missing, then its message says it is required', () => {
    const r = validatePlaceOrder({ customerId: 'c1', items: [item] });
    expect(r).toEqual({ ok: false, errors: [{ field: 'restaurantId', message: 'is required' }] });
  });
});

describe('idempotency', () => {
  test('when the same customer reuses a key, then the order and event ids are the same; another customer gets others', () => {
    const newId = () => {
      throw new Error('must not draw a random id');
    };
    const a = orderIdentity('c1', 'k1', newId);
    expect(orderIdentity('c1', 'k1', newId)).toEqual(a);
    expect(orderIdentity('c2', 'k1', newId).orderId).not.toBe(a.orderId);
    expect(a.orderId).not.toBe(a.eventId);
  });

  test('when there is no key, then both ids are fresh', () => {
    let n = 0;
    expect(orderIdentity('c1', undefined, () => `id-${++n}`)).toEqual({
      orderId: 'id-1',
      eventId: 'id-2',
    });
  });

  test('when the header is not printable ASCII or too long, then it is rejected', () => {
    expect(validateIdempotencyKey('abc-123')).toEqual({ ok: true, value: 'abc-123' });
    expect(validateIdempotencyKey(undefined)).toEqual({ ok: true, value: undefined });
    expect(validateIdempotencyKey('x'.repeat(201)).ok).toBe(false);
    expect(validateIdempotencyKey('tab\there').ok).toBe(false);
    expect(validateIdempotencyKey('').ok).toBe(false);
  });

  test('when a replay asks for other items, quantities, another restaurant or another expected price, then it is not the same order', () => {
    const p = orderCreatedPayload('id', {
      customerId: 'c1',
      restaurantId: 'r',
      items: [item],
      amount: 2500,
    });
    const asked = { restaurantId: 'r', items: [{ code: 'margherita', quantity: 2 }] };
    expect(sameOrder(p, 'c1', asked)).toBe(true);
    expect(sameOrder(p, 'c1', { ...asked, items: [{ ...asked.items[0]!, unitPrice: 1250 }] })).toBe(
      true,
    );
    expect(sameOrder(p, 'c2', asked)).toBe(false);
    expect(sameOrder(p, 'c1', { ...asked, restaurantId: 'x' })).toBe(false);
    expect(sameOrder(p, 'c1', { ...asked, items: [{ code: 'margherita', quantity: 3 }] })).toBe(
      false,
    );
    expect(sameOrder(p, 'c1', { ...asked, items: [{ ...asked.items[0]!, unitPrice: 1 }] })).toBe(
      false,
    );
  });
});

describe('list query and cursor', () => {
  test('when a cursor is encoded, then it decodes to the same position; a forged one is refused', () => {
    const c = {
      createdAt: '2026-11-26 07:24:36.123456+00',
      orderId: '0b0f6f5e-6f0e-4f44-9c3e-6f5d3a4b2c1d',
    };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    expect(
      decodeCursor(
        Buffer.from(JSON.stringify(['1; DROP TABLE orders', c.orderId])).toString('base64url'),
      ),
    ).toBeUndefined();
    expect(decodeCursor('!!')).toBeUndefined();
  });

  test('when limit is absent, then it defaults to 20; when customerId is absent, then the caller decides whose (auth)', () => {
    expect(validateListQuery({ customerId: 'c1' })).toEqual({
      ok: true,
      value: { customerId: 'c1', limit: 20, cursor: undefined },
    });
    expect(validateListQuery({})).toEqual({
      ok: true,
      value: { customerId: undefined, limit: 20, cursor: undefined },
    });
    expect(validateListQuery({ customerId: ['a', 'b'] })).toEqual({
      ok: false,
      errors: [{ field: 'customerId', message: 'customerId must be given once' }],
    });
  });
});

describe('views and problems', () => {
  const record: OrderRecord = {
    orderId: 'o1',
    customerId: 'c1',
    restaurantId: 'r',
    items: [item],
    amount: 2500,
    status: 'Approved',
    version: 4,
    cancellationReason: null,
    refunded: false,
    createdAt: 't0',
    updatedAt: 't1',
  };

  test('when an order is not cancelled, then the view has no cancellationReason; when cancelled, it has', () => {
    expect(toView(record)).not.toHaveProperty('cancellationReason');
    expect(
      toView({ ...record, status: 'Cancelled', cancellationReason: 'restaurant-rejected' })
        .cancellationReason,
    ).toBe('restaurant-rejected');
  });

  test('when the event store is unavailable, then the problem is a 503 with Retry-After', () => {
    const a = problemOf({ code: 'unavailable', dependency: 'event store', retryAfterSeconds: 2 });
    expect(a.problem.status).toBe(503);
    expect(a.headers).toEqual({ 'retry-after': '2' });
  });
});
