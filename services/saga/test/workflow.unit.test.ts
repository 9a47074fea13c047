import { randomUUID } from 'node:crypto';
import type { OrderEvent } from '@orderflow/events';
import {
  decide,
  decisionLabel,
  fold,
  type RecordedOrderEvent,
  type SagaInput,
  type SagaOutput,
  type SagaState,
  type Timeouts,
} from '../src/domain/workflow';

const orderId = randomUUID();
const t0 = Date.parse('2026-01-01T10:00:00.000Z');
const at = (ms: number): string => new Date(t0 + ms).toISOString();
const timeouts: Timeouts = { paymentTimeoutMs: 30_000, restaurantTimeoutMs: 60_000 };

const ev = {
  created: (): OrderEvent => ({
    type: 'order-created',
    data: {
      orderId,
      customerId: 'c-1',
      restaurantId: 'r-1',
      items: [{ code: 'p', name: 'Pizza', unitPrice: 1200, quantity: 1 }],
      amount: 1200,
    },
  }),
  debited: (): OrderEvent => ({
    type: 'order-payment-debited',
    data: { orderId, customerId: 'c-1', amount: 1200, paymentId: randomUUID() },
  }),
  declined: (): OrderEvent => ({
    type: 'order-payment-declined',
    data: { orderId, customerId: 'c-1', amount: 1200, reason: 'insufficient funds' },
  }),
  approved: (): OrderEvent => ({ type: 'order-approved', data: { orderId, restaurantId: 'r-1' } }),
  rejected: (): OrderEvent => ({
    type: 'order-rejected',
    data: { orderId, restaurantId: 'r-1', reason: 'closed' },
  }),
  refundRequested: (
    reason: 'restaurant-rejected' | 'restaurant-timeout' | 'late-debit',
  ): OrderEvent => ({
    type: 'order-refund-requested',
    data: { orderId, reason },
  }),
  refunded: (): OrderEvent => ({
    type: 'order-payment-refunded',
    data: { orderId, customerId: 'c-1', amount: 1200, paymentId: randomUUID() },
  }),
  cancelled: (
    reason: 'payment-declined' | 'restaurant-rejected' | 'payment-timeout' | 'restaurant-timeout',
  ): OrderEvent => ({
    type: 'order-cancelled',
    data: { orderId, reason },
  }),
};

/** Events recorded one second apart, from t0. */
const recorded = (events: OrderEvent[]): RecordedOrderEvent[] =>
  events.map((event, version) => ({
    event,
    eventId: randomUUID(),
    version,
    recordedAt: at(version * 1000),
  }));

/** given the order's events, when the last one (or a tick) arrives at `nowMs` after t0, then these outputs. */
function scenario(
  events: OrderEvent[],
  input: 'last-event' | SagaInput = 'last-event',
  nowMs = 0,
): { state: SagaState; outputs: SagaOutput[] } {
  const history = recorded(events);
  const state = fold(history);
  const last = history[history.length - 1];
  const i: SagaInput = input === 'last-event' ? { type: 'event', event: last! } : input;
  return { state, outputs: decide(state, i, new Date(t0 + nowMs), timeouts) };
}

const appended = (outputs: SagaOutput[]): OrderEvent[] =>
  outputs.flatMap((o) => (o.action === 'Append' ? [o.event] : []));

describe('saga workflow: happy path', () => {
  test('when an order is created, then the saga waits for the payment until created + PAYMENT_TIMEOUT_MS', () => {
    const { state, outputs } = scenario([ev.created()]);
    expect(state.status).toBe('AwaitingPayment');
    expect(outputs).toEqual([
      { action: 'Schedule', timeout: 'payment', at: new Date(t0 + 30_000) },
    ]);
    expect(decisionLabel(outputs)).toBe('wait');
  });

  test('when the payment is debited, then the saga waits for the restaurant until debit + RESTAURANT_TIMEOUT_MS', () => {
    const { state, outputs } = scenario([ev.created(), ev.debited()]);
    expect(state.status).toBe('AwaitingRestaurant');
    expect(outputs).toEqual([
      { action: 'Schedule', timeout: 'restaurant', at: new Date(t0 + 1000 + 60_000) },
    ]);
  });

  test('when the restaurant approves, then the order is Approved and nothing is appended', () => {
    const { state, outputs } = scenario([ev.created(), ev.debited(), ev.approved()]);
    expect(state.status).toBe('Approved');
    expect(appended(outputs)).toEqual([]);
    expect(decisionLabel(outputs)).toBe('none');
  });

  test('when the recorded time of the wait is unknown, then the deadline counts from now', () => {
    const [created] = recorded([ev.created()]);
    const state = fold([{ ...created!, recordedAt: '' }]);
    expect(
      decide(state, { type: 'event', event: created! }, new Date(t0 + 5000), timeouts),
    ).toEqual([{ action: 'Schedule', timeout: 'payment', at: new Date(t0 + 5000 + 30_000) }]);
  });
});

describe('saga workflow: payment declined', () => {
  test('when the payment is declined, then the saga cancels with reason payment-declined and requests no refund', () => {
    const { state, outputs } = scenario([ev.created(), ev.declined()]);
    expect(state.status).toBe('PaymentDeclined');
    expect(appended(outputs)).toEqual([ev.cancelled('payment-declined')]);
    expect(decisionLabel(outputs)).toBe('cancel');
  });

  test('when the decline is redelivered after the cancellation, then nothing more is appended', () => {
    const { state, outputs } = scenario([
      ev.created(),
      ev.declined(),
      ev.cancelled('payment-declined'),
      ev.declined(),
    ]);
    expect(state).toMatchObject({
      status: 'Cancelled',
      reason: 'payment-declined',
      debited: false,
    });
    expect(appended(outputs)).toEqual([]);
  });
});

describe('saga workflow: restaurant rejected', () => {
  test('when the restaurant rejects a paid order, then the saga requests a refund with reason restaurant-rejected', () => {
    const { state, outputs } = scenario([ev.created(), ev.debited(), ev.rejected()]);
    expect(state).toMatchObject({
      status: 'Compensating',
      reason: 'restaurant-rejected',
      refundRequested: false,
    });
    expect(appended(outputs)).toEqual([ev.refundRequested('restaurant-rejected')]);
    expect(decisionLabel(outputs)).toBe('request_refund');
  });

  test('when the refund was requested but not yet made, then the saga waits and does not cancel', () => {
    const { outputs } = scenario([
      ev.created(),
      ev.debited(),
      ev.rejected(),
      ev.refundRequested('restaurant-rejected'),
    ]);
    expect(appended(outputs)).toEqual([]);
  });

  test('when the payment is refunded, then the saga cancels with reason restaurant-rejected', () => {
    const { outputs } = scenario([
      ev.created(),
      ev.debited(),
      ev.rejected(),
      ev.refundRequested('restaurant-rejected'),
      ev.refunded(),
    ]);
    expect(appended(outputs)).toEqual([ev.cancelled('restaurant-rejected')]);
  });

  test('when the rejection is redelivered after the refund request, then no second refund is requested', () => {
    const { outputs } = scenario([
      ev.created(),
      ev.debited(),
      ev.rejected(),
      ev.refundRequested('restaurant-rejected'),
      ev.rejected(),
    ]);
    expect(appended(outputs)).toEqual([]);
  });

  test('when the refund is redelivered after the cancellation, then nothing more is appended', () => {
    const { state, outputs } = scenario([
      ev.created(),
      ev.debited(),
      ev.rejected(),
      ev.refundRequested('restaurant-rejected'),
      ev.refunded(),
      ev.cancelled('restaurant-rejected'),
      ev.refunded(),
    ]);
    expect(state).toMatchObject({
      status: 'Cancelled',
      reason: 'restaurant-rejected',
      refundRequested: true,
      refunded: true,
    });
    expect(appended(outputs)).toEqual([]);
  });
});

describe('saga workflow: timeouts', () => {
  test('when the payment times out before any payment outcome, then the saga cancels with reason payment-timeout', () => {
    const { outputs } = scenario(
      [ev.created()],
      { type: 'timeout', status: 'AwaitingPayment' },
      30_000,
    );
    expect(appended(outputs)).toEqual([ev.cancelled('payment-timeout')]);
  });

  test('when a payment tick comes after the debit, then it is stale: no cancellation, the restaurant wait is scheduled', () => {
    const { outputs } = scenario(
      [ev.created(), ev.debited()],
      { type: 'timeout', status: 'AwaitingPayment' },
      30_000,
    );
    expect(appended(outputs)).toEqual([]);
    expect(outputs).toEqual([
      { action: 'Schedule', timeout: 'restaurant', at: new Date(t0 + 61_000) },
    ]);
  });

  test('when a payment tick comes after the decline, then the saga cancels for the decline, not the timeout', () => {
    const { outputs } = scenario(
      [ev.created(), ev.declined()],
      { type: 'timeout', status: 'AwaitingPayment' },
      30_000,
    );
    expect(appended(outputs)).toEqual([ev.cancelled('payment-declined')]);
  });

  test('when the restaurant times out after the debit, then the saga requests a refund with reason restaurant-timeout', () => {
    const { outputs } = scenario(
      [ev.created(), ev.debited()],
      { type: 'timeout', status: 'AwaitingRestaurant' },
      61_000,
    );
    expect(appended(outputs)).toEqual([ev.refundRequested('restaurant-timeout')]);
  });

  test('when the timed-out payment is refunded, then the saga cancels with reason restaurant-timeout', () => {
    const { state, outputs } = scenario([
      ev.created(),
      ev.debited(),
      ev.refundRequested('restaurant-timeout'),
      ev.refunded(),
    ]);
    expect(state).toMatchObject({
      status: 'Compensating',
      reason: 'restaurant-timeout',
      refunded: true,
    });
    expect(appended(outputs)).toEqual([ev.cancelled('restaurant-timeout')]);
  });

  test('when a restaurant tick comes after the approval, then nothing is appended', () => {
    const { state, outputs } = scenario(
      [ev.created(), ev.debited(), ev.approved()],
      { type: 'timeout', status: 'AwaitingRestaurant' },
      61_000,
    );
    expect(state.status).toBe('Approved');
    expect(appended(outputs)).toEqual([]);
  });

  test('when a tick repeats after the timeout cancellation, then no second cancellation is appended', () => {
    const { outputs } = scenario(
      [ev.created(), ev.cancelled('payment-timeout')],
      { type: 'timeout', status: 'AwaitingPayment' },
      60_000,
    );
    expect(appended(outputs)).toEqual([]);
  });
});

describe('saga workflow: late answers', () => {
  test('when a debit arrives after a payment-timeout cancellation, then a refund is requested (late-debit) and no second cancellation', () => {
    const { state, outputs } = scenario([
      ev.created(),
      ev.cancelled('payment-timeout'),
      ev.debited(),
    ]);
    expect(state).toMatchObject({ status: 'Cancelled', reason: 'payment-timeout', debited: true });
    expect(appended(outputs)).toEqual([ev.refundRequested('late-debit')]);
  });

  test('when the late debit is redelivered after the refund request, then nothing more is appended', () => {
    const { outputs } = scenario([
      ev.created(),
      ev.cancelled('payment-timeout'),
      ev.debited(),
      ev.refundRequested('late-debit'),
      ev.debited(),
    ]);
    expect(appended(outputs)).toEqual([]);
  });

  test('when the late-debit refund is made, then the order stays Cancelled and nothing is appended', () => {
    const { state, outputs } = scenario([
      ev.created(),
      ev.cancelled('payment-timeout'),
      ev.debited(),
      ev.refundRequested('late-debit'),
      ev.refunded(),
    ]);
    expect(state).toMatchObject({ status: 'Cancelled', reason: 'payment-timeout', refunded: true });
    expect(appended(outputs)).toEqual([]);
  });

  test('when an approval arrives after the timeout refund request, then it never resurrects the order', () => {
    const { state, outputs } = scenario([
      ev.created(),
      ev.debited(),
      ev.refundRequested('restaurant-timeout'),
      ev.approved(),
    ]);
    expect(state).toMatchObject({ status: 'Compensating', reason: 'restaurant-timeout' });
    expect(appended(outputs)).toEqual([]);
    const after = scenario([
      ev.created(),
      ev.debited(),
      ev.refundRequested('restaurant-timeout'),
      ev.refunded(),
      ev.cancelled('restaurant-timeout'),
      ev.approved(),
    ]);
    expect(after.state.status).toBe('Cancelled');
    expect(appended(after.outputs)).toEqual([]);
  });
});

describe('saga workflow: duplicates and strays', () => {
  test('when order-created is delivered twice, then the second changes nothing and schedules the same deadline', () => {
    const once = scenario([ev.created()]);
    const twice = scenario([ev.created(), ev.created()]);
    expect(twice.state).toEqual(once.state);
    expect(twice.outputs).toEqual(once.outputs);
  });

  test('when a debit is redelivered while the restaurant decides, then the restaurant deadline does not move', () => {
    const { outputs } = scenario([ev.created(), ev.debited(), ev.debited()]);
    expect(outputs).toEqual([
      { action: 'Schedule', timeout: 'restaurant', at: new Date(t0 + 61_000) },
    ]);
  });

  test('when a stream holds no order-created, then the saga ignores it', () => {
    const { state, outputs } = scenario([ev.debited()]);
    expect(state.status).toBe('New');
    expect(outputs).toEqual([{ action: 'Ignore', reason: 'no order-created in the stream' }]);
  });

  test('when a cancellation was appended without a refund after a debit, then the saga requests the refund', () => {
    const { outputs } = scenario([ev.created(), ev.debited(), ev.cancelled('restaurant-timeout')]);
    expect(appended(outputs)).toEqual([ev.refundRequested('late-debit')]);
  });
});
