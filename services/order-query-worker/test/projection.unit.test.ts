import type { OrderEvent } from '@orderflow/events';
import {
  VersionGapError,
  foldOrder,
  project,
  type OrderRecord,
  type VersionedEvent,
} from '../src/domain/projection';

const orderId = '5d1f3a52-9d7e-4c1b-8f4e-2f0f0f7d9b10';
const paymentId = 'a3c6f5f2-1b5b-4f39-9d43-0c7e2c6b7e01';
const at = (v: number) => `2026-01-01T00:00:0${v}.000Z`;
const ev = (version: number, event: OrderEvent): VersionedEvent => ({
  version,
  createdAt: at(version),
  event,
});

const created = ev(0, {
  type: 'order-created',
  data: {
    orderId,
    customerId: 'c1',
    restaurantId: 'trattoria',
    items: [{ code: 'margherita', name: 'Margherita', unitPrice: 1250, quantity: 2 }],
    amount: 2500,
  },
});
const debited = (v: number) =>
  ev(v, {
    type: 'order-payment-debited',
    data: { orderId, customerId: 'c1', amount: 2500, paymentId },
  });
const approved = (v: number) =>
  ev(v, { type: 'order-approved', data: { orderId, restaurantId: 'trattoria' } });
const rejected = (v: number) =>
  ev(v, {
    type: 'order-rejected',
    data: { orderId, restaurantId: 'trattoria', reason: 'restaurant trattoria is closed' },
  });
const refundRequested = (v: number) =>
  ev(v, { type: 'order-refund-requested', data: { orderId, reason: 'restaurant-rejected' } });
const refunded = (v: number) =>
  ev(v, {
    type: 'order-payment-refunded',
    data: { orderId, customerId: 'c1', amount: 2500, paymentId },
  });
const cancelled = (
  v: number,
  reason: 'payment-timeout' | 'restaurant-rejected' = 'restaurant-rejected',
) => ev(v, { type: 'order-cancelled', data: { orderId, reason } });

const row = (r: ReturnType<typeof project>): OrderRecord => {
  if (typeof r === 'string') throw new Error(`expected a row, got ${r}`);
  return r;
};

describe('project', () => {
  test('when order-created is version 0 of a new order, then a Pending row with its details is created', () => {
    expect(project(undefined, created)).toEqual({
      orderId,
      customerId: 'c1',
      restaurantId: 'trattoria',
      items: created.event.type === 'order-created' ? created.event.data.items : [],
      amount: 2500,
      status: 'Pending',
      version: 0,
      cancellationReason: null,
      refunded: false,
      createdAt: at(0),
      updatedAt: at(0),
    });
  });

  test('when a later event arrives for an order not seen yet, then it is a gap', () => {
    expect(project(undefined, debited(1))).toBe('gap');
  });

  test('when the next version arrives, then it is applied; when it arrives again or an older one does, then it is a duplicate', () => {
    const pending = row(project(undefined, created));
    const paid = row(project(pending, debited(1)));
    expect(paid).toMatchObject({ status: 'Paid', version: 1, updatedAt: at(1), createdAt: at(0) });
    expect(project(paid, debited(1))).toBe('duplicate');
    expect(project(paid, created)).toBe('duplicate');
  });

  test('when an event skips a version (out of order), then it is a gap and the row is untouched', () => {
    const pending = row(project(undefined, created));
    expect(project(pending, approved(2))).toBe('gap');
    expect(pending.version).toBe(0);
  });

  test('when an order is Approved, then a later cancellation advances the version but not the status', () => {
    const a = row(project(row(project(row(project(undefined, created)), debited(1))), approved(2)));
    expect(a.status).toBe('Approved');
    expect(row(project(a, cancelled(3)))).toMatchObject({
      status: 'Approved',
      version: 3,
      cancellationReason: null,
    });
  });

  test('when a Cancelled order is refunded late, then only the refunded flag and the version change', () => {
    const c = row(
      project(
        row(project(row(project(undefined, created)), debited(1))),
        cancelled(2, 'payment-timeout'),
      ),
    );
    expect(c).toMatchObject({ status: 'Cancelled', cancellationReason: 'payment-timeout' });
    expect(row(project(c, refundRequested(3)))).toMatchObject({
      status: 'Cancelled',
      version: 3,
      refunded: false,
    });
    expect(row(project(row(project(c, refundRequested(3))), refunded(4)))).toMatchObject({
      status: 'Cancelled',
      version: 4,
      refunded: true,
    });
  });
});

describe('foldOrder', () => {
  test('when a rejected order is refunded and cancelled, then it ends Cancelled, refunded, with the reason', () => {
    const events = [
      created,
      debited(1),
      rejected(2),
      refundRequested(3),
      refunded(4),
      cancelled(5),
    ];
    const statuses = events.map((_, i) => foldOrder(events.slice(0, i + 1))?.status);
    expect(statuses).toEqual(['Pending', 'Paid', 'Rejected', 'Rejected', 'Refunded', 'Cancelled']);
    expect(foldOrder(events)).toMatchObject({
      version: 5,
      refunded: true,
      cancellationReason: 'restaurant-rejected',
      updatedAt: at(5),
    });
  });

  test('when an event repeats, then it is skipped; when one is missing, then the fold throws', () => {
    expect(foldOrder([created, debited(1), debited(1)])?.version).toBe(1);
    expect(() => foldOrder([created, approved(2)])).toThrow(VersionGapError);
    expect(foldOrder([])).toBeUndefined();
  });

  test('when payment is declined and the order cancelled, then it ends Cancelled with no refund', () => {
    const declined = ev(1, {
      type: 'order-payment-declined',
      data: { orderId, customerId: 'c1', amount: 2500, reason: 'insufficient credit' },
    });
    expect(foldOrder([created, declined])?.status).toBe('PaymentDeclined');
    expect(foldOrder([created, declined, cancelled(2)])).toMatchObject({
      status: 'Cancelled',
      refunded: false,
    });
  });
});
