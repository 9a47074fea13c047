import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OrderEvent } from '@orderflow/events';
import { CatalogError, parseCatalog, type Restaurant } from '@orderflow/menu';
import { assess, decide, decisionEventId, type StreamEvent } from '../src/domain/decide';

const trattoria: Restaurant = {
  id: 'trattoria',
  name: 'Trattoria',
  open: true,
  menu: [
    { code: 'margherita', name: 'Margherita', priceCents: 1250 },
    { code: 'tiramisu', name: 'Tiramisù', priceCents: 650 },
  ],
};
const menuPrice: Record<string, number> = { margherita: 1250, tiramisu: 650 };
const order = (codes: string[], restaurantId = 'trattoria') => ({
  orderId: 'o1',
  restaurantId,
  items: codes.map((code) => ({ code, unitPrice: menuPrice[code] ?? 100 })),
});

describe('decide', () => {
  test('when the restaurant is open and knows every item, then the order is approved', () => {
    expect(decide(order(['margherita', 'tiramisu']), trattoria)).toEqual({ decision: 'approved' });
  });

  test('when the restaurant is unknown, closed, or an item code is unknown, then it is rejected with the reason', () => {
    expect(decide(order(['margherita'], 'nowhere'), undefined)).toEqual({
      decision: 'rejected',
      reason: 'unknown restaurant nowhere',
    });
    expect(decide(order(['margherita']), { ...trattoria, open: false })).toEqual({
      decision: 'rejected',
      reason: 'restaurant trattoria is closed',
    });
    expect(decide(order(['margherita', 'calzone']), trattoria)).toEqual({
      decision: 'rejected',
      reason: 'unknown item code calzone',
    });
  });

  test('when the menu price changed since the order was priced, then it is rejected naming both prices', () => {
    const o = order(['tiramisu', 'margherita']);
    expect(
      decide({ ...o, items: [o.items[0]!, { code: 'margherita', unitPrice: 1100 }] }, trattoria),
    ).toEqual({ decision: 'rejected', reason: 'price of margherita changed from 1100 to 1250' });
  });
});

describe('assess', () => {
  const orderId = '7c0d7c1e-3a43-4e47-8f1c-8f0f7a4e2b21';
  const created: StreamEvent = {
    eventId: 'e0',
    event: {
      type: 'order-created',
      data: {
        orderId,
        customerId: 'c',
        restaurantId: 'trattoria',
        items: [{ code: 'tiramisu', name: 'T', unitPrice: 650, quantity: 1 }],
        amount: 650,
      },
    },
  };
  const debited: StreamEvent = {
    eventId: 'e1',
    event: {
      type: 'order-payment-debited',
      data: { orderId, customerId: 'c', amount: 650, paymentId: orderId },
    },
  };
  const at = (eventId: string, event: OrderEvent): StreamEvent => ({ eventId, event });

  test('when the stream holds a paid order, then the items of order-created are to be decided', () => {
    expect(assess([created, debited])).toEqual({
      kind: 'decide',
      order: {
        orderId,
        restaurantId: 'trattoria',
        items: created.event.type === 'order-created' ? created.event.data.items : [],
      },
    });
  });

  test('when a refund was requested or the order cancelled before any decision, then it is too late to decide', () => {
    const refund = at('e2', {
      type: 'order-refund-requested',
      data: { orderId, reason: 'restaurant-timeout' },
    });
    expect(assess([created, debited, refund])).toMatchObject({
      kind: 'too-late',
      because: 'order-refund-requested',
    });
    const cancelled = at('e2', {
      type: 'order-cancelled',
      data: { orderId, reason: 'restaurant-timeout' },
    });
    expect(assess([created, debited, cancelled])).toMatchObject({
      kind: 'too-late',
      because: 'order-cancelled',
    });
  });

  test('when our own decision is in the stream, then it is already decided, even if a cancellation followed', () => {
    const mine = at(decisionEventId(orderId), {
      type: 'order-rejected',
      data: { orderId, restaurantId: 'trattoria', reason: 'x' },
    });
    const refund = at('e3', {
      type: 'order-refund-requested',
      data: { orderId, reason: 'restaurant-rejected' },
    });
    expect(assess([created, debited, mine, refund])).toEqual({
      kind: 'already-decided',
      restaurantId: 'trattoria',
      decision: { decision: 'rejected', reason: 'x' },
    });
  });

  test('when the stream has no order-created, then there is no order to decide', () => {
    expect(assess([debited]).kind).toBe('no-order');
  });
});

describe('parseCatalog', () => {
  test('when the repository catalog is parsed, then it holds an open trattoria with its items and a closed restaurant', () => {
    const raw: unknown = JSON.parse(
      readFileSync(join(__dirname, '..', '..', '..', 'config', 'catalog.json'), 'utf8'),
    );
    const c = parseCatalog(raw, 'config/catalog.json');
    const t = c.restaurants.find((r) => r.id === 'trattoria');
    expect(t?.open).toBe(true);
    expect(t?.menu).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'margherita', priceCents: 1250 }),
        expect.objectContaining({ code: 'tiramisu', priceCents: 650 }),
      ]),
    );
    expect(c.restaurants.filter((r) => r.open).length).toBeGreaterThanOrEqual(2);
    expect(c.restaurants.some((r) => !r.open)).toBe(true);
  });

  test('when a field is wrong or an id repeats, then the error names the field', () => {
    const bad = {
      restaurants: [
        { id: 'a', name: 'A', open: true, menu: [{ code: 'x', name: 'X', priceCents: 12.5 }] },
      ],
    };
    expect(() => parseCatalog(bad, 'f.json')).toThrow(CatalogError);
    expect(() => parseCatalog(bad, 'f.json')).toThrow(
      /f\.json: restaurants\.0\.menu\.0\.priceCents/,
    );
    const dup = { restaurants: [trattoria, trattoria] };
    expect(() => parseCatalog(dup, 'f.json')).toThrow(
      /restaurants\.1\.id: duplicate restaurant id "trattoria"/,
    );
  });
});
