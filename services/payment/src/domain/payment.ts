import { deterministicEventId, type EventOf } from '@orderflow/events';

/**
 * The payment rules, pure: no I/O, no clock. The adapter loads the account (locked), any payment
 * or refund already recorded for the order, and applies what these functions decide.
 */

export interface Account {
  customerId: string;
  creditLimitCents: number;
  /** Credit limit minus the ledger sum (debits positive, credits negative). */
  balanceCents: number;
}

export interface OrderToPay {
  orderId: string;
  customerId: string;
  amount: number;
}

export type PaymentRecord =
  | { outcome: 'debited'; orderId: string; paymentId: string; customerId: string; amount: number }
  | {
      outcome: 'declined';
      orderId: string;
      paymentId: string;
      customerId: string;
      amount: number;
      reason: string;
    };

export interface RefundRecord {
  orderId: string;
  paymentId: string;
  customerId: string;
  amount: number;
}

export type PaymentDecision =
  /** The order was decided before (a redelivery, or a crash before the append): append the same outcome again. */
  | { kind: 'already-recorded'; payment: PaymentRecord }
  | { kind: 'debit'; payment: Extract<PaymentRecord, { outcome: 'debited' }> }
  | { kind: 'decline'; payment: Extract<PaymentRecord, { outcome: 'declined' }> };

export type RefundDecision =
  | { kind: 'already-refunded'; refund: RefundRecord }
  | { kind: 'refund'; refund: RefundRecord }
  /** Acked and ignored: nothing was debited for this order. */
  | { kind: 'ignore'; reason: string };

/** Deterministic ids (docs/flow.md): a redelivered message decides and appends the very same event. */
export const paymentEventId = (orderId: string): string => deterministicEventId('payment', orderId);
export const refundEventId = (orderId: string): string => deterministicEventId('refund', orderId);
export const paymentIdFor = (orderId: string): string =>
  deterministicEventId('payment-id', orderId);

/** One payment per order, ever: debit when the balance covers the amount, else decline. */
export function decidePayment(
  order: OrderToPay,
  account: Account,
  existing: PaymentRecord | undefined,
): PaymentDecision {
  if (existing) return { kind: 'already-recorded', payment: existing };
  const base = {
    orderId: order.orderId,
    paymentId: paymentIdFor(order.orderId),
    customerId: order.customerId,
    amount: order.amount,
  };
  if (order.amount <= account.balanceCents)
    return { kind: 'debit', payment: { outcome: 'debited', ...base } };
  return {
    kind: 'decline',
    payment: {
      outcome: 'declined',
      ...base,
      reason: `insufficient credit: balance ${account.balanceCents}, amount ${order.amount}`,
    },
  };
}

/** Refund exactly once, and only what was debited. */
export function decideRefund(
  orderId: string,
  payment: PaymentRecord | undefined,
  existing: RefundRecord | undefined,
): RefundDecision {
  if (existing) return { kind: 'already-refunded', refund: existing };
  if (!payment) return { kind: 'ignore', reason: 'no payment recorded for the order' };
  switch (payment.outcome) {
    case 'declined':
      return { kind: 'ignore', reason: 'the payment was declined; nothing to refund' };
    case 'debited':
      return {
        kind: 'refund',
        refund: {
          orderId,
          paymentId: payment.paymentId,
          customerId: payment.customerId,
          amount: payment.amount,
        },
      };
    default: {
      const never: never = payment;
      throw new Error(`unknown payment outcome ${JSON.stringify(never)}`);
    }
  }
}

/** The event that reports a payment outcome. */
export function paymentOutcomeEvent(
  p: PaymentRecord,
): EventOf<'order-payment-debited'> | EventOf<'order-payment-declined'> {
  switch (p.outcome) {
    case 'debited':
      return {
        type: 'order-payment-debited',
        data: {
          orderId: p.orderId,
          customerId: p.customerId,
          amount: p.amount,
          paymentId: p.paymentId,
        },
      };
    case 'declined':
      return {
        type: 'order-payment-declined',
        data: { orderId: p.orderId, customerId: p.customerId, amount: p.amount, reason: p.reason },
      };
    default: {
      const never: never = p;
      throw new Error(`unknown payment outcome ${JSON.stringify(never)}`);
    }
  }
}

export function refundEvent(r: RefundRecord): EventOf<'order-payment-refunded'> {
  return {
    type: 'order-payment-refunded',
    data: {
      orderId: r.orderId,
      customerId: r.customerId,
      amount: r.amount,
      paymentId: r.paymentId,
    },
  };
}
