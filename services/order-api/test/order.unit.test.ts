import { eventSchemas } from '@orderflow/events';
import {
  computeAmount,
  orderCreatedPayload,
  orderIdentity,
  sameOrder,
  validateIdempotencyKey,
  validatePlaceOrder,
  type PlaceOrder,
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

describe('computeAmount', () => {
  test('when items are priced in cents, then the amount is the sum of unit price times quantity', () => {
    expect(
      computeAmount([item, { unitPrice: 650, quantity: 3 }, { unitPrice: 0, quantity: 100 }]),
    ).toBe(2500 + 1950);
  });

  test('when the total would pass the largest safe integer, then there is no amount', () => {
    expect(computeAmount([{ unitPrice: Number.MAX_SAFE_INTEGER, quantity: 2 }])).toBeUndefined();
    expect(
      computeAmount([
        { unitPrice: Number.MAX_SAFE_INTEGER - 1, quantity: 1 },
        { unitPrice: 5, quantity: 1 },
      ]),
    ).toBeUndefined();
  });
});

describe('validatePlaceOrder', () => {
  test('when the body is valid, then it computes the amount and the payload satisfies the order-created schema', () => {
    const r = validatePlaceOrder(
      body({ items: [item, { ...item, code: 'x', unitPrice: 100, quantity: 1 }] }),
    );
    expect(r).toEqual({ ok: true, value: expect.objectContaining({ amount: 2600 }) });
    const payload = orderCreatedPayload(
      '0b0f6f5e-6f0e-4f44-9c3e-6f5d3a4b2c1d',
      (r as { value: PlaceOrder }).value,
    );
    expect(eventSchemas['order-created'].safeParse(payload).success).toBe(true);
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
    [
      'the total overflows',
      ['items'],
      body({ items: [{ ...item, unitPrice: Number.MAX_SAFE_INTEGER, quantity: 2 }] }),
    ],
  ])('when %s, then the errors name %j', (_case, expected, input) => {
    expect(fields(input)).toEqual(expected);
  });

  test('when a field is missing, then its message says it is required', () => {
    const r = validatePlaceOrder({ restaurantId: 'r', items: [item] });
    expect(r).toEqual({ ok: false, errors: [{ field: 'customerId', message: 'is required' }] });
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

  test('when a replay differs in any item field, then it is not the same order', () => {
    const p = orderCreatedPayload('id', {
      customerId: 'c1',
      restaurantId: 'r',
      items: [item],
      amount: 2500,
    });
    expect(sameOrder(p, { ...p, items: [{ ...item }] })).toBe(true);
    expect(sameOrder(p, { ...p, items: [{ ...item, name: 'Marinara' }] })).toBe(false);
    expect(sameOrder(p, { ...p, items: [item, item], amount: 5000 })).toBe(false);
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

  test('when limit is absent, then it defaults to 20; when customerId is absent, then it is named', () => {
    expect(validateListQuery({ customerId: 'c1' })).toEqual({
      ok: true,
      value: { customerId: 'c1', limit: 20, cursor: undefined },
    });
    expect(validateListQuery({})).toEqual({
      ok: false,
      errors: [{ field: 'customerId', message: 'is required' }],
    });
    expect(validateListQuery({ customerId: ['a', 'b'] })).toEqual({
      ok: false,
      errors: [{ field: 'customerId', message: 'customerId must be given once' }],
    });
  });
});

describe('views and problems', () => {
  const record = {
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
