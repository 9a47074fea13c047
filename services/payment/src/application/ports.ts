import type { Counter, EventSourcing, Logger } from '@orderflow/platform';
import type { OrderToPay, PaymentDecision, RefundDecision } from '../domain/payment';

/** The payment service's own tables (adapters/pg-payments.ts). */
export interface PaymentsPort {
  pay(order: OrderToPay, defaultCreditCents: number): Promise<PaymentDecision>;
  refund(orderId: string): Promise<RefundDecision>;
}

export interface PaymentMetrics {
  debitedCents: Pick<Counter, 'inc'>;
  refundedCents: Pick<Counter, 'inc'>;
  payments: Pick<Counter<'outcome'>, 'inc'>;
  refunds: Pick<Counter, 'inc'>;
}

/** Everything the payment use cases touch, handed in by app.ts. */
export interface PaymentPorts {
  payments: PaymentsPort;
  eventSourcing: EventSourcing;
  metrics: PaymentMetrics;
  logger: Logger;
  /** The credit of a new account now (environment, overridden by the runtime config). */
  defaultCreditCents: () => number;
}
