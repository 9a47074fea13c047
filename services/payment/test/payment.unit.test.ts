import {
  decidePayment,
  decideRefund,
  paymentEventId,
  paymentIdFor,
  paymentOutcomeEvent,
  refundEvent,
  type PaymentRecord,
} from '../src/domain/payment';

const orderId = '0b9a6a2e-5a43-4d0c-9a43-6f4f3f8f2a11';
const account = (balanceCents: number) => ({
  customerId: 'c1',
  creditLimitCents: 100_000,
  balanceCents,
});

describe('decidePayment', () => {
  test('when the balance covers the amount, then it debits with a payment id derived from the order', () => {
    const d = decidePayment({ orderId, customerId: 'c1', amount: 1900 }, account(1900), undefined);
    expect(d).toEqual({
      kind: 'debit',
      payment: {
        outcome: 'debited',
        orderId,
        paymentId: paymentIdFor(orderId),
        customerId: 'c1',
        amount: 1900,
      },
    });
  });

  test('when the balance is short by one cent, then it declines and the reason names balance and amount', () => {
    const d = decidePayment({ orderId, customerId: 'c1', amount: 1900 }, account(1899), undefined);
    expect(d.kind).toBe('decline');
    expect(d.payment).toMatchObject({
      outcome: 'declined',
      reason: 'insufficient credit: balance 1899, amount 1900',
    });
  });

  test('when the order was decided before, then the recorded outcome is returned whatever the balance now', () => {
    const recorded: PaymentRecord = {
      outcome: 'debited',
      orderId,
      paymentId: paymentIdFor(orderId),
      customerId: 'c1',
      amount: 500,
    };
    expect(decidePayment({ orderId, customerId: 'c1', amount: 500 }, account(0), recorded)).toEqual(
      {
        kind: 'already-recorded',
        payment: recorded,
      },
    );
  });
});

describe('decideRefund', () => {
  const debited: PaymentRecord = {
    outcome: 'debited',
    orderId,
    paymentId: paymentIdFor(orderId),
    customerId: 'c1',
    amount: 700,
  };

  test('when the order was debited and never refunded, then it refunds exactly the debited amount', () => {
    expect(decideRefund(orderId, debited, undefined)).toEqual({
      kind: 'refund',
      refund: { orderId, paymentId: debited.paymentId, customerId: 'c1', amount: 700 },
    });
  });

  test('when the order was refunded before, then it does not refund again', () => {
    const refund = { orderId, paymentId: debited.paymentId, customerId: 'c1', amount: 700 };
    expect(decideRefund(orderId, debited, refund)).toEqual({ kind: 'already-refunded', refund });
  });

  test('when the payment was declined or never recorded, then the request is ignored', () => {
    expect(
      decideRefund(orderId, { ...debited, outcome: 'declined', reason: 'x' }, undefined).kind,
    ).toBe('ignore');
    expect(decideRefund(orderId, undefined, undefined).kind).toBe('ignore');
  });
});

describe('events', () => {
  test('when a payment is reported, then the event carries the catalogue fields and a deterministic id', () => {
    const p: PaymentRecord = {
      outcome: 'declined',
      orderId,
      paymentId: paymentIdFor(orderId),
      customerId: 'c1',
      amount: 3,
      reason: 'r',
    };
    expect(paymentOutcomeEvent(p)).toEqual({
      type: 'order-payment-declined',
      data: { orderId, customerId: 'c1', amount: 3, reason: 'r' },
    });
    expect(paymentEventId(orderId)).toBe(paymentEventId(orderId));
    expect(refundEvent({ orderId, paymentId: p.paymentId, customerId: 'c1', amount: 3 }).type).toBe(
      'order-payment-refunded',
    );
  });
});
