import { randomUUID } from 'node:crypto';
import type { VersionedEvent } from '@orderflow/contracts';
import { catchUp, nextMessage, sseMessage, stepsOf, validateLastEventId } from '../src/domain/live';

const orderId = randomUUID();
const at = (s: number) => `2026-11-26T07:24:${String(s).padStart(2, '0')}.000Z`;
const created: VersionedEvent = {
  version: 0,
  createdAt: at(0),
  event: {
    type: 'order-created',
    data: {
      orderId,
      customerId: 'c1',
      restaurantId: 'trattoria',
      items: [{ code: 'margherita', name: 'Margherita', unitPrice: 1250, quantity: 1 }],
      amount: 1250,
    },
  },
};
const paymentId = randomUUID();
/** Rejected by the restaurant, refunded, cancelled: five events after order-created. */
const compensated: VersionedEvent[] = [
  created,
  {
    version: 1,
    createdAt: at(1),
    event: {
      type: 'order-payment-debited',
      data: { orderId, customerId: 'c1', amount: 1250, paymentId },
    },
  },
  {
    version: 2,
    createdAt: at(2),
    event: {
      type: 'order-rejected',
      data: { orderId, restaurantId: 'trattoria', reason: 'price of margherita changed' },
    },
  },
  {
    version: 3,
    createdAt: at(3),
    event: { type: 'order-refund-requested', data: { orderId, reason: 'restaurant-rejected' } },
  },
  {
    version: 4,
    createdAt: at(4),
    event: {
      type: 'order-payment-refunded',
      data: { orderId, customerId: 'c1', amount: 1250, paymentId },
    },
  },
  {
    version: 5,
    createdAt: at(5),
    event: { type: 'order-cancelled', data: { orderId, reason: 'restaurant-rejected' } },
  },
];

describe('stepsOf and catchUp', () => {
  test('when a client has nothing yet, then it gets one message: the order at the target with every event up to it', () => {
    const steps = stepsOf(compensated);
    const [only, ...rest] = catchUp(steps, 'none', 3);
    expect(rest).toEqual([]);
    expect(only?.order).toMatchObject({ status: 'Rejected', version: 3, updatedAt: at(3) });
    expect(only?.events.map((e) => e.version)).toEqual([0, 1, 2, 3]);
    expect(only?.events[2]).toEqual({
      version: 2,
      type: 'order-rejected',
      createdAt: at(2),
      reason: 'price of margherita changed',
    });
  });

  test('when a client has version 1, then it gets each later version once, in order, up to the target', () => {
    const messages = catchUp(stepsOf(compensated), 1, 5);
    expect(
      messages.map((m) => [m.order.version, m.order.status, m.events.map((e) => e.type)]),
    ).toEqual([
      [2, 'Rejected', ['order-rejected']],
      [3, 'Rejected', ['order-refund-requested']],
      [4, 'Refunded', ['order-payment-refunded']],
      [5, 'Cancelled', ['order-cancelled']],
    ]);
    expect(messages[3]?.order).toMatchObject({
      cancellationReason: 'restaurant-rejected',
      refunded: true,
    });
  });

  test('when the client has the target already, then nothing is sent', () => {
    expect(catchUp(stepsOf(compensated), 5, 5)).toEqual([]);
    expect(catchUp(stepsOf(compensated), 7, 5)).toEqual([]);
  });

  test('when the stream skips a version, then the steps stop before the gap', () => {
    expect(stepsOf([created, compensated[2]!]).map((s) => s.record.version)).toEqual([0]);
  });
});

describe('nextMessage', () => {
  const steps = stepsOf(compensated);
  const projected = (v: number) => ({ order: steps[v]!.record, event: steps[v]!.event });

  test('when the projected row is the next version, then it is the message', () => {
    const m = nextMessage(1, projected(2));
    expect(m).toMatchObject({
      order: { version: 2, status: 'Rejected' },
      events: [{ version: 2 }],
    });
  });

  test('when it is a version the client has, then it is seen; further on, it is a gap', () => {
    expect(nextMessage(2, projected(2))).toBe('seen');
    expect(nextMessage(3, projected(1))).toBe('seen');
    expect(nextMessage(1, projected(3))).toBe('gap');
  });
});

describe('SSE framing and Last-Event-ID', () => {
  test('when a message is framed, then its id is the stream version and its data one JSON line', () => {
    const [m] = catchUp(stepsOf(compensated), 4, 5);
    const frame = sseMessage(m!);
    expect(frame.startsWith('id: 5\ndata: {')).toBe(true);
    expect(frame.endsWith('}\n\n')).toBe(true);
    expect(frame.split('\n')).toHaveLength(4);
  });

  test('when Last-Event-ID is absent, a version, or anything else, then it is none, the number, or a 400 naming the header', () => {
    expect(validateLastEventId(undefined)).toEqual({ ok: true, value: undefined });
    expect(validateLastEventId('')).toEqual({ ok: true, value: undefined });
    expect(validateLastEventId('12')).toEqual({ ok: true, value: 12 });
    for (const bad of ['-1', '1.5', 'abc', '1234567890123456', ['1', '2']])
      expect(validateLastEventId(bad)).toMatchObject({
        ok: false,
        errors: [{ field: 'Last-Event-ID' }],
      });
  });
});
